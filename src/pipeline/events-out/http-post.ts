import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { EGRESS_REFUSED, EgressGuard } from '../../network/egress-guard.js';
import type { EgressRules } from '../../network/egress-rules.js';

/** How a POST ended: an answer (any status), a failure to get one, or Herald stopping first. */
export type PostResult =
  | { kind: 'answered'; status: number; latencyMs: number }
  | { kind: 'failed'; error: string; latencyMs: number }
  | { kind: 'aborted'; latencyMs: number };

/** The answer's body is not needed; reading a little of it lets the connection be reused. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

// Connections are kept open between posts: endpoints get many small requests. A pool holds
// sockets, not credentials, so one per protocol serves every account.
const agents = {
  'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, scheduling: 'lifo' }),
};

/** A failure in words a person can act on, without the URL (it may carry credentials). */
function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === EGRESS_REFUSED) return `connection refused by Herald: ${(error as Error).message}`;
  if (typeof code === 'string') return `connection failed: ${code}`;
  return error instanceof Error ? `connection failed: ${error.message}` : String(error);
}

/**
 * POSTs `body` and reports how it went, never throwing. Redirects are not followed (a 3xx counts
 * as a failed attempt): the endpoint is the URL that was configured. node:http rather than fetch:
 * this runs for every event, and fetch costs several times the CPU per request. The connection goes
 * through the egress guard: the host and port are checked, the name resolved to an allowed address.
 */
export function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  stopping: AbortSignal,
  egress: EgressRules,
  contentType = 'application/json',
): Promise<PostResult> {
  const guard = EgressGuard.of(egress);
  const started = performance.now();
  const latency = () => performance.now() - started;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve({ kind: 'failed', error: 'the URL is not valid', latencyMs: 0 });
  }
  const refusal = guard.refusalOfUrl(target);
  if (refusal)
    return Promise.resolve({ kind: 'failed', error: `connection refused by Herald: ${refusal}`, latencyMs: 0 });
  return new Promise<PostResult>((resolve) => {
    let status: number | undefined;
    let settled = false;
    const finish = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopping.removeEventListener('abort', onStop);
      resolve(result);
    };
    const onStop = () => {
      request.destroy();
      finish({ kind: 'aborted', latencyMs: latency() });
    };
    const protocol = target.protocol === 'https:' ? 'https:' : 'http:';
    const request = (protocol === 'https:' ? https : http).request(
      target,
      {
        method: 'POST',
        agent: agents[protocol],
        lookup: guard.lookup,
        headers: {
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
          'user-agent': 'Herald',
          ...headers,
        },
      },
      (response) => {
        status = response.statusCode ?? 0;
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > DRAIN_LIMIT_BYTES) response.destroy();
        });
        const answered = () => finish({ kind: 'answered', status: status ?? 0, latencyMs: latency() });
        response.on('end', answered);
        response.on('close', answered);
      },
    );
    const timer: NodeJS.Timeout = setTimeout(() => {
      request.destroy();
      // An answer whose body never ends still answered.
      if (status !== undefined) finish({ kind: 'answered', status, latencyMs: latency() });
      else finish({ kind: 'failed', error: `no answer within ${timeoutMs} ms`, latencyMs: latency() });
    }, timeoutMs);
    if (stopping.aborted) {
      onStop();
      return;
    }
    stopping.addEventListener('abort', onStop, { once: true });
    request.on('error', (error) => {
      if (status !== undefined) finish({ kind: 'answered', status, latencyMs: latency() });
      else finish({ kind: 'failed', error: describe(error), latencyMs: latency() });
    });
    request.end(body);
  });
}
