import { performance } from 'node:perf_hooks';

/** How a POST ended: an answer (any status), a failure to get one, or Herald stopping first. */
export type PostResult =
  | { kind: 'answered'; status: number; latencyMs: number }
  | { kind: 'failed'; error: string; latencyMs: number }
  | { kind: 'aborted'; latencyMs: number };

/** The answer's body is not needed; reading a little of it lets the connection be reused. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

async function drain(response: Response): Promise<void> {
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (!reader) return;
  let read = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    read += value.byteLength;
    if (read > DRAIN_LIMIT_BYTES) {
      await reader.cancel();
      return;
    }
  }
}

/** A failure in words a person can act on, without the URL (it may carry credentials). */
function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.code) return `connection failed: ${cause.code}`;
  if (cause?.message) return `connection failed: ${cause.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * POSTs `body` and reports how it went, never throwing. Redirects are not followed (a 3xx counts
 * as a failed attempt): the endpoint is the URL that was configured.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  stopping: AbortSignal,
  contentType = 'application/json',
): Promise<PostResult> {
  const started = performance.now();
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), stopping]);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': contentType, 'user-agent': 'Herald', ...headers },
      body,
      redirect: 'manual',
      signal,
    });
    await drain(response).catch(() => undefined);
    return { kind: 'answered', status: response.status, latencyMs: performance.now() - started };
  } catch (error) {
    const latencyMs = performance.now() - started;
    if (stopping.aborted) return { kind: 'aborted', latencyMs };
    return { kind: 'failed', error: describe(error, timeoutMs), latencyMs };
  }
}
