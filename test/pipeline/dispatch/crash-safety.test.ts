import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventLogEntry } from '../../../src/reporting/event-log.js';
import { EventAction } from '../../../src/timeline/event-numbers.js';
import type { Database } from '../../../src/storage/database.js';
import { openPglite } from '../../../src/storage/pglite-database.js';
import { openPostgres } from '../../../src/storage/postgres-database.js';
import { killStartedClis, parseJsonOutput, runCli, startServing } from '../../support/cli.js';
import { createPostgresDatabase, databaseKinds } from '../../support/databases.js';
import { loopbackSmtpSettings } from '../../support/delivery.js';
import { TEST_VAULT_KEYS } from '../../support/herald.js';
import { apiRequest, type MultiStatus } from '../../support/ingest.js';
import { startSmtpSink, type SmtpSink } from '../../support/smtp-sink.js';
import { makeTempDir, removeTempDirs } from '../../support/temp-dirs.js';
import { waitFor } from '../../support/wait.js';

const RECORDS = 300;
const BATCH_SIZE = 20;
/** The sink kills the server when this many recipients have been offered: mid-stream, never at an edge. */
const KILL_AT_RECIPIENT = 100;
/** Four CLI starts on an embedded database take a while on a busy machine. */
const TEST_TIMEOUT_MS = 240_000;

afterAll(async () => {
  await killStartedClis();
  removeTempDirs();
});

