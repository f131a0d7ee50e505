import { Type } from '@sinclair/typebox';

/** A point in time, sent as an ISO 8601 string; handlers may return a Date (the serializer formats it). */
export const Timestamp = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' });
