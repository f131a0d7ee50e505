import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/config.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { ExperiencePlatform } from '../../platforms/experience-platform.js';
import { sealOriginals } from '../../privacy/sealed-originals.js';
import type { Vault } from '../../privacy/vault.js';
import type { Database, Session } from '../../storage/database.js';
import { isUuid } from '../../storage/ids.js';
import type { InvitationState, PendingInvitation } from '../../storage/schema.js';
import { EventAction, EventChannel } from '../../timeline/event-numbers.js';
import { accountOfFailedSecret } from '../../accounts/authentication.js';
import { writeLogEntries } from '../../log/log-writer.js';
import { hashedIdentifier } from '../../privacy/stored-identifiers.js';
import { dispatchRequestLog, type CatalogueEntry } from './dispatch-request-log.js';
import { checkDispatch } from './dispatch-rules.js';
import { readExtendedProperties, readStoredExtendedProperties } from './extended-properties.js';
import { writeIngest, type IngestWrite } from './ingest-writer.js';
import { checkRecord, RejectionMessage, type CheckedRecord, type DispatchRules } from './record-rules.js';
import type { DispatchRecords } from './request-body.js';
import { findSampler, type Sampler } from './samplers.js';
import { findUnsubscriber, heraldUnsubscriber, type Unsubscriber } from './unsubscribers.js';

export interface IngestServices {
  readonly database: Database;
  readonly platform: ExperiencePlatform;
  readonly queue: JobQueue;
  readonly vault: Vault;
  readonly config: Config;
}

/** 202: all accepted; 206: some; 400: none, or the dispatch itself was refused. */
export interface DispatchStatus {
  dispatchId: string;
  message: string;
  dispatchStatus: 202 | 206 | 400;
}

export interface DispatchRequestResult {
  batchId: string;
  statusByDispatch: DispatchStatus[];
}

type RefusedState = Exclude<InvitationState, 'requested' | 'token_created' | 'token_failed'>;

/** A record ingest did not accept: its position among its dispatch's records, its state and why. */
export interface Refusal {
  recordIndex: number;
  state: RefusedState;
  reason: string;
}

/** What ingest decided for one dispatch of a request, record by record. */
export interface DispatchOutcome {
  dispatchId: string;
  /** The dispatch itself was refused (unknown, paused, …): its records were not looked at. */
  refused: boolean;
  counts: Counts;
  refusals: Refusal[];
}

/** The answer, and for callers that report per record (the initiator) each dispatch's outcome. */
export interface IngestOutcome extends DispatchRequestResult {
  dispatches: DispatchOutcome[];
}

export interface IngestOptions {
  /**
   * Runs inside ingest's transaction, after its writes: what it writes commits with the request's
   * invitations or not at all (the initiator records a chunk's progress this way).
   */
  withinTransaction?: (tx: Session, outcome: IngestOutcome) => Promise<void>;
}

interface Plugins {
  sampler: Sampler;
  unsubscriber: Unsubscriber;
  properties: Record<string, unknown>;
}

/** The first timeline entry of a record refused at ingest (an accepted one gets Requested from the token job). */
const refusalEvent: Record<RefusedState, EventAction> = {
  rejected: EventAction.Rejected,
  throttled: EventAction.Throttled,
  suppressed: EventAction.Suppressed,
};

/**
 * Validates, hashes and stores one dispatch request. Everything it accepts — the accepted
 * invitations with their sealed originals (pending their tokens), the refused ones with their
 * timeline entries, the log entries and the token work — commits in one transaction before it
 * answers.
 */
