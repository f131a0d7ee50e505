import { and, desc, eq, gt, asc } from 'drizzle-orm';
import type { Db, SqlExecutor } from '../storage/database.js';
import { uploadRejections, uploads } from '../storage/schema.js';

export type UploadRecord = typeof uploads.$inferSelect;
export type NewUpload = typeof uploads.$inferInsert;

/** False when an upload with this id already exists. */
export async function insertUpload(db: Db, upload: NewUpload): Promise<boolean> {
  const rows = await db.insert(uploads).values(upload).onConflictDoNothing().returning({ id: uploads.id });
  return rows.length === 1;
}

export async function findUpload(db: Db, accountId: string, id: string): Promise<UploadRecord | null> {
  const [row] = await db
    .select()
    .from(uploads)
    .where(and(eq(uploads.accountId, accountId), eq(uploads.id, id)));
  return row ?? null;
}

/** An account's uploads, newest first. */
export function listUploads(db: Db, accountId: string, limit: number): Promise<UploadRecord[]> {
  return db
    .select()
    .from(uploads)
    .where(eq(uploads.accountId, accountId))
    .orderBy(desc(uploads.createdAt), desc(uploads.id))
    .limit(limit);
}

/** Uploads still being processed (to resume after a restart), and folder uploads whose file is not archived yet. */
export function unfinishedUploads(sql: SqlExecutor): Promise<{ id: string; account_id: string }[]> {
  return sql.query(
    `SELECT id, account_id FROM uploads
     WHERE status = 'processing' OR (source = 'folder' AND archived_at IS NULL)`,
  );
}

/** What one committed chunk adds to its upload. */
export interface ChunkProgress {
  rowsRead: number;
  accepted: number;
  rejected: number;
  throttled: number;
  suppressed: number;
  /** The file row of the chunk's last row, and where reading resumes after it. */
  lastRow: number;
  resumeOffset: number;
  batchId: string | null;
  /** Set once, with the first chunk. */
  columns: string[] | null;
  warnings: string[];
  /** Ends the upload: `done`, or `failed` with `error`. */
  finish: { status: 'done' } | { status: 'failed'; error: string } | null;
}

/**
 * Adds a chunk's counts and position to its upload, only if the upload is still where this run
 * found it (`expectedRow`): false means another run has moved it on (or ended it), and the caller
 * must roll back, so no chunk is ever counted, or accepted, twice.
 */
export async function recordChunk(
  sql: SqlExecutor,
  uploadId: string,
  expectedRow: number,
  p: ChunkProgress,
): Promise<boolean> {
  const rows = await sql.query(
    `UPDATE uploads SET
       rows_read = rows_read + $3, accepted = accepted + $4, rejected = rejected + $5,
       throttled = throttled + $6, suppressed = suppressed + $7,
       committed_row = $8, committed_offset = $9,
       batch_ids = CASE WHEN $10::text IS NULL THEN batch_ids ELSE batch_ids || jsonb_build_array($10::text) END,
       columns = COALESCE(columns, $11::jsonb),
       warnings = warnings || $12::jsonb,
       status = COALESCE($13, status),
       errors = CASE WHEN $14::text IS NULL THEN errors ELSE errors || jsonb_build_array($14::text) END,
       finished_at = CASE WHEN $13::text IS NULL THEN NULL ELSE now() END,
       updated_at = now()
     WHERE id = $1 AND committed_row = $2 AND status = 'processing'
     RETURNING id`,
    [
      uploadId,
      expectedRow,
      p.rowsRead,
      p.accepted,
      p.rejected,
      p.throttled,
      p.suppressed,
      p.lastRow,
      p.resumeOffset,
      p.batchId,
      p.columns === null ? null : JSON.stringify(p.columns),
      JSON.stringify(p.warnings),
      p.finish?.status ?? null,
      p.finish?.status === 'failed' ? p.finish.error : null,
    ],
  );
  return rows.length === 1;
}

/** Ends an upload that cannot go on; false if it had already ended. */
export async function failUpload(sql: SqlExecutor, uploadId: string, error: string): Promise<boolean> {
  const rows = await sql.query(
    `UPDATE uploads SET status = 'failed', errors = errors || jsonb_build_array($2::text),
       finished_at = now(), updated_at = now()
     WHERE id = $1 AND status = 'processing' RETURNING id`,
    [uploadId, error],
  );
  return rows.length === 1;
}

export async function markArchived(db: Db, uploadId: string): Promise<void> {
  await db.update(uploads).set({ archivedAt: new Date() }).where(eq(uploads.id, uploadId));
}

/** A refused row, its cells sealed (see uploadRejections). */
export interface RejectionRow {
  rowNumber: number;
  reason: string;
  sealedCells: string;
  sealedKeyId: string;
}

export async function insertRejections(
  sql: SqlExecutor,
  uploadId: string,
  rows: readonly RejectionRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await sql.query(
    `INSERT INTO upload_rejections (upload_id, row_number, reason, sealed_cells, sealed_key_id)
     SELECT $1, row_number, reason, sealed_cells, sealed_key_id
     FROM unnest($2::int[], $3::text[], $4::text[], $5::text[]) AS x(row_number, reason, sealed_cells, sealed_key_id)`,
    [
      uploadId,
      rows.map((r) => r.rowNumber),
      rows.map((r) => r.reason),
      rows.map((r) => r.sealedCells),
      rows.map((r) => r.sealedKeyId),
    ],
  );
}

/** One page of an upload's refused rows, in row order, after `afterRow`. */
export function rejectionsPage(db: Db, uploadId: string, afterRow: number, limit: number): Promise<RejectionRow[]> {
  return db
    .select({
      rowNumber: uploadRejections.rowNumber,
      reason: uploadRejections.reason,
      sealedCells: uploadRejections.sealedCells,
      sealedKeyId: uploadRejections.sealedKeyId,
    })
    .from(uploadRejections)
    .where(and(eq(uploadRejections.uploadId, uploadId), gt(uploadRejections.rowNumber, afterRow)))
    .orderBy(asc(uploadRejections.rowNumber))
    .limit(limit);
}
