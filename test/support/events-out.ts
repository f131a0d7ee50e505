import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { DatabaseKind } from './databases.js';
import { startTestHerald, type TestHerald } from './herald.js';
import { postDispatchRequest, recordOf } from './ingest.js';
import { apiClient } from './api-client.js';
import type { SeededDispatch } from './platform.js';

/** Small numbers so retries, horizons and polls happen in test time. */
export const FAST_EVENTS_ENV: Record<string, string> = {
  HERALD_TOKEN_FLUSH_MS: '0',
  HERALD_EVENTS_POLL_MS: '20',
  HERALD_WEBHOOK_RETRY_BASE_MS: '50',
  HERALD_REPORTER_TICK_MS: '100',
  HERALD_REPORTER_RETRY_BASE_MS: '50',
  // The seeded SMTP vendor points at a closed port: its retries stay out of the tests' way.
  HERALD_SEND_RETRY_BASE_MS: '600000',
};

export function startEventsHerald(kind: DatabaseKind, env: Record<string, string> = {}): Promise<TestHerald> {
  return startTestHerald(kind, { env: { ...FAST_EVENTS_ENV, ...env } });
}

export interface SubscriptionBody {
  id: string;
  url: string;
  eventTypes: string[];
  dispatchIds: string[];
  includePii: boolean;
  status: 'active' | 'disabled';
  disabledReason: string | null;
  failingSince: string | null;
  previousSecretExpiresAt: string | null;
}

export interface DeliveryBody {
  id: number;
  eventId: string;
  eventSubType: string;
  invitationId: string | null;
  status: 'pending' | 'delivered' | 'dead';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  attemptLog: { attemptedAt: string; statusCode: number | null; latencyMs: number | null; error: string | null }[];
}

/** POST /api/webhooks, expecting 201: the subscription and its secret. */
export async function subscribe(
  herald: TestHerald,
  token: string,
  body: Record<string, unknown>,
): Promise<{ subscription: SubscriptionBody; secret: string }> {
  const answer = await apiClient(herald, token).post<{ subscription: SubscriptionBody; secret: string }>(
    '/api/webhooks',
    body,
  );
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body;
}

/** Posts one record per UUID (with an email address of the UUID) to a seeded dispatch; returns the batch id. */
export async function requestInvitations(
  herald: TestHerald,
  token: string,
  seeded: SeededDispatch,
  uuids: readonly string[],
): Promise<string> {
  const answer = await postDispatchRequest(herald, token, {
    json: [
      {
        dispatchID: seeded.dispatchId,
        preFill: uuids.map((uuid) => recordOf(seeded, { uuid, email: `${uuid}@example.com`, name: `Name ${uuid}` })),
      },
    ],
  });
  expect(answer.status).toBe(207);
  return answer.body.batchId;
}

/** The deliveries of a subscription (its delivery log), newest first. */
export async function deliveryLog(
  herald: TestHerald,
  token: string,
  subscriptionId: string,
  query = '',
): Promise<DeliveryBody[]> {
  const answer = await apiClient(herald, token).get<DeliveryBody[]>(
    `/api/webhooks/${subscriptionId}/deliveries?limit=500${query}`,
  );
  expect(answer.status).toBe(200);
  return answer.body;
}

/** The actions of each invitation's timeline, oldest first, as event sub-type names are numbered. */
export async function timelines(herald: TestHerald, invitationIds: readonly string[]): Promise<Map<string, number[]>> {
  const rows = await herald.database.sql.query<{ invitation_id: string; action: number }>(
    `SELECT invitation_id, action FROM invitation_events WHERE invitation_id = ANY($1::uuid[]) ORDER BY id`,
    [[...invitationIds]],
  );
  const map = new Map<string, number[]>();
  for (const r of rows) map.set(r.invitation_id, [...(map.get(r.invitation_id) ?? []), Number(r.action)]);
  return map;
}

/** One POST a plain loopback endpoint received. */
export interface RecordedPost {
  contentType: string;
  authorization: string | undefined;
  body: string;
  status: number;
}

/** A loopback HTTP endpoint that keeps every POST and answers what `respond` says (default 200). */
export async function startRecorder(
  respond: (post: Omit<RecordedPost, 'status'>, index: number) => number = () => 200,
) {
  const posts: RecordedPost[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const post = {
        contentType: String(request.headers['content-type']),
        authorization: request.headers.authorization,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const status = respond(post, posts.length);
      posts.push({ ...post, status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/report`,
    posts,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
