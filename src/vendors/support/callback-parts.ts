import { timingSafeEqual } from 'node:crypto';
import type { CallbackRequest } from '../vendor.js';

/** A request header by name, whatever case the server stored it in. */
export function headerOf(request: CallbackRequest, name: string): string | undefined {
  const lower = name.toLowerCase();
  const exact = request.headers[lower] ?? request.headers[name];
  if (exact !== undefined) return exact;
  for (const [key, value] of Object.entries(request.headers)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** Compares two secrets-derived strings in constant time (for equal lengths). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A string secret or setting, or undefined when it is missing or not a non-empty string. */
export function stringField(record: Record<string, unknown>, name: string): string | undefined {
  const value = record[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** A JSON body, or an Error that says what is wrong with it (→ 400). */
export function parseJsonBody(request: CallbackRequest, vendor: string): unknown {
  try {
    return JSON.parse(request.rawBody);
  } catch (error) {
    throw new Error(`The ${vendor} callback body is not JSON: ${(error as Error).message}`);
  }
}

/** A timestamp in seconds since the epoch (a number or a numeric string), or an Error naming `field`. */
export function epochSeconds(value: unknown, field: string): Date {
  const seconds = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) throw new Error(`${field} is not a Unix timestamp`);
  return new Date(seconds * 1000);
}

/** A plain object, or an Error naming `field`. */
export function objectAt(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${field} is not an object`);
  return value as Record<string, unknown>;
}

/** An array (absent is empty), or an Error naming `field`. */
export function arrayAt(value: unknown, field: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${field} is not an array`);
  return value;
}

/** A non-empty string, or an Error naming `field`. */
export function textAt(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new Error(`${field} is missing`);
  return value;
}
