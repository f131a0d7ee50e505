import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OutgoingMessage } from '../../src/vendors/vendor.js';

/** One request the fake vendor received, as it arrived. */
export interface Received {
  method: string;
  /** Path and query string. */
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** performance.now() when the request ended. */
  at: number;
}

/** What the fake answers: a status with a body (an object is sent as JSON), or nothing ever ('hang'). */
export type Reply = { status: number; headers?: Record<string, string>; body?: unknown } | 'hang';

export interface FakeVendorServer {
  /** http://127.0.0.1:port */
  readonly url: string;
  readonly received: Received[];
  /** Decides the answer to each request from now on. */
  answer(handler: (request: Received) => Reply): void;
  close(): Promise<void>;
}

/**
 * An HTTP server on loopback that speaks whatever the test tells it to: each test states a vendor's
 * documented answer, and reads back exactly what Herald sent.
 */
export async function startFakeVendorServer(
  handler: (request: Received) => Reply = () => ({ status: 500 }),
): Promise<FakeVendorServer> {
  let current = handler;
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      };
      received.push(request);
      const reply = current(request);
      if (reply === 'hang') return;
      const body =
        reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, {
        ...(typeof reply.body === 'object' && { 'content-type': 'application/json' }),
        ...reply.headers,
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answer(next) {
      current = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A message as the dispatcher hands it to a vendor. */
export function outgoing(overrides: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return {
    id: '6f1c2a4e-0b7d-4c1e-9a55-2d3b8e9f0a11',
    to: '+447700900123',
    text: 'Please tell us about your visit: https://herald.test/s/tok123 Opt out: https://herald.test/u/tok123',
    headers: {},
    links: { survey: 'https://herald.test/s/tok123', unsubscribe: 'https://herald.test/u/tok123' },
    ...overrides,
  };
}