export async function acceptDispatchRequest(
  services: IngestServices,
  accountId: string,
  batchId: string,
  request: DispatchRecords[],
  options: IngestOptions = {},
): Promise<IngestOutcome> {
  const { database, platform, queue } = services;
  const settings = await platform.settings(accountId);
  const write: IngestWrite = { accountId, batchId, pending: [], refused: [], events: [], logs: [] };
  const plugins = await choosePlugins(services, accountId, write);
  const tokenWork: { dispatchId: string; accepted: number }[] = [];
  const statusByDispatch: DispatchStatus[] = [];
  const dispatches: DispatchOutcome[] = [];

  for (const { dispatchId, records } of request) {
    const check = checkDispatch(dispatchId, await platform.dispatch(accountId, dispatchId), settings);
    if (!check.ok) {
      // The original's line, and Herald's own words on what to fix as the failure behind it.
      write.logs.push({
        dispatchId: isUuid(dispatchId) ? dispatchId : null,
        ...check.logged,
        exception: `Dispatch ${dispatchId}: ${check.message}`,
      });
      statusByDispatch.push({ dispatchId, message: check.message, dispatchStatus: 400 });
      dispatches.push({ dispatchId, refused: true, counts: noCounts(), refusals: [] });
      continue;
    }
    const { counts, accepted, refusals } = await planDispatch(check.rules, records, plugins, services, write);
    dispatches.push({ dispatchId, refused: false, counts, refusals });
    // Groups of one token batch, so the token job takes whole groups.
    const groupSize = services.config.tokenBatchSize;
    for (let first = 0; first < accepted.length; first += groupSize) {
      write.pending.push({
        dispatchId: check.rules.dispatch.id,
        invitations: accepted.slice(first, first + groupSize),
      });
    }
    if (counts.requested > 0) tokenWork.push({ dispatchId: check.rules.dispatch.id, accepted: counts.requested });
    statusByDispatch.push(statusOf(dispatchId, counts));
  }
  if (dispatches.every((d) => d.refused))
    write.logs.push({ dispatchId: null, ...dispatchRequestLog.noValidDispatch() });
  if (request.length > 1) write.logs.push({ dispatchId: null, ...dispatchRequestLog.multipleStatuses() });

  // A full batch of tokens can be created now; a smaller one waits to be grouped with others.
  const fullBatch = (accepted: number) => accepted >= services.config.tokenBatchSize;
  const outcome: IngestOutcome = { batchId, statusByDispatch, dispatches };
  await database.transaction(async (tx) => {
    await writeIngest(tx.sql, write);
    for (const { dispatchId, accepted } of tokenWork) {
      const startAfterSeconds = fullBatch(accepted) ? 0 : Math.ceil(services.config.tokenFlushMs / 1000);
      await queue.enqueue(tx, 'tokens.create', { accountId, dispatchId }, { startAfterSeconds });
    }
    await options.withinTransaction?.(tx, outcome);
  });
  if (tokenWork.some((w) => fullBatch(w.accepted))) queue.wake('tokens.create');
  return outcome;
}

async function choosePlugins(services: IngestServices, accountId: string, write: IngestWrite): Promise<Plugins> {
  const properties = await readExtendedProperties(services.database.db, accountId);
  const stored = await readStoredExtendedProperties(services.database.db, accountId);
  if (stored.Sampler === undefined)
    write.logs.push({ dispatchId: null, ...dispatchRequestLog.samplingNotConfigured() });
  let sampler = findSampler(String(properties.Sampler));
  if (!sampler) {
    write.logs.push({
      dispatchId: null,
      level: 'Warning',
      message: `Sampler "${String(properties.Sampler)}" is not available, so every record is processed. Choose one with POST /api/config/extendedproperties.`,
    });
    sampler = { keep: () => true };
  }
  let unsubscriber = findUnsubscriber(String(properties.Unsubscriber));
  if (!unsubscriber) {
    write.logs.push({
      dispatchId: null,
      level: 'Warning',
      message: `Unsubscriber "${String(properties.Unsubscriber)}" is not available; Herald's own unsubscribe list is checked instead.`,
    });
    unsubscriber = heraldUnsubscriber;
  }
  return { sampler, unsubscriber, properties };
}

/** How many records of a dispatch ended in each state. */
export type Counts = Record<Exclude<InvitationState, 'token_created' | 'token_failed'>, number>;