describe.each(databaseKinds())('crash safety of a CLI Herald on %s', (kind) => {
  let sink: SmtpSink;
  let dataDir: string;
  let databaseUrl: string | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    sink = await startSmtpSink();
    dataDir = makeTempDir();
    databaseUrl = kind === 'postgres' ? await createPostgresDatabase() : undefined;
    env = {
      HERALD_VAULT_KEYS: TEST_VAULT_KEYS,
      HERALD_TOKEN_FLUSH_MS: '0',
      HERALD_SEND_CLAIM_TIMEOUT_MS: '2000',
      HERALD_DELIVERY_BATCH_SIZE: String(BATCH_SIZE),
      HERALD_DELIVERY_POLL_MS: '50',
      HERALD_WORKER_POLL_MS: '100',
      ...(databaseUrl && { DATABASE_URL: databaseUrl }),
    };
  });
  afterAll(async () => {
    await killStartedClis();
    await sink?.close();
  });

  /** Runs `work` on the installation's database while no Herald process runs on it. */
  async function inDatabase<T>(work: (database: Database) => Promise<T>): Promise<T> {
    const database = databaseUrl ? await openPostgres(databaseUrl, 2) : await openPglite(path.join(dataDir, 'pgdata'));
    try {
      return await work(database);
    } finally {
      await database.close();
    }
  }

  const serve = () => startServing(['serve', '--data-dir', dataDir, '--port', '0'], { env });

  it(
    'after kill -9 mid-delivery and a restart, every invitation is sent; only messages in flight go twice',
    async () => {
      // The account and its first key, with the admin commands.
      const storage = ['--data-dir', dataDir];
      parseJsonOutput(await runCli(['account', 'create', '--slug', 'crash', '--name', 'Crash', ...storage], { env }));
      const { key } = parseJsonOutput<{ key: string }>(
        await runCli(['api-key', 'create', '--account', 'crash', '--name', 'admin', '--role', 'admin', ...storage], {
          env,
        }),
      );

      const first = await serve();
      const call = async <T>(url: string, path: string, json?: unknown, method = json ? 'POST' : 'GET') => {
        const answer = await apiRequest<T>(url, path, { method, token: key, json });
        expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
        return answer.body;
      };
      const created = async (path: string, json: unknown) => (await call<{ id: string }>(first.url, path, json)).id;

      // The platform, through the API.
      const questionnaireId = await created('/api/questionnaires', {
        name: 'Crash',
        surveyUrl: 'https://survey.test/s',
      });
      const uuidQuestion = await created(`/api/questionnaires/${questionnaireId}/questions`, { text: 'Customer id' });
      const emailQuestion = await created(`/api/questionnaires/${questionnaireId}/questions`, {
        text: 'Email',
        tags: ['Email'],
        pii: 'hash',
      });
      const policyId = await created('/api/delivery-policies', {
        name: 'Now',
        channels: ['email'],
        uuidQuestionId: uuidQuestion,
      });
      const vendorId = await created('/api/vendors', {
        name: 'Sink',
        kind: 'smtp',
        settings: loopbackSmtpSettings(sink.port),
      });
      const dispatchId = await created('/api/dispatches', {
        name: 'Crash',
        questionnaireId,
        deliveryPolicyId: policyId,
        channelVendors: { email: vendorId },
      });

      // kill -9 from inside the SMTP conversation: some mail is in, most is not, a batch is in flight.
      let offered = 0;
      sink.rule = () => {
        offered += 1;
        if (offered === KILL_AT_RECIPIENT) first.cli.signal('SIGKILL');
        return undefined;
      };
      const addresses = Array.from({ length: RECORDS }, (_, i) => `customer-${i}@crash-${kind}.test`);
      const request = await call<MultiStatus>(first.url, '/api/dispatchRequest', [
        {
          dispatchID: dispatchId,
          preFill: addresses.map((address, i) => [
            { questionId: uuidQuestion, input: `cust-${i}` },
            { questionId: emailQuestion, input: address },
          ]),
        },
      ]);
      expect(request.statusByDispatch[0]).toMatchObject({ dispatchStatus: 202 });

      const exit = await first.cli.waitForExit(60_000);
      expect(exit.signal).toBe('SIGKILL');
      const beforeKill = sink.messages.length;
      expect(beforeKill).toBeGreaterThan(0);
      expect(beforeKill).toBeLessThan(KILL_AT_RECIPIENT);
      sink.rule = () => undefined;
      // What the killed process left: a claimed batch it never finished, and the rest waiting.
      const left = await inDatabase((database) =>
        database.sql.query<{ status: string; count: string }>(
          `SELECT status, count(*) AS count FROM messages WHERE dispatch_id = $1 GROUP BY status`,
          [dispatchId],
        ),
      );
      const leftBy = Object.fromEntries(left.map((r) => [r.status, Number(r.count)]));
      const inFlight = leftBy.sending ?? 0;
      expect(inFlight).toBeGreaterThan(0);
      expect(inFlight).toBeLessThanOrEqual(BATCH_SIZE);
      expect((leftBy.sent ?? 0) + inFlight + (leftBy.scheduled ?? 0)).toBe(RECORDS);
      // Everything recorded as sent reached the sink; whatever else reached it was in flight.
      expect(beforeKill - (leftBy.sent ?? 0)).toBeGreaterThanOrEqual(0);
      expect(beforeKill - (leftBy.sent ?? 0)).toBeLessThanOrEqual(inFlight);

      const second = await serve();
      const received = () => new Set(sink.messages.map((m) => m.to));
      await waitFor(() => received().size === RECORDS, 120_000, {
        description: `mail to all ${RECORDS} addresses (have ${received().size})`,
      });
      // Every invitation's outcome is recorded: the re-sent messages too.
      await waitFor(
        async () => {
          const answer = await call<EventLogEntry[]>(second.url, '/api/EventLog', {
            DispatchId: dispatchId,
            PageSize: 1000,
          });
          // The invitations; the dispatch's log entries follow them.
          const log = answer.filter((entry) => entry.tags[0] === 'UserData');
          return (
            log.length === RECORDS &&
            log.every((entry) => entry.events.some((e) => e.action === EventAction.DispatchSuccessful))
          );
        },
        60_000,
        { description: 'a DispatchSuccessful event for every invitation' },
      );
      second.cli.signal('SIGTERM');
      expect(await second.cli.waitForExit(60_000), second.cli.output).toEqual({ code: 0, signal: null });

      expect([...received()].sort()).toEqual([...addresses].sort());
      const duplicates = sink.messages.length - RECORDS;
      expect(duplicates, `${duplicates} duplicates`).toBeLessThanOrEqual(inFlight);
      const perAddress = new Map<string, number>();
      for (const m of sink.messages) perAddress.set(m.to, (perAddress.get(m.to) ?? 0) + 1);
      expect(Math.max(...perAddress.values())).toBeLessThanOrEqual(2);

      // The database, now that no process owns it.
      const rows = await inDatabase((database) =>
        database.sql.query<{ state: string; status: string | null; messages: string }>(
          `SELECT i.state, m.status, count(*) OVER (PARTITION BY i.id) AS messages
         FROM invitations i LEFT JOIN messages m ON m.invitation_id = i.id WHERE i.dispatch_id = $1`,
          [dispatchId],
        ),
      );
      expect(rows).toHaveLength(RECORDS);
      const tally = (values: (string | null)[]) =>
        values.reduce<Record<string, number>>((t, v) => ({ ...t, [String(v)]: (t[String(v)] ?? 0) + 1 }), {});
      expect(tally(rows.map((r) => r.state))).toEqual({ token_created: RECORDS });
      expect(tally(rows.map((r) => r.status))).toEqual({ sent: RECORDS });
      expect(rows.every((r) => Number(r.messages) === 1)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
