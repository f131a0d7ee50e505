import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from './context.js';
import { withBenchHerald } from './bench-herald.js';
import { repoRoot } from './processes.js';
import { dispatchBody, postDispatchRequest } from './seed.js';

export interface EventsResult {
  /** Events delivered per second to a local webhook receiver; null when Herald cannot deliver events. */
  perSecond: number | null;
  invitations: number;
  /** Webhook requests the receiver answered 2xx. */
  events: number;
  ms: number | null;
  note: string;
}

const notAvailable = (invitations: number, note: string): EventsResult => ({
  perSecond: null,
  invitations,
  events: 0,
  ms: null,
  note,
});

/** How long the receiver must hear nothing before the run counts as drained. */
const QUIET_MS = 3000;

/**
 * Events delivered per second to a local webhook receiver (node:http on loopback, answering 204 at
 * once). A fresh `herald serve` with one webhook subscription for every event type; `invitations`
 * records in one request. The clock runs from the request to the last event received, once the
 * sink has every email and the receiver has heard nothing for 3 s.
 */
export async function benchEvents(ctx: BenchContext, invitations: number, timeoutMs: number): Promise<EventsResult> {
  if (!fs.existsSync(path.join(repoRoot, 'src', 'pipeline', 'events-out')))
    return notAvailable(invitations, 'not available: Herald does not deliver events yet (no src/pipeline/events-out/)');

  let received = 0;
  let lastAt = 0;
  const receiver = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received += 1;
      lastAt = performance.now();
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverPort = (receiver.address() as AddressInfo).port;
  try {
    return await withBenchHerald(ctx, 'events', 'serve', async ({ key, herald, platform }) => {
      const subscribed = await fetch(`${herald.url}/api/webhooks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `http://127.0.0.1:${receiverPort}/events`, description: 'benchmark receiver' }),
      });
      if (subscribed.status !== 201)
        return notAvailable(
          invitations,
          `not available: POST /api/webhooks answered ${subscribed.status}: ${(await subscribed.text()).slice(0, 200)}`,
        );
      const body = dispatchBody(platform, 0, invitations);
      const before = await ctx.sink.count();
      const started = performance.now();
      await postDispatchRequest(herald.url, key, body);
      const mail = await ctx.sink.waitFor(before.count + invitations, timeoutMs);
      // Then until the receiver has been quiet for a while (events trail the messages they describe).
      while (performance.now() - started < timeoutMs && performance.now() - Math.max(lastAt, started) < QUIET_MS)
        await sleep(250);
      const ms = lastAt - started;
      const complete = mail.reached && performance.now() - started < timeoutMs;
      return {
        perSecond: received > 0 ? (received / ms) * 1000 : 0,
        invitations,
        events: received,
        ms,
        note: `${received} events for ${invitations} invitations${complete ? '' : ' (time limit reached before the run drained)'}`,
      };
    });
  } finally {
    receiver.close();
  }
}
