import fs from 'node:fs';
import type { Database } from '../../src/storage/database.js';
import { apiRequest, type Answer } from './api-client.js';
import { waitFor } from './wait.js';

/** GET /api/uploads/{id}, as the API shows an upload. */
export interface UploadView {
  id: string;
  status: 'processing' | 'done' | 'failed';
  fileName: string;
  dispatchId: string;
  format: 'csv' | 'xlsx' | null;
  source: string;
  feed: string | null;
  sizeBytes: number;
  rows: { read: number; accepted: number; rejected: number; throttled: number; suppressed: number };
  progress: number;
  batchIds: string[];
  columns: string[] | null;
  warnings: string[];
  errors: string[];
}

export interface UploadForm {
  dispatchId?: string;
  /** The file's bytes, or the path of a file to stream. */
  file?: Buffer | string;
  fileName?: string;
  mapping?: string;
  sheet?: string;
}

/** POST /api/uploads as multipart/form-data. */
export async function postUpload<T = UploadView>(
  baseUrl: string,
  token: string | undefined,
  form: UploadForm,
): Promise<Answer<T>> {
  const body = new FormData();
  if (form.dispatchId !== undefined) body.append('dispatchId', form.dispatchId);
  if (form.mapping !== undefined) body.append('mapping', form.mapping);
  if (form.sheet !== undefined) body.append('sheet', form.sheet);
  if (form.file !== undefined) {
    const blob = typeof form.file === 'string' ? await fs.openAsBlob(form.file) : new Blob([form.file]);
    body.append('file', blob, form.fileName ?? 'customers.csv');
  }
  return apiRequest<T>(baseUrl, '/api/uploads', { method: 'POST', token, body });
}

/** Polls GET /api/uploads/{id} until the upload has ended (done or failed). */
export async function waitForUpload(
  baseUrl: string,
  token: string,
  id: string,
  timeoutMs = 60_000,
): Promise<UploadView> {
  return waitFor(
    async () => {
      const answer = await apiRequest<UploadView>(baseUrl, `/api/uploads/${id}`, { token });
      if (answer.status !== 200) throw new Error(`GET /api/uploads/${id} answered ${answer.status}`);
      return answer.body.status === 'processing' ? undefined : answer.body;
    },
    timeoutMs,
    { description: `upload ${id} to end`, intervalMs: 100 },
  );
}

/** GET /api/uploads/{id}/rejected.csv as text. */
export async function rejectedCsv(baseUrl: string, token: string, id: string): Promise<string> {
  const answer = await apiRequest<string>(baseUrl, `/api/uploads/${id}/rejected.csv`, { token });
  if (answer.status !== 200) throw new Error(`rejected.csv answered ${answer.status}: ${answer.text}`);
  return answer.text;
}

export interface UploadLogRow {
  level: string;
  message: string;
  batch_id: string | null;
}

/** The initiator's log entries of one upload, oldest first. */
export function uploadLog(database: Database, uploadId: string): Promise<UploadLogRow[]> {
  return database.sql.query<UploadLogRow>(
    'SELECT level, message, batch_id FROM log_entries WHERE upload_id = $1 ORDER BY id',
    [uploadId],
  );
}

/** How many invitations (pending their tokens or not) an account has, by state. */
export async function invitationStates(database: Database, accountId: string): Promise<Record<string, number>> {
  const rows = await database.sql.query<{ state: string; n: string }>(
    'SELECT state, count(*) AS n FROM invitation_records WHERE account_id = $1 GROUP BY state',
    [accountId],
  );
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}
