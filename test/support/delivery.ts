import net from 'node:net';
import { eq } from 'drizzle-orm';
import { expect } from 'vitest';
import type { Clock } from '../../src/clock.js';
import type { Database } from '../../src/storage/database.js';
import { vendors } from '../../src/storage/schema.js';
import { startTestHerald, type TestHerald } from './herald.js';
import type { DatabaseKind } from './databases.js';
import { invitationRows, postDispatchRequest, type InvitationRow, type MultiStatus, type Prefill } from './ingest.js';
import { apiRequest, type Answer } from './api-client.js';
import { seedDispatch, type SeededDispatch } from './platform.js';
import { startSmtpSink, type RecipientRule, type SinkMessage, type SmtpSink } from './smtp-sink.js';
import { waitFor } from './wait.js';

/** A clock a test moves by hand: Herald sees exactly the time the test sets. */
export class TestClock implements Clock {
  #ms: number;

  constructor(start: Date | string) {
    this.#ms = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#ms);
  }

  set(at: Date | string): void {
    this.#ms = new Date(at).getTime();
  }

  advance(ms: number): void {
    this.#ms += ms;
  }
}

export const MINUTE = 60_000;

/** The settings of an SMTP vendor that sends in the clear to `port` on loopback. */
export function loopbackSmtpSettings(port: number) {
  return { host: '127.0.0.1', port, security: 'none', fromAddress: 'surveys@herald.test', rejectUnauthorized: true };
}

/** A Herald with its workers on a fresh database of one kind, and the SMTP sink its dispatches deliver to. */
export interface DeliveryHarness {
  readonly herald: TestHerald;
  readonly sink: SmtpSink;
}

/**
 * The set-up of a delivery test: an SMTP sink (answering by `rule`), then Herald on a fresh database
 * with token grouping off and delivery workers polling every 50 ms (plus `env`). Both stop when the
 * file ends, Herald first (the last started stops first); seed accounts and dispatches with seedAccount() and seedSinkDispatch().
 */
export async function startDeliveryHarness(
  kind: DatabaseKind,
  options: { env?: Record<string, string>; clock?: Clock; rule?: RecipientRule } = {},
): Promise<DeliveryHarness> {
  const sink = await startSmtpSink(options.rule);
  const herald = await startTestHerald(kind, {
    clock: options.clock,
    env: { HERALD_TOKEN_FLUSH_MS: '0', HERALD_DELIVERY_POLL_MS: '50', ...options.env },
  });
  return { herald, sink };
}

/** Points a vendor at another loopback port (the sink, or a closed one). */
export async function pointVendorAt(database: Database, vendorId: string, port: number): Promise<void> {
  await database.db
    .update(vendors)
    .set({ settings: loopbackSmtpSettings(port) })
    .where(eq(vendors.id, vendorId));
}

