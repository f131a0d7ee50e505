import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAccount } from '../../support/accounts.js';
import { databaseKinds } from '../../support/databases.js';
import type { TestHerald } from '../../support/herald.js';
import { postDispatchRequest, recordOf } from '../../support/ingest.js';
import { seedDispatch, type SeededDispatch } from '../../support/platform.js';
import { waitFor } from '../../support/wait.js';
import { startEventsHerald, startRecorder, type RecordedPost } from '../../support/events-out.js';
import { apiClient } from '../../support/api-client.js';

interface ReporterDoc {
  '@timestamp': string;
  type: 'state' | 'statistics';
  accountSlug: string;
  dispatchId: string;
  dispatchName: string;
  state: string;
  change?: string;
  previousState?: string | null;
  intervalSeconds?: number;
  statistics?: Record<string, number>;
  rates?: Record<string, number>;
}

const STATISTICS = [
  'requested',
  'rejected',
  'throttled',
  'suppressed',
  'tokensCreated',
  'scheduled',
  'sent',
  'delivered',
  'read',
  'bounced',
  'failed',
  'answered',
  'completed',
];

/** Three good records and one with an unusable email address. */
async function requestFour(herald: TestHerald, token: string, seeded: SeededDispatch, prefix: string) {
  const answer = await postDispatchRequest(herald, token, {
    json: [
      {
        dispatchID: seeded.dispatchId,
        preFill: [
          recordOf(seeded, { uuid: `${prefix}-1`, email: `${prefix}-1@example.com` }),
          recordOf(seeded, { uuid: `${prefix}-2`, email: `${prefix}-2@example.com` }),
          recordOf(seeded, { uuid: `${prefix}-3`, email: `${prefix}-3@example.com` }),
          recordOf(seeded, { uuid: `${prefix}-4`, email: 'not-an-address' }),
        ],
      },
    ],
  });
  expect(answer.status).toBe(207);
}

/** The state changes of one dispatch among some documents, in order. */
const changesOf = (docs: readonly ReporterDoc[], dispatchId: string) =>
  docs.filter((d) => d.type === 'state' && d.dispatchId === dispatchId).map((d) => d.change);

/** Every pair of an Elasticsearch bulk body, parsed (throws on a line that is not JSON). */
function bulkPairs(body: string): { action: unknown; doc: ReporterDoc }[] {
  expect(body.endsWith('\n')).toBe(true);
  const lines = body.slice(0, -1).split('\n');
  expect(lines.length % 2).toBe(0);
  const pairs: { action: unknown; doc: ReporterDoc }[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    pairs.push({ action: JSON.parse(lines[i]!), doc: JSON.parse(lines[i + 1]!) as ReporterDoc });
  }
  return pairs;
}

