import { Type, type TSchema } from '@sinclair/typebox';

/**
 * Schemas shared by the management routes of the standalone platform (questionnaires, policies,
 * vendors, dispatches, unsubscribes).
 */

/**
 * A string that must be one of `values`. Declared as a JSON Schema `enum` (not TypeBox's union of
 * literals) so a wrong value gets "must be equal to one of the allowed values" rather than
 * "must be equal to constant", and the OpenAPI document lists the values.
 */
export const StringEnum = <const T extends readonly string[]>(values: T, options: { description?: string } = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** A uuid written the way PostgreSQL reads it (ajv's `uuid` format also accepts a `urn:uuid:` prefix). */
export const Uuid = (options: { description?: string } = {}) =>
  Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', ...options });

/**
 * Path ids are any short string on purpose: an id that is not a uuid names no row, which is a 404
 * (from the domain code), not a validation error.
 */
export const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) });

export const Name = Type.String({ minLength: 1, maxLength: 200 });

/** The response of a DELETE route, so the OpenAPI document shows 204 rather than a default 200. */
export const Deleted = { 204: Type.Null({ description: 'Deleted' }) };
