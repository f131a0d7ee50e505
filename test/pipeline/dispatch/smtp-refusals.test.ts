import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventAction } from '../../../src/timeline/event-numbers.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import {
  closedPort,
  mailsTo,
  pointVendorAt,
  requestRecords,
  seedSinkDispatch,
  SinkRules,
  waitForMessage,
  type MessageRow,
} from '../../support/delivery.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { eventRows } from '../../support/ingest.js';
import type { SeededDispatch } from '../../support/platform.js';
import { startSmtpSink, type SmtpSink } from '../../support/smtp-sink.js';
import { waitFor } from '../../support/wait.js';

const RETRY_BASE_MS = 500;
const FAST = {
  HERALD_TOKEN_FLUSH_MS: '0',
  HERALD_DELIVERY_POLL_MS: '50',
  HERALD_SEND_RETRY_BASE_MS: `${RETRY_BASE_MS}`,
};

describe.each(databaseKinds())('SMTP errors on %s', (kind) => {
  let herald: TestHerald;
  let stubborn: TestHerald;
  let sink: SmtpSink;
  const rules = new SinkRules();

  beforeAll(async () => {
    sink = await startSmtpSink(rules.rule);
    herald = await startTestHerald(kind, { env: FAST });
    // Gives up after the second attempt.
    stubborn = await startTestHerald(kind, { env: { ...FAST, HERALD_SEND_MAX_ATTEMPTS: '2' } });
  });
  afterAll(async () => {
    await herald?.stop();
    await stubborn?.stop();
    await sink?.close();
  });

  let counter = 0;
  /** A new account and dispatch on `on`, and one record for `address`; resolves to the invitation id. */
  async function sendOne(
    address: string,
    on: TestHerald = herald,
    beforeRequest?: (d: SeededDispatch) => Promise<void>,
  ) {
    counter += 1;
    const { account, apiKey } = await seedAccount(on.database);
    const dispatch = await seedSinkDispatch(on.database, account.id, sink);
    await beforeRequest?.(dispatch);
    const { invitations } = await requestRecords(on, account.id, apiKey, dispatch.dispatchId, [
      [
        { questionId: dispatch.q.uuid, input: `smtp-${counter}` },
        { questionId: dispatch.q.email, input: address },
      ],
    ]);
    return { invitationId: invitations[0]!.id, dispatch };
  }

  /**
   * Waits until the message has failed at least `attempts` times and waits for its next attempt, in
   * `status`: `scheduled` again, or `rate_limited` when the vendor asked Herald to slow down.
   */
  const waitForRetry = (
    on: TestHerald,
    invitationId: string,
    attempts: number,
    check: (m: MessageRow) => boolean,
    status = 'scheduled',
  ) =>
    waitForMessage(on.database, invitationId, (m) => m.status === status && m.attempts >= attempts && check(m), {
      description: `a retry (${status}) after ${attempts} attempts`,
    });

  it('550 5.1.1: a permanent error, translated, with Error and DispatchUnsuccessful events', async () => {
    const address = `nobody@errors-${kind}.test`;
    rules.refuse(address, 550, '5.1.1 User unknown');
    const { invitationId } = await sendOne(address);
    const failed = await waitForMessage(herald.database, invitationId, (m) => m.status === 'error');
    expect(failed).toMatchObject({ attempts: 1, error_category: 'invalid_recipient', error_code: '550' });
    expect(failed.error_message).toBe(
      'The address does not exist or is malformed: correct it and send again. Vendor said: 550 5.1.1 User unknown',
    );
    expect(rules.refusalsOf(address)).toHaveLength(1);
    expect(mailsTo(sink, address)).toHaveLength(0);

    const events = await eventRows(herald.database, [invitationId]);
    const error = events.find((e) => e.action === EventAction.Error);
    const unsuccessful = events.find((e) => e.action === EventAction.DispatchUnsuccessful);
    expect(error).toMatchObject({ level: 'Error', message: failed.error_message });
    expect(unsuccessful).toMatchObject({ level: 'Error' });
    expect(unsuccessful?.message).toContain('invalid_recipient');
    expect(events.some((e) => e.action === EventAction.Sent)).toBe(false);
  });

  it.each([
    [421, '4.7.0 Service not available, try again later'],
    [451, '4.3.0 Local error in processing'],
  ])('%i: retried with backoff, then sent once the server takes it', async (code, text) => {
    const address = `busy-${code}@errors-${kind}.test`;
    rules.refuse(address, code, text);
    const { invitationId } = await sendOne(address);
    const waiting = await waitForRetry(herald, invitationId, 2, (m) => m.error_code === String(code));
    expect(waiting).toMatchObject({ error_category: 'vendor_unavailable', sent_at: null });
    expect(waiting.error_message).toBe(
      `The vendor is temporarily unavailable; the message is retried automatically. Vendor said: ${code} ${text}`,
    );
    expect(mailsTo(sink, address)).toHaveLength(0);

    rules.accept(address);
    const sent = await waitForMessage(herald.database, invitationId, (m) => m.status === 'sent');
    const refusals = rules.refusalsOf(address);
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    expect(sent.attempts).toBe(refusals.length + 1);
    expect(sent).toMatchObject({ error_category: null, error_code: null, error_message: null });
    expect(mailsTo(sink, address)).toHaveLength(1);
    // Backoff: retry n waits base·2^(n−1) less up to half of it (jitter), far longer than the 50 ms poll.
    // Half of that minimum again leaves room for the time an attempt takes before the server sees it.
    const gaps = refusals.slice(1).map((r, i) => r.at - refusals[i]!.at);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual((RETRY_BASE_MS / 4) * 2 ** i));
    const actions = (await eventRows(herald.database, [invitationId])).map((e) => e.action);
    expect(actions.filter((a) => a === EventAction.Error || a === EventAction.DispatchUnsuccessful)).toEqual([]);
    expect(actions.filter((a) => a === EventAction.Sent)).toHaveLength(1);
  });

  it('452 "rate limited": a RateLimited event per refusal, then sent', async () => {
    const address = `throttled@errors-${kind}.test`;
    rules.refuse(address, 452, '4.5.3 Too many recipients, rate limited');
    const { invitationId } = await sendOne(address);
    const waiting = await waitForRetry(herald, invitationId, 1, () => true, 'rate_limited');
    expect(waiting).toMatchObject({ error_category: 'rate_limited', error_code: '452' });
    const rateLimited = await waitFor(async () =>
      (await eventRows(herald.database, [invitationId])).find((e) => e.action === EventAction.RateLimited),
    );
    expect(rateLimited.level).toBe('Warning');
    expect(rateLimited.message).toContain('4.5.3 Too many recipients, rate limited');
    expect(rateLimited.message).toMatch(/Next attempt at \d{4}-\d\d-\d\dT/);

    rules.accept(address);
    const sent = await waitForMessage(herald.database, invitationId, (m) => m.status === 'sent');
    const events = await eventRows(herald.database, [invitationId]);
    expect(events.filter((e) => e.action === EventAction.RateLimited)).toHaveLength(sent.attempts - 1);
    expect(events.filter((e) => e.action === EventAction.Error)).toEqual([]);
    expect(mailsTo(sink, address)).toHaveLength(1);
  });

  it('connection refused: retried, not lost, and sent once the vendor points at a live server', async () => {
    const address = `patient@errors-${kind}.test`;
    const { invitationId, dispatch } = await sendOne(address, herald, async (d) =>
      pointVendorAt(herald.database, d.vendorId, await closedPort()),
    );
    const waiting = await waitForRetry(herald, invitationId, 2, () => true);
    expect(waiting).toMatchObject({ error_category: 'network' });
    expect(waiting.error_message).toContain('ECONNREFUSED');

    await pointVendorAt(herald.database, dispatch.vendorId, sink.port);
    const sent = await waitForMessage(herald.database, invitationId, (m) => m.status === 'sent');
    expect(sent.attempts).toBeGreaterThanOrEqual(3);
    expect(mailsTo(sink, address)).toHaveLength(1);
  });

  it('gives up after HERALD_SEND_MAX_ATTEMPTS: error, vendor_unavailable', async () => {
    const address = `never@errors-${kind}.test`;
    rules.refuse(address, 451, '4.3.0 Temporary local problem');
    const { invitationId } = await sendOne(address, stubborn);
    const failed = await waitForMessage(stubborn.database, invitationId, (m) => m.status === 'error');
    expect(failed).toMatchObject({ attempts: 2, error_category: 'vendor_unavailable', error_code: '451' });
    // No promise of another attempt once Herald has stopped trying.
    expect(failed.error_message).toBe(
      'The vendor is temporarily unavailable. Herald gave up after 2 attempts. Vendor said: 451 4.3.0 Temporary local problem',
    );
    expect(rules.refusalsOf(address)).toHaveLength(2);
    const events = await eventRows(stubborn.database, [invitationId]);
    expect(events.filter((e) => e.action === EventAction.Error).map((e) => e.message)).toEqual([failed.error_message]);
    expect(events.filter((e) => e.action === EventAction.DispatchUnsuccessful)).toHaveLength(1);
    expect(mailsTo(sink, address)).toHaveLength(0);
  });
});
