import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { EgressRules } from '../network/egress-rules.js';
import type { EventEnvelope } from '../pipeline/events-out/envelope.js';
import { createSubscription, type SubscriptionInput } from '../pipeline/events-out/subscriptions.js';
import { verifyWebhookSignature, WebhookHeaders } from '../pipeline/events-out/webhook-signature.js';
import type { Vault } from '../privacy/vault.js';
import type { Database } from '../storage/database.js';

/** One request the catcher received, verified against its secrets. */
export interface CaughtWebhook {
  eventId: string;
  /** The envelope, parsed from the body. */
  envelope: EventEnvelope;
  body: string;
  signature: string;
  /** Which of the catcher's secrets verified it (by position), or -1 for none. */
  verifiedBy: number;
  attempt: number;
  /** performance.now() when it arrived. */
  receivedAt: number;
}

/** What to answer: a status code, or 'stall' to never answer (until the catcher closes). */
export type CatcherAnswer = number | 'stall';

export interface WebhookCatcherOptions {
  /** Secrets a request may be signed with; a request none of them verifies is answered 401. */
  secrets?: string[];
  /** Chooses the answer to a verified request (default 204). */
  respond?: (webhook: CaughtWebhook) => CatcherAnswer | Promise<CatcherAnswer>;
  /** Keep every request in `received` (default true; a benchmark may only count). */
  keep?: boolean;
  port?: number;
}

export interface WebhookCatcher {
  readonly url: string;
  /** Every verified request, in arrival order (when `keep`). */
  readonly received: readonly CaughtWebhook[];
  /** Verified requests answered 2xx. */
  readonly delivered: number;
  /** Requests no secret verified. */
  readonly unverified: number;
  /** Replaces the secrets (e.g. after a rotation). */
  setSecrets(secrets: string[]): void;
  close(): Promise<void>;
}

/**
 * A loopback HTTP endpoint that receives Herald's webhooks, verifies each signature as a real
 * receiver would, and answers as told — for tests, the demo and the benchmark.
 *
 * @example
 * const catcher = await startWebhookCatcher({ secrets: [secret] });
 * // … POST /api/webhooks {"url": catcher.url} … then watch catcher.delivered grow
 */
export async function startWebhookCatcher(options: WebhookCatcherOptions = {}): Promise<WebhookCatcher> {
  let secrets = options.secrets ?? [];
  const keep = options.keep ?? true;
  const received: CaughtWebhook[] = [];
  let delivered = 0;
  let unverified = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const signature = String(request.headers[WebhookHeaders.signature] ?? '');
      const verifiedBy = secrets.findIndex((secret) => verifyWebhookSignature(signature, body, secret).ok);
      if (verifiedBy < 0) {
        unverified += 1;
        response.writeHead(401).end();
        return;
      }
      const webhook: CaughtWebhook = {
        eventId: String(request.headers[WebhookHeaders.eventId] ?? ''),
        envelope: JSON.parse(body) as EventEnvelope,
        body,
        signature,
        verifiedBy,
        attempt: Number(request.headers['herald-delivery-attempt'] ?? 0),
        receivedAt: performance.now(),
      };
      if (keep) received.push(webhook);
      void Promise.resolve(options.respond?.(webhook) ?? 204)
        .catch(() => 500)
        .then((answer) => {
          if (answer === 'stall') return;
          if (answer >= 200 && answer < 300) delivered += 1;
          response.writeHead(answer).end();
        });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/hooks`,
    received,
    get delivered() {
      return delivered;
    },
    get unverified() {
      return unverified;
    },
    setSecrets(next) {
      secrets = next;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The benchmark's hook: starts a catcher and subscribes it to an account's events in a running
 * Herald (its database and vault), with the secret it verifies against. `catcher.delivered` then
 * counts the events delivered and verified.
 *
 * @example
 * const herald = await startHerald(config, { api: true, workers: true }, 'bench');
 * const { catcher } = await startSubscribedCatcher(herald, accountId, { keep: false });
 * // … post dispatch requests; events per second = catcher.delivered / elapsed seconds
 */
export async function startSubscribedCatcher(
  herald: { readonly database: Database; readonly vault: Vault; readonly config: { readonly egress: EgressRules } },
  accountId: string,
  options: WebhookCatcherOptions & { subscription?: Omit<SubscriptionInput, 'url'> } = {},
): Promise<{ catcher: WebhookCatcher; subscriptionId: string }> {
  const catcher = await startWebhookCatcher(options);
  try {
    const { subscription, secret } = await createSubscription(
      herald.database.db,
      herald.vault,
      accountId,
      {
        ...options.subscription,
        url: catcher.url,
      },
      herald.config.egress,
    );
    catcher.setSecrets([secret]);
    return { catcher, subscriptionId: subscription.id };
  } catch (error) {
    await catcher.close();
    throw error;
  }
}
