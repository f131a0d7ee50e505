import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLogEntries } from '../../src/log/log-writer.js';
import { relayEvents } from '../../src/pipeline/events-out/outbox-relay.js';
import type { EventEnvelope } from '../../src/pipeline/events-out/envelope.js';
import { channels } from '../../src/storage/schema.js';
import { EventAction, EventChannel, eventChannelOf, messageChannelOf } from '../../src/timeline/event-numbers.js';
import { writeTimelineEntries } from '../../src/timeline/timeline-writer.js';
import { seedAccount } from '../support/accounts.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { seedDispatch } from '../support/platform.js';
import { dropPostgresDatabase } from '../support/postgres-cleanup.js';

describe('the channel mapping', () => {
  it('gives each message channel its timeline number and reads it back', () => {
    expect(channels.map(eventChannelOf)).toEqual([EventChannel.Email, EventChannel.SMS, EventChannel.WhatsApp]);
    for (const channel of channels) expect(messageChannelOf(eventChannelOf(channel))).toBe(channel);
    for (const step of [EventChannel.DispatchAPI, EventChannel.Unknown, EventChannel.Invalid, 42]) {
      expect(messageChannelOf(step)).toBeNull();
    }
  });
});

describe.each(databaseKinds())('the timeline and log writers on %s', (kind) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await test?.database.close();
    await dropPostgresDatabase(test?.url);
  });

  /** An account with an active webhook subscription, and one token-created invitation with an email and an SMS message. */
  async function seedInvitation() {
    const { database } = test;
    const { account } = await seedAccount(database);
    const { dispatchId } = await seedDispatch(database, account.id, { channels: ['email', 'sms'] });
    const batchId = `batch-${randomUUID()}`;
    const invitationId = randomUUID();
    await database.sql.query(`INSERT INTO batches (account_id, id) VALUES ($1, $2)`, [account.id, batchId]);
    await database.sql.query(
      `INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, uuid, channel, prefills)
       VALUES ($1, $2, $3, $4, 0, 'token_created', 'cust-1', 'email', '[]'::jsonb)`,
      [invitationId, account.id, batchId, dispatchId],
    );
    const messageIds: Record<string, string> = {};
    for (const channel of ['email', 'sms'] as const) {
      const [row] = await database.sql.query<{ id: string }>(
        `INSERT INTO messages (account_id, invitation_id, dispatch_id, channel, reminder_level, status, due_at, vendor_message_id,
           created_at)
         VALUES ($1, $2, $3, $4, 0, 'sent', now(), $5, now() - interval '1 hour') RETURNING id`,
        [account.id, invitationId, dispatchId, channel, `vendor-${channel}`],
      );
      messageIds[channel] = row!.id;
    }
    await database.sql.query(
      `INSERT INTO webhook_subscriptions (account_id, url, secret, secret_key_id) VALUES ($1, 'http://127.0.0.1:9/hook', '\\x00', 'k')`,
      [account.id],
    );
    return { accountId: account.id, invitationId, messageIds };
  }

  it('writes entries in the order given, each dated as given or at the time of writing', async () => {
    const { accountId, invitationId } = await seedInvitation();
    const requestedAt = new Date('2026-03-01T08:00:00.123Z');
    const sentAt = new Date('2026-03-01T08:05:00.000Z');
    const before = Date.now();
    await writeTimelineEntries(test.database.sql, [
      {
        accountId,
        invitationId,
        action: EventAction.Requested,
        channel: EventChannel.DispatchAPI,
        occurredAt: requestedAt,
      },
      {
        accountId,
        invitationId,
        action: EventAction.Sent,
        channel: eventChannelOf('sms'),
        targetId: 'vendor-sms',
        occurredAt: sentAt,
      },
      {
        accountId,
        invitationId,
        action: EventAction.Error,
        channel: eventChannelOf('email'),
        message: 'Refused',
        level: 'Error',
      },
    ]);
    await writeTimelineEntries(test.database.sql, []);
    const rows = await test.database.sql.query<{
      action: number;
      channel: number;
      message: string | null;
      target_id: string | null;
      level: string | null;
      occurred_at: Date | string;
    }>(
      `SELECT action, channel, message, target_id, level, occurred_at FROM invitation_events WHERE invitation_id = $1 ORDER BY id`,
      [invitationId],
    );
    expect(rows.map(({ occurred_at: _, ...row }) => row)).toEqual([
      { action: EventAction.Requested, channel: EventChannel.DispatchAPI, message: null, target_id: null, level: null },
      { action: EventAction.Sent, channel: EventChannel.SMS, message: null, target_id: 'vendor-sms', level: null },
      { action: EventAction.Error, channel: EventChannel.Email, message: 'Refused', target_id: null, level: 'Error' },
    ]);
    expect(new Date(rows[0]!.occurred_at).toISOString()).toBe(requestedAt.toISOString());
    expect(new Date(rows[1]!.occurred_at).toISOString()).toBe(sentAt.toISOString());
    // The database's own clock, which may differ a little from this process's.
    expect(Math.abs(new Date(rows[2]!.occurred_at).getTime() - before)).toBeLessThan(60_000);
  });

  it('queues the entries for the relay, which links each to the message of its channel', async () => {
    const { accountId, invitationId, messageIds } = await seedInvitation();
    await writeTimelineEntries(test.database.sql, [
      { accountId, invitationId, action: EventAction.TokenCreated, channel: EventChannel.DispatchAPI },
      {
        accountId,
        invitationId,
        action: EventAction.Delivered,
        channel: eventChannelOf('sms'),
        targetId: 'vendor-sms',
      },
      { accountId, invitationId, action: EventAction.Error, channel: eventChannelOf('email'), level: 'Error' },
    ]);
    let relayed = 0;
    do relayed = await relayEvents(test.database, 100, new Date());
    while (relayed > 0);
    const deliveries = await test.database.sql.query<{ payload: EventEnvelope | string }>(
      `SELECT payload FROM webhook_deliveries WHERE invitation_id = $1 ORDER BY id`,
      [invitationId],
    );
    const data = deliveries.map(
      (d) => (typeof d.payload === 'string' ? (JSON.parse(d.payload) as EventEnvelope) : d.payload).data,
    );
    expect(data.map((d) => [d.status, d.channel, d.messageId])).toEqual([
      ['TokenCreated', 'dispatchApi', null],
      ['Delivered', 'sms', messageIds.sms],
      ['Error', 'email', messageIds.email],
    ]);
    expect(data[1]?.vendorMessageId).toBe('vendor-sms');
  });

  it('writes log entries of any account in one call', async () => {
    const first = (await seedAccount(test.database)).account.id;
    const second = (await seedAccount(test.database)).account.id;
    const at = new Date('2026-03-02T10:00:00.000Z');
    const dispatchId = randomUUID();
    await writeLogEntries(test.database.sql, [
      {
        accountId: first,
        tag: 'DispatchAPI',
        level: 'Warning',
        message: 'first',
        batchId: 'b-1',
        dispatchId,
        occurredAt: at,
      },
      { accountId: second, tag: 'Initiator', level: 'Error', message: 'second', exception: 'why' },
    ]);
    const rows = await test.database.sql.query<{
      account_id: string;
      batch_id: string | null;
      dispatch_id: string | null;
      level: string;
      tag: string;
      message: string;
      exception: string | null;
      occurred_at: Date | string;
    }>(
      `SELECT account_id, batch_id, dispatch_id, level, tag, message, exception, occurred_at FROM log_entries
       WHERE account_id = ANY($1::uuid[]) ORDER BY id`,
      [[first, second]],
    );
    expect(rows.map(({ occurred_at: _, ...row }) => row)).toEqual([
      {
        account_id: first,
        batch_id: 'b-1',
        dispatch_id: dispatchId,
        level: 'Warning',
        tag: 'DispatchAPI',
        message: 'first',
        exception: null,
      },
      {
        account_id: second,
        batch_id: null,
        dispatch_id: null,
        level: 'Error',
        tag: 'Initiator',
        message: 'second',
        exception: 'why',
      },
    ]);
    expect(new Date(rows[0]!.occurred_at).toISOString()).toBe(at.toISOString());
  });
});
