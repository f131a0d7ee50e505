import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../../src/config/config.js';
import { startHerald, type RunningHerald } from '../../../src/herald.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { claimBulkBatches } from '../../../src/pipeline/dispatch/bulk-batches.js';
import { BulkFlusher } from '../../../src/pipeline/dispatch/bulk-flusher.js';
import { DeliveryWorker, type DeliveryServices } from '../../../src/pipeline/dispatch/delivery-worker.js';
import { VendorPool } from '../../../src/pipeline/dispatch/vendor-pool.js';
import { StandalonePlatform } from '../../../src/platforms/standalone/standalone-platform.js';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import { requestRecords } from '../../support/delivery.js';
import { startTestHerald, TEST_VAULT_KEYS, type TestHerald } from '../../support/herald.js';
import {
  addressOf,
  batchRows,
  emailRecords,
  expectEachReceivedOnce,
  seedSparkPostDispatch,
  waitForMessages,
} from '../../support/bulk.js';
import { startFakeSparkPost, type FakeSparkPost } from '../../support/fake-sparkpost.js';
import { LOOPBACK_EGRESS_ENV, loopbackEgress } from '../../support/egress.js';

const BATCH_SIZE = 7;
const RECORDS = 60;
const env = {
  HERALD_TOKEN_FLUSH_MS: '0',
  HERALD_DELIVERY_POLL_MS: '10',
  // Small delivery batches: the delivery workers fill the same open batches turn by turn.
  HERALD_DELIVERY_BATCH_SIZE: '4',
  HERALD_BULK_BATCH_SIZE: String(BATCH_SIZE),
  HERALD_BULK_FLUSH_MS: '100',
};

describe.each(databaseKinds())('several workers sending bulk batches on %s', (kind) => {
  let herald: TestHerald;
  let second: RunningHerald | undefined;
  let fake: FakeSparkPost;
  const extra: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    fake = await startFakeSparkPost();
    herald = await startTestHerald(kind, { env });
    const config: Config = loadConfig({ ...env, HERALD_VAULT_KEYS: TEST_VAULT_KEYS, HERALD_LOG_LEVEL: 'silent' });
    const services = (): DeliveryServices => ({
      database: herald.database,
      platform: new StandalonePlatform(herald.database.db),
      vault: herald.vault,
      publicUrl: herald.url,
      config,
      clock: { now: () => new Date() },
      logger: createLogger('silent'),
      metrics: createMetrics(),
      vendors: new VendorPool(herald.database.db, herald.vault, loopbackEgress),
    });
    // In this process: three more flushers and one more delivery worker over the same database.
    for (const worker of [
      new BulkFlusher(services()),
      new BulkFlusher(services()),
      new BulkFlusher(services()),
      new DeliveryWorker(services()),
    ]) {
      worker.start();
      extra.push(worker);
    }
    // On PostgreSQL, a second Herald too: other connections, another process's worth of workers.
    if (herald.test.url) {
      second = await startHerald(
        loadConfig({
          ...LOOPBACK_EGRESS_ENV,
          ...env,
          HERALD_VAULT_KEYS: TEST_VAULT_KEYS,
          HERALD_LOG_LEVEL: 'silent',
          DATABASE_URL: herald.test.url,
          HERALD_PORT: '0',
          HERALD_PUBLIC_URL: herald.url,
        }),
        { api: false, workers: true },
        'test',
      );
    }
  });
  afterAll(async () => {
    await Promise.all(extra.map((w) => w.stop()));
    await second?.stop();
    await herald?.stop();
    await fake?.close();
  });

  it('claims each ready batch once, however many flushers race for it', async () => {
    const { account } = await seedAccount(herald.database);
    const vendorId = '00000000-0000-4000-8000-00000000b0b0';
    const count = 20;
    // Ready batches of a vendor no message uses, claimed with the flushers' own query.
    await herald.database.sql.query(
      `INSERT INTO bulk_batches (account_id, vendor_id, status, message_count, created_at)
       SELECT $1, $2, 'open', $3, now() - interval '1 hour' FROM generate_series(1, $4)`,
      [account.id, vendorId, BATCH_SIZE, count],
    );
    // The running flushers race these calls for them.
    const claims = await Promise.all(
      Array.from({ length: 3 * count }, () =>
        claimBulkBatches(herald.database.sql, new Date(), {
          batchSize: BATCH_SIZE,
          flushMs: 100,
          claimTimeoutMs: 300_000,
          limit: 1,
        }),
      ),
    );
    const ours = claims.flat().filter((b) => b.vendor_id === vendorId);
    const batches = await batchRows(herald.database, vendorId);
    // Whoever claimed each (these calls or a flusher), every batch was claimed exactly once.
    expect(batches).toHaveLength(count);
    expect(batches.every((b) => b.attempts === 1)).toBe(true);
    expect(new Set(ours.map((b) => b.id)).size).toBe(ours.length);
  });

  it('sends every recipient exactly once across all transmissions', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedSparkPostDispatch(herald, account.id, fake);
    const { invitations } = await requestRecords(
      herald,
      account.id,
      apiKey,
      seeded.dispatchId,
      emailRecords(seeded, RECORDS, 'c'),
    );
    const messages = await waitForMessages(
      herald.database,
      invitations.map((i) => i.id),
      (m) => m.status === 'sent',
      `${RECORDS} messages sent`,
      60_000,
    );

    expect(fake.problems).toEqual([]);
    expectEachReceivedOnce(
      fake,
      invitations.map((_, i) => addressOf('c', i)),
    );
    const transmissions = fake.accepted();
    expect(transmissions.every((t) => t.body.recipients.length <= BATCH_SIZE)).toBe(true);
    expect(messages.every((m) => m.attempts === 1)).toBe(true);

    const batches = await batchRows(herald.database, seeded.vendorId);
    // No batch was claimed twice, each was sent as one transmission, and together they hold every message.
    expect(batches.every((b) => b.status === 'sent' && b.attempts === 1)).toBe(true);
    expect(batches.reduce((sum, b) => sum + b.message_count, 0)).toBe(RECORDS);
    expect(transmissions).toHaveLength(batches.filter((b) => b.message_count > 0).length);
  });
});
