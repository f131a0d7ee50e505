import fs from 'node:fs/promises';
import { AppError } from '../errors.js';
import type { JobContext } from '../jobs/catalogue.js';
import type { Logger } from '../observability/logger.js';
import type { DispatchDefinition } from '../platforms/experience-platform.js';
import {
  acceptDispatchRequest,
  type IngestOutcome,
  type IngestServices,
} from '../pipeline/ingest/accept-dispatch-request.js';
import { checkDispatch } from '../pipeline/ingest/dispatch-rules.js';
import type { Session } from '../storage/database.js';
import { readCsvRows } from './csv-rows.js';
import { sniffFile } from './file-kind.js';
import type { FileRow, ResumePoint } from './file-rows.js';
import { mapHeader } from './header-mapping.js';
import { initiatorLog, writeInitiatorEntries, type InitiatorEntry, type Origin } from './initiator-log.js';
import { sealRejection } from './rejected-rows.js';
import { UploadChunk } from './upload-chunk.js';
import {
  failUpload,
  findUpload,
  insertRejections,
  recordChunk,
  type ChunkProgress,
  type RejectionRow,
  type UploadRecord,
} from './uploads.js';
import { checkWorkbookArchive } from './workbook-archive.js';
import { readXlsxRows } from './xlsx-rows.js';

export interface UploadServices extends IngestServices {
  readonly logger: Logger;
}

/** How long one uploads.process job works before handing the rest of its file to a new job. */
const JOB_TIME_BUDGET_MS = 60_000;

/** The file or its dispatch is refused: the upload fails with `reason`, and `entries` are logged. */
class Refused extends Error {
  constructor(
    readonly entries: InitiatorEntry[],
    reason: string,
  ) {
    super(reason);
  }
}

/** Another run has moved the upload on (or ended it): this run's chunk rolls back and the run stops. */
class MovedOn extends Error {}

export const originOf = (upload: UploadRecord): Origin =>
  upload.source === 'folder' ? { source: 'folder', feed: upload.feed ?? '' } : { source: 'api' };

/** What a person can map columns to: the dispatch's questions open to prefill. */
const availableHeaders = (dispatch: DispatchDefinition) =>
  dispatch.questions
    .filter((q) => q.apiPrefill)
    .map((q) => `"${q.text}" (${[q.id, ...q.tags].join(', ')})`)
    .join('; ');

/**
 * Handles `uploads.process`: reads the upload's file from where the last committed chunk ended and
 * hands it to ingest a chunk of at most HERALD_MAX_RECORDS rows at a time, each chunk with its
 * rejected rows, log entries and the upload's new counts and position in one transaction. A file
 * or dispatch that cannot be taken fails the upload with the reason. After a minute the job queues
 * its successor in the same transaction as a chunk and ends, so no job runs for long.
 * Returns the upload as it then stands (null if it no longer exists).
 */
export async function processUpload(
  services: UploadServices,
  payload: { accountId: string; uploadId: string },
  context: JobContext,
): Promise<UploadRecord | null> {
  const { db } = services.database;
  const upload = await findUpload(db, payload.accountId, payload.uploadId);
  if (!upload || upload.status !== 'processing') return upload;
  try {
    await readAndIngest(services, upload);
  } catch (error) {
    if (error instanceof MovedOn) return findUpload(db, payload.accountId, payload.uploadId);
    if (error instanceof Refused) {
      await fail(services, upload, error.message, error.entries);
    } else if (error instanceof AppError) {
      await fail(services, upload, error.message, [initiatorLog.failed(error.message)]);
    } else {
      const message = error instanceof Error ? error.message : String(error);
      services.logger.warn({ uploadId: upload.id, error: message }, 'processing an upload failed; it is retried');
      if (context.isFinalAttempt) {
        const reason = `Processing stopped after repeated failures (${message}). Upload the rows after row ${upload.committedRow} again.`;
        await fail(services, upload, reason, [initiatorLog.failed(reason)]);
      }
      throw error;
    }
  }
  return findUpload(db, payload.accountId, payload.uploadId);
}

async function fail(
  services: UploadServices,
  upload: UploadRecord,
  reason: string,
  entries: InitiatorEntry[],
): Promise<void> {
  await services.database.transaction(async (tx) => {
    if (!(await failUpload(tx.sql, upload.id, reason))) return;
    await writeInitiatorEntries(tx.sql, upload, entries);
  });
}

/** A refusal, logged after the entries noted so far. */
const refuse = (logged: InitiatorEntry[], entry: InitiatorEntry, reason: string) =>
  new Refused([...logged, entry], reason);

