import { AppError } from '../../errors.js';

/** One prefill of one record, as sent. */
export interface RawPrefill {
  readonly questionId: string;
  readonly input: string;
}

/** The records sent for one dispatch; the same dispatch sent twice in a payload is merged. */
export interface DispatchRecords {
  readonly dispatchId: string;
  readonly records: RawPrefill[][];
}

const MAX_ID_LENGTH = 100;
/** Longest prefill value, in characters. */
export const MAX_INPUT_LENGTH = 4000;
const MAX_PREFILLS_PER_RECORD = 500;

/** Clients of the original module send `dispatchID`, `DispatchId`, `PreFill`, `QuestionId`, …: match keys case-insensitively. */
function field(object: Record<string, unknown>, lowerName: string): unknown {
  for (const key of Object.keys(object)) if (key.toLowerCase() === lowerName) return object[key];
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// PostgreSQL cannot store U+0000, and jsonb refuses unpaired UTF-16 surrogates.
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const isUnstorable = (value: string) => value.includes('\u0000') || UNPAIRED_SURROGATE.test(value);

function storable(value: string, path: string): string {
  if (isUnstorable(value)) throw invalid(path, 'contains a NUL character or an unpaired surrogate');
  return value;
}

function invalid(path: string, problem: string): AppError {
  return new AppError('VALIDATION_FAILED', `The request is invalid: ${path} ${problem}.`, [{ field: path, problem }]);
}

/**
 * The body-size cap of a dispatch request: a safety net, not the contract. Records and dispatches
 * decide 413; this cap only has to let the largest legal request through, so it is sized for
 * `maxRecords` records of 10 prefills, each a value of up to 100 characters (at most 3 UTF-8 bytes
 * a UTF-16 unit), a question id of up to 100 characters, and the JSON punctuation and indentation
 * around them. With 18,000 records that is about 76 MiB.
 */
export function dispatchRequestBodyLimit(maxRecords: number, maxDispatches: number): number {
  const prefillBytes = 100 * 3 + MAX_ID_LENGTH + 48;
  const recordBytes = 10 * prefillBytes + 16;
  const dispatchBytes = 64 + MAX_ID_LENGTH * 6;
  return maxRecords * recordBytes + maxDispatches * dispatchBytes + 64 * 1024;
}

/**
 * Counts records and distinct dispatches without validating anything else, so the size limits
 * are decided before any other work. Null when the body is not a list.
 */
export function measure(body: unknown): { records: number; dispatches: number } | null {
  if (!Array.isArray(body)) return null;
  const ids = new Set<unknown>();
  let records = 0;
  for (const item of body) {
    if (!isObject(item)) continue;
    ids.add(field(item, 'dispatchid'));
    const prefill = field(item, 'prefill');
    if (Array.isArray(prefill)) records += prefill.length;
  }
  return { records, dispatches: ids.size };
}

function readInput(value: unknown, path: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') {
    if (value.length > MAX_INPUT_LENGTH) throw invalid(path, `is longer than ${MAX_INPUT_LENGTH} characters`);
    return storable(value, path);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw invalid(path, 'must be a string, a number, a boolean or null');
}

function readRecord(value: unknown, path: string): RawPrefill[] {
  if (!Array.isArray(value)) throw invalid(path, 'must be a list of {"questionId", "input"} objects');
  if (value.length > MAX_PREFILLS_PER_RECORD) throw invalid(path, `has more than ${MAX_PREFILLS_PER_RECORD} prefills`);
  return value.map((prefill: unknown, index) => {
    const at = `${path}[${index}]`;
    if (!isObject(prefill)) throw invalid(at, 'must be an object {"questionId", "input"}');
    const questionId = field(prefill, 'questionid');
    if (typeof questionId !== 'string' || questionId.length === 0 || questionId.length > MAX_ID_LENGTH) {
      throw invalid(`${at}.questionId`, `must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    }
    return {
      questionId: storable(questionId, `${at}.questionId`),
      input: readInput(field(prefill, 'input'), `${at}.input`),
    };
  });
}

/**
 * Reads `[{"dispatchID", "preFill": [[{"questionId", "input"}, …], …]}, …]`, naming the first
 * problem by its path. Dispatches keep the order they first appear in.
 */
export function readDispatchRequest(body: unknown): DispatchRecords[] {
  if (!Array.isArray(body)) {
    throw invalid('body', 'must be a list of {"dispatchID", "preFill"} objects');
  }
  if (body.length === 0) throw invalid('body', 'must hold at least one dispatch');
  const byDispatch = new Map<string, DispatchRecords>();
  body.forEach((item: unknown, index) => {
    const path = `[${index}]`;
    if (!isObject(item)) throw invalid(path, 'must be an object {"dispatchID", "preFill"}');
    const dispatchId = field(item, 'dispatchid');
    if (typeof dispatchId !== 'string' || dispatchId.trim() === '' || dispatchId.length > MAX_ID_LENGTH) {
      throw invalid(`${path}.dispatchID`, `must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    }
    storable(dispatchId, `${path}.dispatchID`);
    const prefill = field(item, 'prefill');
    if (!Array.isArray(prefill)) throw invalid(`${path}.preFill`, 'must be a list of records');
    const records = prefill.map((record: unknown, r) => readRecord(record, `${path}.preFill[${r}]`));
    // Dispatch ids are matched case-insensitively, so they are merged the same way.
    const key = dispatchId.toLowerCase();
    const merged = byDispatch.get(key);
    if (merged) merged.records.push(...records);
    else byDispatch.set(key, { dispatchId, records });
  });
  return [...byDispatch.values()];
}
