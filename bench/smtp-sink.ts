/**
 * The benchmark's SMTP server, run as its own process so its CPU is not charged to the driver or
 * to Herald. It accepts every message on loopback, keeps nothing but a count and a byte total, and
 * answers on a loopback HTTP port:
 *
 *   GET /count                       → {"count", "bytes"}
 *   GET /wait?count=N&timeoutMs=T    → {"count", "bytes", "reached"} as soon as count ≥ N (or at T)
 *
 * On start it prints one line: {"smtpPort", "httpPort"}.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

let count = 0;
let bytes = 0;
const waiters = new Set<{ target: number; answer: (reached: boolean) => void }>();

function received(size: number): void {
  count += 1;
  bytes += size;
  for (const waiter of waiters) if (count >= waiter.target) waiter.answer(true);
}

const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  // Herald and the floor both keep 5 connections; leave room for a pool being replaced.
  maxClients: 50,
  onData(stream, _session, callback) {
    let size = 0;
    stream.on('data', (chunk: Buffer) => (size += chunk.length));
    stream.on('end', () => {
      received(size);
      callback();
    });
  },
});

const api = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const answer = (reached?: boolean) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ count, bytes, ...(reached !== undefined && { reached }) }));
  };
  if (url.pathname === '/count') return answer();
  if (url.pathname === '/wait') {
    const target = Number(url.searchParams.get('count'));
    const timeoutMs = Number(url.searchParams.get('timeoutMs') ?? 60_000);
    if (count >= target) return answer(true);
    const waiter = {
      target,
      answer: (reached: boolean) => {
        clearTimeout(timer);
        waiters.delete(waiter);
        answer(reached);
      },
    };
    const timer = setTimeout(() => waiter.answer(false), timeoutMs);
    waiters.add(waiter);
    request.on('close', () => {
      clearTimeout(timer);
      waiters.delete(waiter);
    });
    return;
  }
  response.writeHead(404).end();
});

const listen = (server: { listen(port: number, host: string, cb: () => void): unknown }) =>
  new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

await listen(smtp);
await listen(api);
const smtpPort = (smtp.server.address() as AddressInfo).port;
const httpPort = (api.address() as AddressInfo).port;
process.stdout.write(`${JSON.stringify({ smtpPort, httpPort })}\n`);

const stop = () => {
  api.close();
  smtp.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// The driver owns this process: when it goes, so does the sink.
process.stdin.on('end', stop);
process.stdin.resume();