async function readAndIngest(services: UploadServices, upload: UploadRecord): Promise<void> {
  const started = Date.now();
  const origin = originOf(upload);
  const fresh = upload.committedRow === 0;
  // The Debug and Information entries of the checks are written with the first chunk (or with the
  // refusal); a resumed run does not repeat them.
  const logged: InitiatorEntry[] = [];
  const note = (entry: InitiatorEntry) => {
    if (fresh) logged.push(entry);
  };

  const size = await fs.stat(upload.storedPath).then(
    (s) => s.size,
    (error: NodeJS.ErrnoException) => {
      throw refuse(
        logged,
        initiatorLog.fileNotRetrieved(error.code ?? error.message),
        `The uploaded file is no longer where Herald kept it (${error.code ?? error.message}): upload it again.`,
      );
    },
  );
  if (size === 0) throw refuse(logged, initiatorLog.fileEmpty(), 'The file is empty.');
  const kind = await sniffFile(upload.storedPath);
  note(initiatorLog.fileRetrieved());

  const dispatch = await services.platform.dispatch(upload.accountId, upload.dispatchId);
  if (!dispatch) {
    throw refuse(
      logged,
      initiatorLog.unknownDispatch(origin),
      `Dispatch ${upload.dispatchId} was not found in this account.`,
    );
  }
  const check = checkDispatch(dispatch.id, dispatch, await services.platform.settings(upload.accountId));
  if (!check.ok) {
    const notLive = dispatch.paused || dispatch.policy?.paused === true;
    const entry = notLive
      ? initiatorLog.notLiveDispatch(origin, check.message)
      : initiatorLog.unusableDispatch(origin, check.message);
    throw refuse(logged, entry, check.message);
  }
  if (!dispatch.questions.some((q) => q.apiPrefill)) {
    throw refuse(
      logged,
      initiatorLog.noQuestions(origin),
      "The dispatch's questionnaire has no question open to prefill: open some to API prefill.",
    );
  }
  note(initiatorLog.dispatchFetched());

  if (kind.format === 'xlsx' && fresh) {
    await checkWorkbookArchive(upload.storedPath, services.config.uploadMaxUnzippedBytes);
  }
  const resume: ResumePoint = { row: upload.committedRow, offset: upload.committedOffset };
  const rows =
    kind.format === 'csv'
      ? readCsvRows(upload.storedPath, kind.encoding, resume)
      : readXlsxRows(upload.storedPath, upload.sheet, resume);

  const first = await rows.next();
  if (first.done) throw refuse(logged, initiatorLog.fileEmpty(), 'The file has no rows: not even a header.');
  const header: FileRow = first.value;
  if (header.problem) {
    throw refuse(
      logged,
      initiatorLog.failed(`the header row's ${header.problem}`),
      `The header row's ${header.problem}.`,
    );
  }
  const available = availableHeaders(dispatch);
  const mapping = mapHeader(header.cells, dispatch.questions, upload.mapping);
  if (!mapping.ok) {
    await rows.return(undefined);
    if (mapping.problem === 'duplicates') {
      throw refuse(
        logged,
        initiatorLog.duplicateHeaders(mapping.duplicates),
        `The file has duplicate headers: ${mapping.duplicates.join(', ')}. Rename or remove them and upload it again.`,
      );
    }
    if (mapping.problem === 'conflict') {
      throw refuse(
        logged,
        initiatorLog.conflictingHeaders(mapping.message),
        `The file cannot be read: ${mapping.message}.`,
      );
    }
    throw refuse(
      logged,
      initiatorLog.noHeaderMapped(available),
      `None of the file's headers matches a question of the dispatch. Name the columns after a question's id, text or tag, or give a mapping. The questions: ${available}`,
    );
  }
  note(initiatorLog.headersReady(mapping.mapped.map((m) => `"${m.header}" → ${m.questionId}`).join(', '), available));
  const warnings: string[] = [];
  if (mapping.unmapped.length > 0) {
    const entry = initiatorLog.unmappedHeaders(mapping.unmapped);
    note(entry);
    if (fresh) warnings.push(entry.message);
  }

  const run = new ChunkRun(services, upload, header.cells, logged, warnings);
  const newChunk = () => new UploadChunk(header.cells, mapping.questionIds, kind.format === 'csv');
  let chunk = newChunk();
  for await (const row of rows) {
    chunk.add(row);
    if (chunk.rowsRead < services.config.maxRecords) continue;
    const handOver = Date.now() - started > JOB_TIME_BUDGET_MS;
    if (!(await run.commit(chunk, { final: false, handOver }))) return;
    if (handOver) {
      await rows.return(undefined);
      services.queue.wake('uploads.process');
      return;
    }
    chunk = newChunk();
  }
  await run.commit(chunk, { final: true, handOver: false });
}

/** Commits the chunks of one run, each where the previous one left the upload. */
class ChunkRun {
  #row: number;
  #offset: number;
  #batches: number;
  #columns: string[] | null;

  constructor(
    private readonly services: UploadServices,
    private readonly upload: UploadRecord,
    columns: string[],
    /** Entries not yet written: they go with the next commit. */
    private logged: InitiatorEntry[],
    private warnings: string[],
  ) {
    this.#row = upload.committedRow;
    this.#offset = upload.committedOffset;
    this.#batches = upload.batchIds.length;
    this.#columns = upload.columns ? null : columns;
  }