describe.each(databaseKinds())('the campaign reporter on %s', (kind) => {
  let herald: TestHerald;
  const recorders: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    // Tokens wait 3 s to be grouped, so a report at a 1 s interval sees the dispatch sending.
    herald = await startEventsHerald(kind, { HERALD_TOKEN_FLUSH_MS: '3000' });
  });
  afterAll(async () => {
    await Promise.all(recorders.map((r) => r.close()));
    await herald?.stop();
  });

  it('posts state changes and statistics as JSON, retrying failed posts in order', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const api = apiClient(herald, apiKey);
    // The first two posts fail: the reporter retries rather than dropping them.
    const recorder = await startRecorder((_post, index) => (index < 2 ? 503 : 200));
    recorders.push(recorder);
    const put = await api.put<Record<string, unknown>>('/api/campaign-reporter', {
      uri: recorder.url,
      authHeader: 'Bearer reporter-secret',
      intervalSeconds: 1,
      format: 'json',
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ intervalSeconds: 1, format: 'json', authHeader: { set: true }, enabled: true });
    expect(JSON.stringify(put.body)).not.toContain('reporter-secret');

    const accepted = () => recorder.posts.filter((p) => p.status === 200).map((p) => JSON.parse(p.body) as ReporterDoc);
    await waitFor(() => changesOf(accepted(), seeded.dispatchId).length === 1, 10_000);
    expect(changesOf(accepted(), seeded.dispatchId)).toEqual(['live']);
    // The same document was posted until it was accepted.
    expect(recorder.posts.slice(0, 3).map((p) => p.status)).toEqual([503, 503, 200]);
    expect(new Set(recorder.posts.slice(0, 3).map((p) => p.body)).size).toBe(1);

    await requestFour(herald, apiKey, seeded, 'rep');
    // Done when the drained change and the statistics queued with it (one post each) are in.
    const docs = await waitFor(
      () => {
        const all = accepted();
        const change = all.find((d) => d.change === 'drained');
        return change && all.some((d) => d.type === 'statistics' && d['@timestamp'] === change['@timestamp']) && all;
      },
      20_000,
      { description: 'the dispatch reported sending, then drained, with its statistics' },
    );
    expect(changesOf(docs, seeded.dispatchId)).toEqual(['live', 'sending_started', 'drained']);
    const drained = docs.find((d) => d.change === 'drained')!;
    expect(drained).toMatchObject({
      type: 'state',
      accountSlug: account.slug,
      dispatchName: 'Dispatch',
      state: 'live',
      previousState: 'sending',
    });
    const periodic = docs.filter((d) => d.type === 'statistics');
    expect(periodic.some((d) => d.state === 'sending')).toBe(true);
    // The statistics posted with the drained change: every count, and each as a rate of requested.
    const final = periodic.find((d) => d['@timestamp'] === drained['@timestamp'])!;
    expect(Object.keys(final.statistics!).sort()).toEqual([...STATISTICS].sort());
    expect(final).toMatchObject({
      dispatchId: seeded.dispatchId,
      intervalSeconds: 1,
      statistics: { requested: 4, rejected: 1, throttled: 0, suppressed: 0, tokensCreated: 3, answered: 0 },
      rates: { rejected: 0.25, tokensCreated: 0.75, answered: 0 },
    });
    const { scheduled, sent, failed } = final.statistics!;
    expect(scheduled! + sent! + failed!).toBe(3);
    for (const post of recorder.posts) {
      expect(post.contentType).toBe('application/json');
      expect(post.authorization).toBe('Bearer reporter-secret');
    }

    // Pausing and resuming are reported too.
    expect((await api.post(`/api/dispatches/${seeded.dispatchId}/pause`)).status).toBe(200);
    await waitFor(() => changesOf(accepted(), seeded.dispatchId).includes('paused'), 10_000);
    expect((await api.post(`/api/dispatches/${seeded.dispatchId}/resume`)).status).toBe(200);
    await waitFor(() => changesOf(accepted(), seeded.dispatchId).includes('resumed'), 10_000);
    expect(changesOf(accepted(), seeded.dispatchId)).toEqual([
      'live',
      'sending_started',
      'drained',
      'paused',
      'resumed',
    ]);

    const status = await waitFor(async () => {
      const answer = await api.get<{ posts: { pending: number; dead: number; lastError: string | null } }>(
        '/api/campaign-reporter',
      );
      return answer.body.posts.pending === 0 && answer.body;
    });
    expect(status.posts).toEqual({ pending: 0, dead: 0, lastError: 'HTTP 503' });
    expect((await api.delete('/api/campaign-reporter')).status).toBe(204);
    expect((await api.get('/api/campaign-reporter')).status).toBe(404);
  });

  it('posts Elasticsearch bulk lines that parse, pair by pair', async () => {
    const { account, apiKey } = await seedAccount(herald.database);
    const seeded = await seedDispatch(herald.database, account.id);
    const recorder = await startRecorder();
    recorders.push(recorder);
    const put = await apiClient(herald, apiKey).put('/api/campaign-reporter', {
      uri: recorder.url,
      intervalSeconds: 1,
      format: 'elasticsearch',
      indexName: 'herald-test',
    });
    expect(put.status).toBe(200);
    await waitFor(() => recorder.posts.length > 0);
    await requestFour(herald, apiKey, seeded, 'es');

    const allDocs = () => recorder.posts.flatMap((p: RecordedPost) => bulkPairs(p.body).map((pair) => pair.doc));
    await waitFor(() => changesOf(allDocs(), seeded.dispatchId).includes('drained'), 20_000, {
      description: 'the dispatch reported drained',
    });
    for (const post of recorder.posts) {
      expect(post.contentType).toBe('application/x-ndjson');
      expect(post.authorization).toBeUndefined();
      for (const { action, doc } of bulkPairs(post.body)) {
        expect(action).toEqual({ index: { _index: 'herald-test' } });
        expect(['state', 'statistics']).toContain(doc.type);
        expect(doc).toMatchObject({ accountSlug: account.slug, dispatchId: seeded.dispatchId });
        expect(Date.parse(doc['@timestamp'])).not.toBeNaN();
      }
    }
    // A change and its statistics are queued together and go out as one bulk.
    expect(recorder.posts.some((p) => bulkPairs(p.body).length >= 2)).toBe(true);
    expect(changesOf(allDocs(), seeded.dispatchId)).toEqual(['live', 'sending_started', 'drained']);
  });
});
