import { writeLogEntries } from '../log/log-writer.js';
import type { SqlExecutor } from '../storage/database.js';
import type { LogLevel } from '../storage/schema.js';

/** Where a file came from, in the words of the log. */
export type Origin = { source: 'api' } | { source: 'folder'; feed: string };

/** One initiator log entry before it is tied to an account, dispatch, batch and upload. */
export interface InitiatorEntry {
  level: LogLevel;
  message: string;
}

const received = (origin: Origin) =>
  origin.source === 'api' ? 'the upload API' : `the watched folder "${origin.feed}"`;
/** The original names the config.json; an upload names its dispatch itself. */
const namer = (origin: Origin) => (origin.source === 'api' ? 'The upload' : 'The config.json');

const debug = (message: string): InitiatorEntry => ({ level: 'Debug', message });
const info = (message: string): InitiatorEntry => ({ level: 'Information', message });
const warning = (message: string): InitiatorEntry => ({ level: 'Warning', message });
const error = (message: string): InitiatorEntry => ({ level: 'Error', message });

/**
 * The initiator's log entries (§6.1.3 of the architecture document), with their levels and texts;
 * "the S3Bucket" becomes the upload API or the watched folder. Ids and counts only: file contents
 * never appear here.
 */
export const initiatorLog = {
  requestReceived: (origin: Origin) => debug(`A request to initiate a dispatch was received from ${received(origin)}`),
  configNotRetrieved: (reason: string) =>
    error(`The required config.json couldn't be retrieved from the watched folder. Reason => ${reason}`),
  configEmpty: () => error('The retrieved config.json was Empty'),
  configRetrieved: () => debug('The required config.json was successfully retrieved from the watched folder'),
  fileNotRetrieved: (reason: string) => error(`The uploaded file couldn't be retrieved. Reason => ${reason}`),
  fileEmpty: () => error('The retrieved uploaded file was Empty'),
  fileRetrieved: () => debug('The uploaded file was successfully retrieved'),
  configIncorrect: (reason: string) =>
    error(`The required config.json hasn't been configured correctly. Please check again! (${reason})`),
  configCorrect: () => debug('The required config.json has been configured correctly'),
  unknownDispatch: (origin: Origin) => error(`${namer(origin)} specifies an unknown Dispatch-Id`),
  notLiveDispatch: (origin: Origin, reason: string) =>
    error(`${namer(origin)} specifies a Not-Live Dispatch (${reason})`),
  unusableDispatch: (origin: Origin, reason: string) =>
    error(`${namer(origin)} specifies a Dispatch that cannot take invitations: ${reason}`),
  noQuestions: (origin: Origin) => error(`${namer(origin)} specifies a Dispatch with no associated Questions`),
  dispatchFetched: () => debug('The required Dispatch details, along with its Questions, were successfully fetched'),
  noHeaderMapped: (available: string) =>
    error(
      `The uploaded file cannot be processed as none of the headers could be mapped to a Question-Id that belongs to the corresponding Dispatch. Available Headers for the corresponding Dispatch: ${available}`,
    ),
  duplicateHeaders: (duplicates: readonly string[]) =>
    error(`The uploaded file cannot be processed as it has the following duplicate headers: ${duplicates.join(', ')}`),
  conflictingHeaders: (reason: string) => error(`The uploaded file cannot be processed as ${reason}`),
  headersReady: (details: string, available: string) =>
    info(
      `The uploaded file's headers are ready for processing. Details => ${details} . Available Headers for the corresponding Dispatch: ${available}`,
    ),
  unmappedHeaders: (headers: readonly string[]) =>
    warning(`These columns match no question of the dispatch and were ignored: ${headers.join(', ')}`),
  noValidRows: () => error('The uploaded file cannot be processed as none of the rows are correctly configured.'),
  rowsReady: (details: string) => info(`The uploaded file's rows are ready for processing. Details => ${details}`),
  responseReceived: (accepted: boolean, details: string) =>
    accepted ? info(`The HTTP Response received: ${details}`) : error(`The HTTP Response received: ${details}`),
  failed: (reason: string) => error(`The uploaded file could not be processed: ${reason}`),
};

/** Writes initiator entries tied to their upload (and the batch a chunk produced, if any). */
export function writeInitiatorEntries(
  sql: SqlExecutor,
  upload: { id: string; accountId: string; dispatchId: string },
  entries: readonly InitiatorEntry[],
  batchId: string | null = null,
): Promise<void> {
  return writeLogEntries(
    sql,
    entries.map((e) => ({
      ...e,
      tag: 'Initiator' as const,
      accountId: upload.accountId,
      dispatchId: upload.dispatchId,
      uploadId: upload.id,
      batchId,
    })),
  );
}