/** seedDispatch() with its SMTP vendor pointed at `sink`. */
export async function seedSinkDispatch(
  database: Database,
  accountId: string,
  sink: SmtpSink,
  options: Parameters<typeof seedDispatch>[2] = {},
): Promise<SeededDispatch> {
  const seeded = await seedDispatch(database, accountId, options);
  await pointVendorAt(database, seeded.vendorId, sink.port);
  return seeded;
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Calls the API of `herald` with `token`; fails the test on an unexpected status. */
export async function api<T = Record<string, unknown>>(
  herald: TestHerald,
  token: string,
  method: string,
  path: string,
  json?: unknown,
  expectedStatus?: number,
): Promise<Answer<T>> {
  const answer = await apiRequest<T>(herald.url, path, { method, token, json });
  if (expectedStatus !== undefined) expect(answer.status, JSON.stringify(answer.body)).toBe(expectedStatus);
  return answer;
}

/** Posts records to a dispatch as one request (one batch) and returns its invitations in record order. */
export async function requestRecords(
  herald: TestHerald,
  accountId: string,
  apiKey: string,
  dispatchId: string,
  records: Prefill[][],
): Promise<{ batchId: string; invitations: InvitationRow[]; answer: MultiStatus }> {
  const answer = await postDispatchRequest(herald, apiKey, { json: [{ dispatchID: dispatchId, preFill: records }] });
  expect(answer.status, JSON.stringify(answer.body)).toBe(207);
  const { batchId } = answer.body;
  const invitations = await invitationRows(herald.database, accountId, batchId);
  expect(invitations).toHaveLength(records.length);
  return { batchId, invitations, answer: answer.body };
}

/** One row of `messages`, timestamps as ISO strings. */
export interface MessageRow {
  id: string;
  invitation_id: string;
  reminder_level: number;
  status: string;
  due_at: string;
  attempts: number;
  error_category: string | null;
  error_code: string | null;
  error_message: string | null;
  sent_at: string | null;
  updated_at: string;
}

const iso = (value: unknown): string => new Date(value as string | Date).toISOString();

/** The messages of some invitations, by invitation (in the order given) and reminder level. */
export async function messageRows(database: Database, invitationIds: readonly string[]): Promise<MessageRow[]> {
  const rows = await database.sql.query<Record<string, unknown>>(
    `SELECT id, invitation_id, reminder_level, status, due_at, attempts, error_category, error_code, error_message,
            sent_at, updated_at
     FROM messages WHERE invitation_id = ANY($1::uuid[])
     ORDER BY array_position($1::uuid[], invitation_id), reminder_level`,
    [[...invitationIds]],
  );
  return rows.map((r) => ({
    ...(r as unknown as MessageRow),
    reminder_level: Number(r.reminder_level),
    attempts: Number(r.attempts),
    due_at: iso(r.due_at),
    sent_at: r.sent_at === null ? null : iso(r.sent_at),
    updated_at: iso(r.updated_at),
  }));
}

/** The message of an invitation at a reminder level, if there is one. */
export async function messageOf(database: Database, invitationId: string, level = 0): Promise<MessageRow | undefined> {
  return (await messageRows(database, [invitationId])).find((m) => m.reminder_level === level);
}

/** Waits until the invitation's message at `level` exists and satisfies `until`, and returns it. */
export async function waitForMessage(
  database: Database,
  invitationId: string,
  until: (message: MessageRow) => boolean,
  options: { level?: number; timeoutMs?: number; description?: string } = {},
): Promise<MessageRow> {
  let last: MessageRow | undefined;
  try {
    return await waitFor(
      async () => {
        last = await messageOf(database, invitationId, options.level ?? 0);
        return last && until(last) ? last : undefined;
      },
      options.timeoutMs ?? 20_000,
      { description: options.description ?? `message (level ${options.level ?? 0}) of ${invitationId}` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

/** What the sink received for an address, in arrival order. */
export const mailsTo = (sink: SmtpSink, address: string): SinkMessage[] =>
  sink.messages.filter((m) => m.to === address);

/** The survey token in a message's survey link. */
export function surveyTokenOf(mail: SinkMessage): string {
  const token = /\/s\/([\w-]+)/.exec(mail.mail.text ?? '')?.[1];
  if (!token) throw new Error(`no survey link in ${mail.mail.text}`);
  return token;
}

/** The RFC 8058 one-click URL of a message's List-Unsubscribe header. */
export function oneClickUrlOf(mail: SinkMessage): string {
  const url = /^List-Unsubscribe: <(http:\/\/127\.0\.0\.1:\d+\/u\/[\w-]+)>\r?$/m.exec(mail.raw)?.[1];
  if (!url) throw new Error('no List-Unsubscribe header');
  return url;
}

/**
 * Proof that the delivery worker has claimed and finished a batch at the clock's current time: a
 * record for `control` (a dispatch that sends at once) reaches the sink and its outcome is recorded.
 * Any message that was due at that time was claimed in that batch or an earlier one, so a test can
 * then assert that something was *not* sent without waiting for a fixed time.
 */
export async function deliveryCaughtUp(
  herald: TestHerald,
  accountId: string,
  apiKey: string,
  control: SeededDispatch,
  sink: SmtpSink,
): Promise<void> {
  controlCount += 1;
  const address = `control-${controlCount}-${Date.now()}@control.test`;
  const { invitations } = await requestRecords(herald, accountId, apiKey, control.dispatchId, [
    [
      { questionId: control.q.uuid, input: `control-${controlCount}` },
      { questionId: control.q.email, input: address },
    ],
  ]);
  await waitForMessage(herald.database, invitations[0]!.id, (m) => m.status === 'sent', {
    description: `the control message to ${address} to be sent`,
  });
  expect(mailsTo(sink, address)).toHaveLength(1);
}
let controlCount = 0;

/** A refusal the sink gave, and when. */
export interface Refusal {
  address: string;
  code: number;
  at: number;
}

/** Sink rules by address that the test changes as it goes, with a record of every refusal. */
export class SinkRules {
  readonly #rules = new Map<string, { code: number; message: string }>();
  readonly refusals: Refusal[] = [];

  refuse(address: string, code: number, message: string): void {
    this.#rules.set(address, { code, message });
  }

  accept(address: string): void {
    this.#rules.delete(address);
  }

  refusalsOf(address: string): Refusal[] {
    return this.refusals.filter((r) => r.address === address);
  }

  readonly rule: RecipientRule = (address) => {
    const refusal = this.#rules.get(address);
    if (refusal) this.refusals.push({ address, code: refusal.code, at: Date.now() });
    return refusal;
  };
}
