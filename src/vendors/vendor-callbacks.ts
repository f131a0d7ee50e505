import type { CallbackHandler } from './vendor.js';

/** Each vendor kind's callback reader, by kind (SMTP has none: its bounces arrive as mail). */
export const vendorCallbackHandlers: ReadonlyMap<string, CallbackHandler> = new Map<string, CallbackHandler>([]);