  /** Commits a chunk; false when the dispatch refused it and the upload has failed. */
  async commit(chunk: UploadChunk, options: { final: boolean; handOver: boolean }): Promise<boolean> {
    const { services, upload } = this;
    let stopped = false;
    const write = async (tx: Session, outcome: IngestOutcome | null, batchId: string | null) => {
      stopped = await this.#write(tx, chunk, outcome, batchId, options);
    };
    if (chunk.records.length > 0) {
      const batchId = `${upload.id}.${this.#batches + 1}`;
      await acceptDispatchRequest(
        services,
        upload.accountId,
        batchId,
        [{ dispatchId: upload.dispatchId, records: chunk.records }],
        { withinTransaction: (tx, outcome) => write(tx, outcome, batchId) },
      );
      this.#batches += 1;
    } else {
      await services.database.transaction((tx) => write(tx, null, null));
    }
    if (chunk.lastRow > 0) {
      this.#row = chunk.lastRow;
      this.#offset = chunk.endOffset;
    }
    services.logger.debug({ uploadId: upload.id, committedRow: this.#row }, 'committed a chunk of an upload');
    this.logged = [];
    this.warnings = [];
    this.#columns = null;
    return !stopped;
  }

  /** Writes a chunk's progress, refused rows and log entries in ingest's transaction; true if the upload failed. */
  async #write(
    tx: Session,
    chunk: UploadChunk,
    outcome: IngestOutcome | null,
    batchId: string | null,
    options: { final: boolean; handOver: boolean },
  ): Promise<boolean> {
    const { services, upload } = this;
    const entries = [...this.logged];
    const dispatchOutcome = outcome?.dispatches[0];
    const answer = outcome?.statusByDispatch[0];
    const rows = chunk.rowsRead === 0 ? 'no rows' : `rows ${chunk.firstRow}–${chunk.lastRow}`;
    if (chunk.rowsRead > 0) {
      entries.push(
        initiatorLog.rowsReady(
          `${rows}: ${chunk.records.length} records, ${chunk.refused.length} rows refused as read`,
        ),
      );
    }
    if (answer) {
      entries.push(
        initiatorLog.responseReceived(answer.dispatchStatus !== 400, `${answer.dispatchStatus} ${answer.message}`),
      );
    }

    let progress: ChunkProgress;
    let failed = false;
    if (dispatchOutcome?.refused) {
      // The dispatch was paused (or changed) while the file was read: nothing of this chunk went in.
      const reason = `${answer?.message ?? 'The dispatch refused the rows.'} Rows up to ${this.#row} were processed; upload the rest again once the dispatch takes invitations.`;
      entries.push(initiatorLog.failed(reason));
      progress = { ...emptyProgress(this.#row, this.#offset), finish: { status: 'failed', error: reason } };
      failed = true;
    } else {
      const counts = dispatchOutcome?.counts;
      const noRecordEver = options.final && this.#batches === 0 && batchId === null;
      if (noRecordEver) entries.push(initiatorLog.noValidRows());
      progress = {
        rowsRead: chunk.rowsRead,
        accepted: counts?.requested ?? 0,
        rejected: chunk.refused.length + (counts?.rejected ?? 0),
        throttled: counts?.throttled ?? 0,
        suppressed: counts?.suppressed ?? 0,
        lastRow: chunk.lastRow || this.#row,
        resumeOffset: chunk.lastRow ? chunk.endOffset : this.#offset,
        batchId,
        columns: this.#columns,
        warnings: this.warnings,
        finish: !options.final
          ? null
          : noRecordEver
            ? {
                status: 'failed',
                error:
                  chunk.rowsRead === 0
                    ? 'The file has a header but no rows.'
                    : 'None of the rows could be read: see the rejected rows for each reason (is the file cut or saved in another layout?).',
              }
            : { status: 'done' },
      };
    }
    if (!(await recordChunk(tx.sql, upload.id, this.#row, progress))) throw new MovedOn();
    if (!failed) await insertRejections(tx.sql, upload.id, this.#rejections(chunk, outcome));
    await writeInitiatorEntries(tx.sql, upload, entries, batchId);
    if (options.handOver && !failed) {
      await services.queue.enqueue(tx, 'uploads.process', { accountId: upload.accountId, uploadId: upload.id });
    }
    return failed;
  }

  #rejections(chunk: UploadChunk, outcome: IngestOutcome | null): RejectionRow[] {
    const { services, upload } = this;
    const seal = (number: number, reason: string, cells: string[]) =>
      sealRejection(services.vault, upload.accountId, upload.id, number, reason, cells);
    const rows = chunk.refused.map((r) => seal(r.number, r.reason, r.cells));
    for (const refusal of outcome?.dispatches[0]?.refusals ?? []) {
      const row = chunk.recordRows[refusal.recordIndex]!;
      rows.push(seal(row.number, refusal.reason, row.cells));
    }
    return rows.sort((a, b) => a.rowNumber - b.rowNumber);
  }
}

const emptyProgress = (row: number, offset: number): Omit<ChunkProgress, 'finish'> => ({
  rowsRead: 0,
  accepted: 0,
  rejected: 0,
  throttled: 0,
  suppressed: 0,
  lastRow: row,
  resumeOffset: offset,
  batchId: null,
  columns: null,
  warnings: [],
});