const noCounts = (): Counts => ({ requested: 0, rejected: 0, throttled: 0, suppressed: 0 });

/**
 * Applies every rule to a dispatch's records and adds the refused ones to `write`; returns how
 * many ended in each state and the accepted invitations.
 */
async function planDispatch(
  rules: DispatchRules,
  records: DispatchRecords['records'],
  plugins: Plugins,
  services: IngestServices,
  write: IngestWrite,
): Promise<{ counts: Counts; accepted: PendingInvitation[]; refusals: Refusal[] }> {
  const dispatchId = rules.dispatch.id;
  const log = (entry: CatalogueEntry) => write.logs.push({ dispatchId, ...entry });
  log(dispatchRequestLog.hashAlgorithm(rules.settings.hashAlgorithm));
  log(dispatchRequestLog.recordsReceived(records.length));
  const checked = records.map((record) => checkRecord(rules, record));
  const candidates = checked.filter((r) => r.rejection === null);
  const unsubscribed = await plugins.unsubscriber.unsubscribed(services.platform, write.accountId, [
    ...new Set(candidates.flatMap((r) => r.identifiers)),
  ]);

  const duplicates = duplicateUuids(checked);
  const dropped = new Set<string>();
  const counts = noCounts();
  const accepted: PendingInvitation[] = [];
  const refusals: Refusal[] = [];
  const uuidsOf = { rejectedAddress: [] as string[], suppressed: [] as string[], sampledOut: [] as string[] };
  let rejectedNoIdentifier = false;
  for (const [recordIndex, record] of checked.entries()) {
    record.dropped.forEach((id) => dropped.add(id));
    const [state, reason, message] = decide(record, duplicates, unsubscribed, plugins, dispatchId);
    counts[state] += 1;
    const id = randomUUID();
    const { uuid, channel, target, language, prefills } = record;
    if (state === 'requested') {
      // Only an accepted record is delivered, so only its originals are kept.
      const sealed = sealOriginals(services.vault, write.accountId, id, record.originals);
      accepted.push({
        id,
        record_index: recordIndex,
        uuid,
        channel,
        target,
        language,
        prefills,
        sealed_originals: sealed?.sealed.toString('base64') ?? null,
        sealed_key_id: sealed?.keyId ?? null,
      });
      continue;
    }
    write.refused.push({ id, dispatchId, recordIndex, state, uuid, channel, target, language, prefills });
    const listedUuid = hashedIdentifier(uuid, prefills, rules.settings.hashAlgorithm);
    if (message === RejectionMessage.noIdentifierOrChannel) rejectedNoIdentifier = true;
    else if (state === 'rejected' && listedUuid) uuidsOf.rejectedAddress.push(listedUuid);
    else if (state === 'suppressed' && listedUuid)
      (reason === SAMPLED_OUT ? uuidsOf.sampledOut : uuidsOf.suppressed).push(listedUuid);
    refusals.push({ recordIndex, state, reason: reason ?? state });
    write.events.push({
      invitationId: id,
      action: refusalEvent[state],
      channel: EventChannel.DispatchAPI,
      message,
      level: state === 'rejected' ? 'Error' : 'Information',
    });
  }

  if (dropped.size > 0) log(dispatchRequestLog.prefillsIgnored([...dropped]));
  if (uuidsOf.rejectedAddress.length > 0) log(dispatchRequestLog.rejectedAddress(uuidsOf.rejectedAddress));
  if (rejectedNoIdentifier) log(dispatchRequestLog.rejectedNoIdentifier());
  if (uuidsOf.suppressed.length > 0) log(dispatchRequestLog.suppressed(uuidsOf.suppressed));
  if (uuidsOf.sampledOut.length > 0) log(dispatchRequestLog.sampledOut(uuidsOf.sampledOut));
  if (counts.requested === 0) log(dispatchRequestLog.allRejected());
  else {
    log(dispatchRequestLog.queued(counts.requested));
    log(dispatchRequestLog.accepted(counts.requested, records.length - counts.requested));
  }
  return { counts, accepted, refusals };
}

