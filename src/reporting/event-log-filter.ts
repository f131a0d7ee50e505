import { AppError } from '../errors.js';
import { normalizeEmail, normalizeMobile } from '../contacts/contact-values.js';
import type { PlatformSettings } from '../platforms/experience-platform.js';
import { hashPii } from '../privacy/pii-hash.js';

/** What POST /api/EventLog may filter by; keys are read case-insensitively, as the original module's clients vary. */
export interface EventLogFilter {
  batchId?: string;
  dispatchId?: string;
  token?: string;
  /** Every stored form the given address may have: as sent, normalised, hashed. */
  targets?: string[];
  uuids?: string[];
  from?: Date;
  to?: Date;
  page: number;
  pageSize: number;
  includePii: boolean;
}

const MAX_PAGE_SIZE = 1000;

function invalid(field: string, problem: string): AppError {
  return new AppError('VALIDATION_FAILED', `${field} ${problem}.`, [{ field, problem }]);
}

function text(body: Record<string, unknown>, name: string): string | undefined {
  const key = Object.keys(body).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : body[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw invalid(name, 'must be a string');
  }
  return String(value).trim() || undefined;
}

function date(value: string, field: string): Date {
  // The original module's clients send "22-04-2020" (day-month-year) as well as ISO 8601.
  const dmy = /^(\d{2})-(\d{2})-(\d{4})$/.exec(value);
  const parsed = new Date(dmy ? `${dmy[3]}-${dmy[2]}-${dmy[1]}T00:00:00Z` : value);
  if (Number.isNaN(parsed.getTime())) throw invalid(field, 'must be a date (ISO 8601, or DD-MM-YYYY)');
  return parsed;
}

function forms(value: string, settings: PlatformSettings): string[] {
  const all = new Set([value, hashPii(value, settings.hashAlgorithm)]);
  for (const normalized of [normalizeEmail(value), normalizeMobile(value, settings.defaultPhoneRegion)]) {
    if (normalized.ok) all.add(normalized.value).add(hashPii(normalized.value, settings.hashAlgorithm));
  }
  return [...all];
}

function positive(value: string | undefined, field: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw invalid(field, `must be a whole number from 1 to ${max}`);
  return n;
}

/**
 * The filter of a POST /api/EventLog body; null when it has no usable filter (not an object, every
 * filter empty, only unknown keys): the original module answers those with an empty list.
 */
export function readEventLogFilter(body: unknown, settings: PlatformSettings): EventLogFilter | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  const target = text(b, 'Target');
  const uuid = text(b, 'UUID');
  const created = text(b, 'Created');
  const from = text(b, 'FromDate');
  const to = text(b, 'ToDate');
  const filter: EventLogFilter = {
    batchId: text(b, 'BatchId'),
    dispatchId: text(b, 'DispatchId'),
    token: text(b, 'Token'),
    targets: target ? forms(target, settings) : undefined,
    uuids: uuid ? forms(uuid, settings) : undefined,
    from: from ? date(from, 'FromDate') : created ? date(created, 'Created') : undefined,
    to: to ? date(to, 'ToDate') : created ? new Date(date(created, 'Created').getTime() + 86_400_000) : undefined,
    page: positive(text(b, 'Page'), 'Page', 1, 1_000_000),
    pageSize: positive(text(b, 'PageSize'), 'PageSize', 100, MAX_PAGE_SIZE),
    includePii: text(b, 'IncludePii') === 'true',
  };
  const { batchId, dispatchId, token, targets, uuids } = filter;
  if (!batchId && !dispatchId && !token && !targets && !uuids && !filter.from && !filter.to) return null;
  return filter;
}
