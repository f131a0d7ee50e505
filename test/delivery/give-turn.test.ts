import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { countDueMessages } from '../../src/pipeline/dispatch/claim-messages.js';
import { DeliveryWorker } from '../../src/pipeline/dispatch/delivery-worker.js';
import { VendorPool } from '../../src/pipeline/dispatch/vendor-pool.js';
import { StandalonePlatform } from '../../src/platforms/standalone/standalone-platform.js';
import { parseVaultKeys, Vault } from '../../src/privacy/vault.js';
import { seedAccount } from '../support/accounts.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../support/databases.js';
import { pointVendorAt } from '../support/delivery.js';
import { TEST_VAULT_KEYS } from '../support/herald.js';
import { seedDispatch } from '../support/platform.js';
import { dropPostgresDatabase } from '../support/postgres-cleanup.js';
import { startHoldingSmtpServer, type HoldingSmtpServer } from '../support/smtp-sink.js';
import { waitFor } from '../support/wait.js';

describe.each(databaseKinds())('token creation giving delivery its turn on %s', (kind) => {
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
    await dropPostgresDatabase(test?.url);
  });

  it('holds until fewer than a backlog of messages are due, checking each time delivery takes a batch', async () => {
    const { database } = test;
    const { account } = await seedAccount(database);
    const seeded = await seedDispatch(database, account.id);
    await pointVendorAt(database, seeded.vendorId, smtp.port);
    const dueAt = new Date(Date.now() - 60_000).toISOString();
    for (let i = 0; i < 6; i++) {
      const invitationId = randomUUID();
      await database.sql.query(
        `INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, target, prefills, token)
         VALUES ($1, $2, 'batch', $3, $4, 'token_created', $5, '[]', $6)`,
        [invitationId, account.id, seeded.dispatchId, i, `customer${i}@example.com`, `token-${invitationId}`],
      );
      await database.sql.query(
        `INSERT INTO messages (account_id, invitation_id, dispatch_id, channel, reminder_level, status, due_at)
         VALUES ($1, $2, $3, 'email', 0, 'scheduled', $4)`,
        [account.id, invitationId, seeded.dispatchId, dueAt],
      );
    }
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
      vendors: new VendorPool(database.db, vault),
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
      await sleep(100);
      expect(turnEnded).toBe(false);
    }
    smtp.held.shift()!();
    await turn;
    expect(await due()).toBe(2);
  });
});