/** In the original module's words ("Accepted for processing 1, Rejected 18"), with the reasons counted. */
function summary(counts: Counts): string {
  const notAccepted = counts.rejected + counts.throttled + counts.suppressed;
  if (notAccepted === 0) return `Accepted for processing ${counts.requested}`;
  return `Accepted for processing ${counts.requested}, Rejected ${notAccepted} (invalid ${counts.rejected}, throttled ${counts.throttled}, suppressed ${counts.suppressed})`;
}

const SAMPLED_OUT = 'Suppressed: not in the sample';

/**
 * Logs a request refused before anything else was read (too many records or dispatches), as the
 * original's catalogue says, in a transaction of its own: nothing else of the request is written.
 */
export async function logRefusedRequest(database: Database, accountId: string, entry: CatalogueEntry): Promise<void> {
  await writeLogEntries(database.sql, [{ accountId, tag: 'DispatchAPI', ...entry }]);
}

/**
 * Logs a dispatch request whose bearer secret no longer authenticates, on the account that secret
 * belonged to (a revoked key, an expired token); a secret Herald never issued belongs to nobody.
 */
export async function logAuthenticationFailure(database: Database, secret: string): Promise<void> {
  const accountId = await accountOfFailedSecret(database.db, secret);
  if (accountId) await logRefusedRequest(database, accountId, dispatchRequestLog.authenticationFailed());
}

/** The original module's message for a record whose UUID another record of its dispatch shares. */
export const DUPLICATE_RECORD_MESSAGE = 'Duplicate record found';

/** Case-insensitive key of a record's UUID (hashed UUIDs are of the lower-cased value already). */
const uuidKey = (record: CheckedRecord) => (record.uuid ?? '').toLowerCase();

/**
 * UUIDs that more than one valid record of a dispatch carries. As in the original module, every
 * record sharing one is refused, not all but the first: which of them was meant is unknowable.
 */
function duplicateUuids(records: readonly CheckedRecord[]): Set<string> {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const record of records) {
    if (record.rejection !== null) continue;
    const key = uuidKey(record);
    if (seen.has(key)) duplicates.add(key);
    else seen.add(key);
  }
  return duplicates;
}

/** The record's state, Herald's reason (rejected-rows reports) and the timeline message (the original's words). */
function decide(
  record: CheckedRecord,
  duplicates: Set<string>,
  unsubscribed: Set<string>,
  plugins: Plugins,
  dispatchId: string,
): [RefusedState | 'requested', string | null, string | null] {
  if (record.rejection !== null) return ['rejected', record.rejection, record.rejectionMessage ?? record.rejection];
  if (duplicates.has(uuidKey(record))) {
    const reason = `${DUPLICATE_RECORD_MESSAGE}: another record of this dispatch in the request has the same UUID`;
    return ['throttled', reason, DUPLICATE_RECORD_MESSAGE];
  }
  const reason = record.identifiers.some((h) => unsubscribed.has(h))
    ? 'Suppressed: the recipient has unsubscribed'
    : !plugins.sampler.keep({ dispatchId, uuid: record.uuid ?? '' }, plugins.properties)
      ? SAMPLED_OUT
      : null;
  return reason === null ? ['requested', null, null] : ['suppressed', reason, reason];
}

function statusOf(dispatchId: string, counts: Counts): DispatchStatus {
  const accepted = counts.requested;
  const total = accepted + counts.rejected + counts.throttled + counts.suppressed;
  if (accepted === total) return { dispatchId, message: summary(counts), dispatchStatus: 202 };
  if (accepted > 0) return { dispatchId, message: summary(counts), dispatchStatus: 206 };
  return {
    dispatchId,
    message: `${summary(counts)}: no record was accepted. POST /api/EventLog with this batchId gives each record's reason.`,
    dispatchStatus: 400,
  };
}
