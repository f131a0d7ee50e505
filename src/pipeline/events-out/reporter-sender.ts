import { setMaxListeners } from 'node:events';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config/config.js';
import { writeLogEntries } from '../../log/log-writer.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Vault } from '../../privacy/vault.js';
import type { Database } from '../../storage/database.js';
import { openAuthHeader, type ReporterFormat } from './campaign-reporter-settings.js';
import { postJson, type PostResult } from './http-post.js';
import { PollingLoop } from './polling-loop.js';
import { reporterRequest } from './reporter-format.js';
import { nextAttemptAt } from './retry-schedule.js';

export interface ReporterSenderServices {
  readonly database: Database;
  readonly vault: Vault;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Documents one Elasticsearch bulk request carries at most. */
const BULK_DOCUMENTS = 100;

interface Head {
  id: number;
  account_id: string;
  attempts: number;
  created_at: Date | string;
}

interface Post {
  head: Head;
  ids: number[];
  format: ReporterFormat;
}

/**
 * Posts the campaign reporter's queue, in order per account: only an account's oldest pending post
 * is sent (with the ones after it, as one bulk, in the Elasticsearch format), and the next only
 * once it is delivered or given up. A failed post is retried with backoff until the retry horizon,
 * then marked dead with a Warning log entry. Accounts are served side by side.
 */
export class ReporterSender {
  readonly #loop: PollingLoop;
  readonly #aborting = new AbortController();
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(private readonly services: ReporterSenderServices) {
    // Every request in flight listens for the stop.
    setMaxListeners(0, this.#aborting.signal);
    this.#loop = new PollingLoop(
      'campaign reporter sender',
      () => this.tick(),
      services.config.eventsPollMs,
      services.logger,
    );
  }

  get running(): boolean {
    return this.#loop.running;
  }

  start(): void {
    this.#loop.start();
  }

  wake(): void {
    this.#loop.wake();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    this.#aborting.abort();
    await Promise.all(this.#inFlight.values());
  }

  async tick(): Promise<boolean> {
    const { database, clock, config } = this.services;
    const now = clock.now();
    // The claim is a lease: the head's next attempt moves past the longest a request can take, so
    // no other process takes it meanwhile; a process that dies leaves it to be retried after that.
    const lease = new Date(now.getTime() + config.webhookTimeoutMs + 60_000);
    const heads = await database.sql.query<Head>(
      `WITH heads AS (
         SELECT DISTINCT ON (account_id) id FROM reporter_posts WHERE status = 'pending' ORDER BY account_id, id)
       UPDATE reporter_posts p SET next_attempt_at = $2
       FROM heads WHERE p.id = heads.id AND p.status = 'pending' AND p.next_attempt_at <= $1
         AND NOT (p.account_id = ANY($3::uuid[]))
       RETURNING p.id, p.account_id, p.attempts, p.created_at`,
      [now.toISOString(), lease.toISOString(), [...this.#inFlight.keys()]],
    );
    for (const head of heads) {
      const done = this.#post({ ...head, id: Number(head.id) })
        .catch((error: unknown) => {
          this.services.logger.error({ err: error, accountId: head.account_id }, 'campaign reporter post failed');
        })
        .finally(() => {
          this.#inFlight.delete(head.account_id);
          this.#loop.wake();
        });
      this.#inFlight.set(head.account_id, done);
    }
    return false;
  }

  async #post(head: Head): Promise<void> {
    const { database, vault, config } = this.services;
    const [reporter] = await database.sql.query<{
      uri: string;
      auth_header: Uint8Array | null;
      auth_header_key_id: string | null;
      format: ReporterFormat;
      index_name: string;
    }>(
      'SELECT uri, auth_header, auth_header_key_id, format, index_name FROM campaign_reporters WHERE account_id = $1',
      [head.account_id],
    );
    if (!reporter) {
      // The reporter was deleted after the post was queued: nothing to send it to.
      await database.sql.query(`DELETE FROM reporter_posts WHERE account_id = $1 AND status = 'pending'`, [
        head.account_id,
      ]);
      return;
    }
    const rows = await database.sql.query<{ id: string | number; body: Record<string, unknown> | string }>(
      `SELECT id, body FROM reporter_posts WHERE account_id = $1 AND status = 'pending' AND id >= $2 ORDER BY id LIMIT $3`,
      [head.account_id, head.id, reporter.format === 'elasticsearch' ? BULK_DOCUMENTS : 1],
    );
    const documents = rows.map(
      (r) => (typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as Record<string, unknown>,
    );
    const { contentType, body } = reporterRequest(reporter.format, reporter.index_name, documents);
    const auth = openAuthHeader(vault, head.account_id, {
      authHeader: reporter.auth_header,
      authHeaderKeyId: reporter.auth_header_key_id,
    });
    const result = await postJson(
      reporter.uri,
      body,
      auth ? { authorization: auth } : {},
      config.webhookTimeoutMs,
      this.#aborting.signal,
      config.egress,
      contentType,
    );
    await this.#record({ head, ids: rows.map((r) => Number(r.id)), format: reporter.format }, result);
  }

  async #record(post: Post, result: PostResult): Promise<void> {
    const { database, clock, config, logger, metrics } = this.services;
    const now = clock.now();
    const { head } = post;
    if (result.kind === 'aborted') {
      await database.sql.query('UPDATE reporter_posts SET next_attempt_at = $2 WHERE id = $1', [
        head.id,
        now.toISOString(),
      ]);
      return;
    }
    if (result.kind === 'answered' && result.status >= 200 && result.status < 300) {
      await database.sql.query(
        `UPDATE reporter_posts SET status = 'delivered', attempts = attempts + 1
         WHERE id = ANY($1::bigint[]) AND status = 'pending'`,
        [post.ids.map(String)],
      );
      metrics.jobOutcomes.inc({ job: 'campaign-reporter', outcome: 'delivered' }, post.ids.length);
      return;
    }
    const error = result.kind === 'answered' ? `HTTP ${result.status}` : result.error;
    const next = nextAttemptAt(
      now,
      new Date(head.created_at),
      head.attempts + 1,
      config.reporterRetryBaseMs,
      config.reporterRetryHorizonSeconds * 1000,
    );
    await database.transaction(async ({ sql }) => {
      await sql.query(
        `UPDATE reporter_posts SET status = $2, attempts = attempts + 1, last_error = $3,
           next_attempt_at = COALESCE($4, next_attempt_at) WHERE id = $1`,
        [head.id, next ? 'pending' : 'dead', error, next?.toISOString() ?? null],
      );
      if (!next) {
        await writeLogEntries(sql, [
          {
            accountId: head.account_id,
            tag: 'Account',
            level: 'Warning',
            message:
              `A campaign reporter post (${head.id}) was given up after ${head.attempts + 1} attempts: ${error}. ` +
              'Check the reporter URI and authorization (GET /api/campaign-reporter).',
          },
        ]);
      }
    });
    metrics.jobOutcomes.inc({ job: 'campaign-reporter', outcome: next ? 'retry' : 'dead' });
    if (!next) logger.warn({ accountId: head.account_id, postId: head.id }, 'campaign reporter post dead-lettered');
  }
}
