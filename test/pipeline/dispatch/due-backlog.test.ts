import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config/config.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { countDueMessages } from '../../../src/pipeline/dispatch/claim-messages.js';
import { DeliveryWorker } from '../../../src/pipeline/dispatch/delivery-worker.js';
import { VendorPool } from '../../../src/pipeline/dispatch/vendor-pool.js';
import { StandalonePlatform } from '../../../src/platforms/standalone/standalone-platform.js';
import { parseVaultKeys, Vault } from '../../../src/privacy/vault.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../support/databases.js';
import { pointVendorAt } from '../../support/delivery.js';
import { TEST_VAULT_KEYS } from '../../support/herald.js';
import { seedDispatch } from '../../support/platform.js';
import { startHoldingSmtpServer, type HoldingSmtpServer } from '../../support/smtp-sink.js';
import { waitFor } from '../../support/wait.js';
import { loopbackEgress } from '../../support/egress.js';

/** An invitation with its token and its first email message, in `status` and due at `dueAt`. */
async function insertMessage(
  sql: TestDatabase['database']['sql'],
  at: { accountId: string; dispatchId: string; recordIndex: number },
  status: string,
  dueAt: string,
): Promise<void> {
  const invitationId = randomUUID();
  await sql.query(
    `INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, target, prefills, token)
     VALUES ($1, $2, 'batch', $3, $4, 'token_created', $5, '[]', $6)`,
    [
      invitationId,
      at.accountId,
      at.dispatchId,
      at.recordIndex,
      `customer${at.recordIndex}@example.com`,
      `token-${invitationId}`,
    ],
  );
  await sql.query(
    `INSERT INTO messages (account_id, invitation_id, dispatch_id, channel, reminder_level, status, due_at)
     VALUES ($1, $2, $3, 'email', 0, $4, $5)`,
    [at.accountId, invitationId, at.dispatchId, status, dueAt],
  );
}

describe.each(databaseKinds())('the due backlog token creation waits on, on %s', (kind) => {
  let test: TestDatabase;
  let smtp: HoldingSmtpServer;
  let worker: DeliveryWorker | undefined;

  beforeAll(async () => {
    test = await openTestDatabase(kind);
    smtp = await startHoldingSmtpServer();
  });
  afterAll(async () => {
    // The worker stops once its batch is answered: answer every mail until it has.
    const stopped = worker?.stop().then(() => true);
    while (stopped && !(await Promise.race([stopped, sleep(20).then(() => false)])))
      for (const release of smtp.held.splice(0)) release();
    await smtp?.close();
    await test?.database.close();
  });

  it('counts the messages a claim could take now, and stops counting at the limit', async () => {
    const { sql } = test.database;
    const { account } = await seedAccount(test.database);
    // Far ahead: none of these is ever due for the worker in the next test, which runs on the real clock.
    const now = new Date('2100-01-01T12:00:00Z');
    const minutes = (m: number) => new Date(now.getTime() + m * 60_000).toISOString();
    const messages: [status: string, dueAt: string][] = [
      ['scheduled', minutes(-5)],
      ['scheduled', minutes(0)],
      ['rate_limited', minutes(-1)],
      ['manual_retry', minutes(-1)],
      ['scheduled', minutes(1)], // not due yet
      ['rate_limited', minutes(10)], // not due yet
      ['sending', minutes(-5)], // claimed already
      ['sent', minutes(-5)],
      ['error', minutes(-5)],
    ];
    for (const [recordIndex, [status, dueAt]] of messages.entries())
      await insertMessage(sql, { accountId: account.id, dispatchId: account.id, recordIndex }, status, dueAt);
    expect(await countDueMessages(sql, now, 100)).toBe(4);
    expect(await countDueMessages(sql, now, 3)).toBe(3);
    expect(await countDueMessages(sql, new Date(minutes(10)), 100)).toBe(6);
  });

  it('holds token creation until fewer than a backlog of messages are due, checking each time delivery takes a batch', async () => {
    const { database } = test;
    const { account } = await seedAccount(database);
    const seeded = await seedDispatch(database, account.id);
    await pointVendorAt(database, seeded.vendorId, smtp.port);
    const dueAt = new Date(Date.now() - 60_000).toISOString();
    for (let recordIndex = 0; recordIndex < 6; recordIndex++)
      await insertMessage(
        database.sql,
        { accountId: account.id, dispatchId: seeded.dispatchId, recordIndex },
        'scheduled',
        dueAt,
      );
    const vault = new Vault(parseVaultKeys(TEST_VAULT_KEYS).keys);
    // One message a batch, and the server holds each until released: delivery takes a turn per release.
    worker = new DeliveryWorker({
      database,
      platform: new StandalonePlatform(database.db),
      vault,
      publicUrl: 'http://127.0.0.1:1',
      config: loadConfig({ HERALD_VAULT_KEYS: TEST_VAULT_KEYS, HERALD_DELIVERY_BATCH_SIZE: '1' }),
      clock: systemClock,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      vendors: new VendorPool(database.db, vault, loopbackEgress),
    });
    worker.start();
    await waitFor(() => smtp.held.length === 1, 10_000, { description: 'the first message to reach the server' });
    const due = () => countDueMessages(database.sql, new Date(), 100);
    expect(await due()).toBe(5);

    // Far longer than the test: the turn ends because the backlog shrank, not because time ran out.
    let turnEnded = false;
    const turn = worker.giveTurn(3, 60_000).then(() => (turnEnded = true));
    for (const dueAfter of [4, 3]) {
      smtp.held.shift()!();
      await waitFor(() => smtp.held.length === 1, 10_000, { description: 'the next message sent' });
      expect(await due()).toBe(dueAfter);
      expect(turnEnded).toBe(false);
    }
    smtp.held.shift()!();
    await turn;
    expect(await due()).toBe(2);
  });
});
