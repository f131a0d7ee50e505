import type { Database, SqlExecutor } from '../../storage/database.js';
import {
  changesOf,
  dispatchActivity,
  dispatchStatistics,
  ratesOf,
  type DispatchActivity,
  type DispatchChange,
} from './campaign-statistics.js';

/** A document the reporter posts (one JSON body, or one document of an Elasticsearch bulk). */
export type ReporterDocument = StateDocument | StatisticsDocument;

/**
 * A dispatch changed state.
 *
 * @example { "@timestamp": "2024-06-10T09:00:10.000Z", "type": "state", "accountSlug": "acme",
 *   "dispatchId": "…", "dispatchName": "Spring survey", "change": "paused", "state": "paused", "previousState": "sending" }
 */
export interface StateDocument {
  '@timestamp': string;
  type: 'state';
  accountSlug: string;
  dispatchId: string;
  dispatchName: string;
  change: DispatchChange;
  state: string;
  previousState: string | null;
}

/** Periodic statistics of an active dispatch: counts of invitations and each as a rate of `requested`. */
export interface StatisticsDocument {
  '@timestamp': string;
  type: 'statistics';
  accountSlug: string;
  dispatchId: string;
  dispatchName: string;
  state: string;
  intervalSeconds: number;
  statistics: Record<string, number>;
  rates: Record<string, number>;
}

/** How many reporters one tick serves at most; the rest are due on the next. */
const REPORTERS_PER_TICK = 50;

/**
 * Serves every campaign reporter whose interval has elapsed: in one transaction per reporter,
 * notices dispatch state changes (comparing with dispatch_states), computes the statistics of each
 * active dispatch (sending, or changed just now), queues the posts and remembers the states. A
 * reporter row locked by another process is skipped. Returns how many posts it queued.
 */
export async function reportDueCampaigns(database: Database, now: Date): Promise<number> {
  const due = await database.sql.query<{ account_id: string }>(
    `SELECT account_id FROM campaign_reporters
     WHERE enabled AND (last_report_at IS NULL OR last_report_at <= $1::timestamptz - interval_seconds * interval '1 second')
     ORDER BY last_report_at NULLS FIRST LIMIT $2`,
    [now.toISOString(), REPORTERS_PER_TICK],
  );
  let queued = 0;
  for (const { account_id } of due) {
    queued += await database.transaction((tx) => reportOne(tx.sql, account_id, now));
  }
  return queued;
}

async function reportOne(sql: SqlExecutor, accountId: string, now: Date): Promise<number> {
  // Re-checked under the row lock: another process may have just served it.
  const [reporter] = await sql.query<{ interval_seconds: number; slug: string }>(
    `SELECT r.interval_seconds, a.slug FROM campaign_reporters r JOIN accounts a ON a.id = r.account_id
     WHERE r.account_id = $1 AND r.enabled
       AND (r.last_report_at IS NULL OR r.last_report_at <= $2::timestamptz - r.interval_seconds * interval '1 second')
     FOR UPDATE OF r SKIP LOCKED`,
    [accountId, now.toISOString()],
  );
  if (!reporter) return 0;
  const at = now.toISOString();
  const activity = await dispatchActivity(sql, accountId, now);
  const documents: { kind: 'state' | 'statistics'; body: StateDocument | StatisticsDocument }[] = [];
  const changed: DispatchActivity[] = [];
  for (const d of activity) {
    const changes = changesOf(d.previous, d.state);
    if (changes.length > 0) changed.push(d);
    for (const change of changes) {
      documents.push({
        kind: 'state',
        body: {
          '@timestamp': at,
          type: 'state',
          accountSlug: reporter.slug,
          dispatchId: d.id,
          dispatchName: d.name,
          change,
          state: d.state,
          previousState: d.previous,
        },
      });
    }
  }
  const active = activity.filter((d) => d.state === 'sending' || changed.includes(d));
  const statistics = await dispatchStatistics(
    sql,
    active.map((d) => d.id),
  );
  for (const d of active) {
    const counts = statistics.get(d.id);
    if (!counts) continue;
    documents.push({
      kind: 'statistics',
      body: {
        '@timestamp': at,
        type: 'statistics',
        accountSlug: reporter.slug,
        dispatchId: d.id,
        dispatchName: d.name,
        state: d.state,
        intervalSeconds: reporter.interval_seconds,
        statistics: { ...counts },
        rates: ratesOf(counts),
      },
    });
  }
  if (documents.length > 0) {
    await sql.query(
      `INSERT INTO reporter_posts (account_id, kind, body, next_attempt_at, created_at)
       SELECT $1, x.kind, x.body::jsonb, $2, $2 FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS x(kind, body, n)
       ORDER BY x.n`,
      [accountId, at, documents.map((d) => d.kind), documents.map((d) => JSON.stringify(d.body))],
    );
  }
  if (changed.length > 0) {
    await sql.query(
      `INSERT INTO dispatch_states (dispatch_id, account_id, state, changed_at)
       SELECT x.dispatch_id, $1, x.state, $2 FROM unnest($3::uuid[], $4::text[]) AS x(dispatch_id, state)
       ON CONFLICT (dispatch_id) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at`,
      [accountId, at, changed.map((d) => d.id), changed.map((d) => d.state)],
    );
  }
  await sql.query('UPDATE campaign_reporters SET last_report_at = $2 WHERE account_id = $1', [accountId, at]);
  return documents.length;
}
