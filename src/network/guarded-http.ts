import http from 'node:http';
import https from 'node:https';
import { EgressGuard, EgressRefusedError } from './egress-guard.js';
import type { EgressRules } from './egress-rules.js';

/** An answer, its body cut at the size limit. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export interface HttpRequest {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  /** Aborts the request; the promise rejects with the signal's reason. */
  readonly signal: AbortSignal;
}

/**
 * HTTP(S) requests through the egress guard, on this client's own kept-alive connections. Answers
 * are read up to `maxAnswerBytes` and the rest dropped: nothing a server sends can fill memory.
 * Redirects are never followed.
 */
export class GuardedHttpClient {
  readonly #guard: EgressGuard;
  readonly #agents: { 'http:': http.Agent; 'https:': https.Agent };

  constructor(
    rules: EgressRules,
    private readonly maxAnswerBytes: number,
  ) {
    this.#guard = EgressGuard.of(rules);
    const options = { keepAlive: true, lookup: this.#guard.lookup };
    this.#agents = { 'http:': new http.Agent(options), 'https:': new https.Agent(options) };
  }

  /** The answer, of any status; rejects when there is none (refused, unreachable, aborted). */
  request(url: string, init: HttpRequest): Promise<HttpAnswer> {
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      return Promise.reject(new TypeError(`${target.protocol} URLs cannot be requested`));
    const refusal = this.#guard.refusalOfUrl(target);
    if (refusal) return Promise.reject(new EgressRefusedError(refusal));
    const protocol = target.protocol;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const request = (protocol === 'https:' ? https : http).request(
        target,
        {
          method: init.method,
          agent: this.#agents[protocol],
          lookup: this.#guard.lookup,
          signal: init.signal,
          headers: {
            ...init.headers,
            ...(init.body !== undefined && { 'content-length': String(Buffer.byteLength(init.body)) }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          response.on('data', (chunk: Buffer) => {
            if (kept >= this.maxAnswerBytes) return;
            const part = chunk.subarray(0, this.maxAnswerBytes - kept);
            chunks.push(part);
            kept += part.length;
            // What is past the limit is not read: the connection is dropped instead of drained.
            if (kept >= this.maxAnswerBytes) response.destroy();
          });
          const answered = () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: headersOf(response.headers),
              text: Buffer.concat(chunks).toString('utf8'),
            });
          response.on('end', answered);
          response.on('close', answered);
          response.on('error', (error) => (kept >= this.maxAnswerBytes ? answered() : reject(error)));
        },
      );
      request.on('error', reject);
      request.end(init.body);
    });
  }

  /** Drops the kept-alive connections. */
  close(): void {
    this.#agents['http:'].destroy();
    this.#agents['https:'].destroy();
  }
}

function headersOf(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}
