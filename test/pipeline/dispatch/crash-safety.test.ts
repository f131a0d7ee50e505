import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventLogEntry } from '../../../src/reporting/event-log.js';
import { EventAction } from '../../../src/timeline/event-numbers.js';
import type { Database } from '../../../src/storage/database.js';
import { killStartedClis } from '../../support/cli.js';
import {
  createAccountWithKey,
  createCliInstallation,
  inInstallationDatabase,
  serveInstallation,
  type CliInstallation,
} from '../../support/cli-installation.js';
import { databaseKinds } from '../../support/databases.js';
import { loopbackSmtpSettings } from '../../support/delivery.js';
import type { MultiStatus } from '../../support/ingest.js';
import { apiRequest } from '../../support/api-client.js';
import { startSmtpSink, type SmtpSink } from '../../support/smtp-sink.js';
import { removeTempDirs } from '../../support/temp-dirs.js';
import { waitFor } from '../../support/wait.js';

const RECORDS = 2_000;
/** The sink kills the server when this many recipients have been offered: mid-stream, never at an edge. */
const KILL_AT_RECIPIENT = 150;
/** HERALD_SEND_WINDOW's default: sent and not recorded, at most — all a kill may send twice. */
const DEFAULT_SEND_WINDOW = 100;
/** Four CLI starts on an embedded database take a while on a busy machine. */
const TEST_TIMEOUT_MS = 300_000;

afterAll(async () => {
  await killStartedClis();
  removeTempDirs();
});

describe.each(databaseKinds())('crash safety of a CLI Herald on %s', (kind) => {
  let sink: SmtpSink;
  let installation: CliInstallation;

  beforeAll(async () => {
    sink = await startSmtpSink();
    installation = await createCliInstallation(kind, {
      HERALD_TOKEN_FLUSH_MS: '0',
      // Delivery with its default claim size and send window; only the restart is made quicker.
      HERALD_SEND_CLAIM_TIMEOUT_MS: '2000',
    });
  });

  const inDatabase = <T>(work: (database: Database) => Promise<T>) => inInstallationDatabase(installation, work);
  const serve = () => serveInstallation(installation);

  it(
    'after kill -9 mid-delivery (≥ 100 accepted) and a restart, every invitation is sent; at most a send window goes twice',
    async () => {
      // The account and its first key, with the admin commands.
      const key = await createAccountWithKey(installation, 'crash');

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
      expect(beforeKill).toBeGreaterThanOrEqual(100);
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
      const claimed = leftBy.sending ?? 0;
      expect(claimed).toBeGreaterThan(0);
      expect((leftBy.sent ?? 0) + claimed + (leftBy.scheduled ?? 0)).toBe(RECORDS);
      // Everything recorded as sent reached the sink; of the claimed ones, only a send window's
      // worth reached it without its outcome being recorded, whatever the claim size (400). On the
      // embedded database an outcome is recorded in the journal first, the database shortly after.
      const journal = path.join(installation.dataDir, 'delivery-outcomes.journal');
      const journaled = fs.existsSync(journal)
        ? fs.readFileSync(journal, 'utf8').split('\n').filter(Boolean).length
        : 0;
      const sentNotRecorded = beforeKill - (leftBy.sent ?? 0);
      expect(sentNotRecorded).toBeGreaterThanOrEqual(0);
      expect(
        sentNotRecorded - journaled,
        `${sentNotRecorded} sent and not committed, ${journaled} journaled`,
      ).toBeLessThanOrEqual(DEFAULT_SEND_WINDOW);

      const second = await serve();
      const received = () => new Set(sink.messages.map((m) => m.to));
      await waitFor(() => received().size === RECORDS, 120_000, {
        description: `mail to all ${RECORDS} addresses (have ${received().size})`,
      });
      // Every invitation's outcome is recorded: the re-sent messages too.
      await waitFor(
        async () => {
          const pages = await Promise.all(
            [1, 2, 3].map((Page) =>
              call<EventLogEntry[]>(second.url, '/api/EventLog', { DispatchId: dispatchId, Page, PageSize: 1000 }),
            ),
          );
          // The invitations; the dispatch's log entries follow them.
          const log = pages.flat().filter((entry) => entry.tags[0] === 'UserData');
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
      expect(duplicates, `${duplicates} duplicates`).toBeLessThanOrEqual(sentNotRecorded);
      expect(duplicates).toBeLessThanOrEqual(DEFAULT_SEND_WINDOW);
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
