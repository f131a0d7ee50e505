import { randomUUID } from 'node:crypto';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { AppError, invalidField, notFound } from '../../errors.js';
import type { Vault } from '../../privacy/vault.js';
import type { Db } from '../../storage/database.js';
import { isUuid } from '../../storage/ids.js';
import { dispatches, webhookSubscriptions } from '../../storage/schema.js';
import { eventSubTypes } from './envelope.js';
import { getEventPrivacy } from './event-privacy.js';
import { newWebhookSecret } from './webhook-signature.js';
import type { EgressRules } from '../../network/egress-rules.js';
import { checkOutboundUrl } from '../../network/outbound-url.js';

type SubscriptionRow = typeof webhookSubscriptions.$inferSelect;
export type SubscriptionStatus = SubscriptionRow['status'];

/** A subscription as the API shows it: never its secrets. */
export interface WebhookSubscription {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  dispatchIds: string[];
  includePii: boolean;
  status: SubscriptionStatus;
  disabledReason: string | null;
  failingSince: Date | null;
  /** Until when the secret replaced by the last rotation still signs too; null outside an overlap. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
}

export interface SubscriptionInput {
  url: string;
  description?: string | null;
  /** Event sub-types (e.g. "Sent"); empty or absent: all. */
  eventTypes?: string[];
  /** Dispatches whose events to send; empty or absent: all. */
  dispatchIds?: string[];
  includePii?: boolean;
}

export type SubscriptionChanges = Partial<SubscriptionInput> & { status?: SubscriptionStatus };

/** A default overlap long enough for a receiver's deploy to pick up the new secret. */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 86_400;

const sealContext = (id: string) => `webhook-secret:${id}`;

function seal(vault: Vault, id: string, secret: string) {
  const { sealed, keyId } = vault.seal(secret, sealContext(id));
  return { sealed, keyId };
}

/**
 * The secrets that sign a delivery now: the current one, and the previous one while a rotation's
 * overlap lasts.
 */
export function signingSecrets(
  vault: Vault,
  row: {
    id: string;
    secret: Uint8Array;
    secretKeyId: string;
    previousSecret: Uint8Array | null;
    previousSecretKeyId: string | null;
    previousSecretExpiresAt: Date | null;
  },
  now: Date,
): string[] {
  // PGlite hands bytea back as a plain Uint8Array, whatever the column's declared type says.
  const secrets = [vault.open(Buffer.from(row.secret), row.secretKeyId, sealContext(row.id))];
  if (
    row.previousSecret &&
    row.previousSecretKeyId &&
    row.previousSecretExpiresAt &&
    row.previousSecretExpiresAt > now
  ) {
    secrets.push(vault.open(Buffer.from(row.previousSecret), row.previousSecretKeyId, sealContext(row.id)));
  }
  return secrets;
}

function toSubscription(row: SubscriptionRow, now = new Date()): WebhookSubscription {
  const overlap = row.previousSecretExpiresAt && row.previousSecretExpiresAt > now ? row.previousSecretExpiresAt : null;
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    dispatchIds: row.dispatchIds,
    includePii: row.includePii,
    status: row.status,
    disabledReason: row.disabledReason,
    failingSince: row.failingSince,
    previousSecretExpiresAt: overlap,
    createdAt: row.createdAt,
  };
}

function checkEventTypes(eventTypes: readonly string[]): string[] {
  const known = new Set<string>(eventSubTypes);
  const unknown = eventTypes.filter((t) => !known.has(t));
  if (unknown.length > 0) {
    throw invalidField(
      'eventTypes',
      `has unknown event types (${unknown.join(', ')}); known: ${eventSubTypes.join(', ')}`,
    );
  }
  return [...new Set(eventTypes)];
}

async function checkDispatchIds(db: Db, accountId: string, ids: readonly string[]): Promise<string[]> {
  const wanted = [...new Set(ids.map((id) => id.toLowerCase()))];
  const malformed = wanted.filter((id) => !isUuid(id));
  const found =
    wanted.length > malformed.length
      ? await db
          .select({ id: dispatches.id })
          .from(dispatches)
          .where(
            and(
              eq(dispatches.accountId, accountId),
              inArray(
                dispatches.id,
                wanted.filter((id) => isUuid(id)),
              ),
            ),
          )
      : [];
  const known = new Set(found.map((d) => d.id));
  const unknown = wanted.filter((id) => !known.has(id));
  if (unknown.length > 0)
    throw invalidField('dispatchIds', `names no dispatch of this account (${unknown.join(', ')})`);
  return wanted;
}

async function checkPii(db: Db, accountId: string, includePii: boolean | undefined): Promise<void> {
  if (!includePii) return;
  if (!(await getEventPrivacy(db, accountId)).allowPiiInEvents) {
    throw new AppError(
      'BAD_REQUEST',
      'includePii needs the account to allow personal data in events: an admin sets it with PUT /api/account/event-privacy {"allowPiiInEvents": true}.',
      [{ field: 'includePii', problem: 'is not allowed for this account' }],
    );
  }
}

const ownSubscription = (accountId: string, id: string) =>
  and(eq(webhookSubscriptions.accountId, accountId), eq(webhookSubscriptions.id, id));

/** Creates a subscription and returns its signing secret: the only time it is shown. */
export async function createSubscription(
  db: Db,
  vault: Vault,
  accountId: string,
  input: SubscriptionInput,
  egress: EgressRules,
): Promise<{ subscription: WebhookSubscription; secret: string }> {
  const url = checkOutboundUrl('url', input.url, egress);
  const eventTypes = checkEventTypes(input.eventTypes ?? []);
  const dispatchIds = await checkDispatchIds(db, accountId, input.dispatchIds ?? []);
  await checkPii(db, accountId, input.includePii);
  // The id is chosen here because the sealed secret is bound to it.
  const id = randomUUID();
  const secret = newWebhookSecret();
  const { sealed, keyId } = seal(vault, id, secret);
  const [row] = await db
    .insert(webhookSubscriptions)
    .values({
      id,
      accountId,
      url,
      description: input.description ?? null,
      eventTypes,
      dispatchIds,
      includePii: input.includePii ?? false,
      secret: sealed,
      secretKeyId: keyId,
    })
    .returning();
  if (!row) throw new Error('insert returned no row');
  return { subscription: toSubscription(row), secret };
}

export async function listSubscriptions(db: Db, accountId: string): Promise<WebhookSubscription[]> {
  const rows = await db
    .select()
    .from(webhookSubscriptions)
    .where(eq(webhookSubscriptions.accountId, accountId))
    .orderBy(asc(webhookSubscriptions.createdAt), asc(webhookSubscriptions.id));
  return rows.map((row) => toSubscription(row));
}

async function ownRow(db: Db, accountId: string, id: string): Promise<SubscriptionRow> {
  if (!isUuid(id)) throw notFound('Webhook subscription', id);
  const [row] = await db.select().from(webhookSubscriptions).where(ownSubscription(accountId, id));
  if (!row) throw notFound('Webhook subscription', id);
  return row;
}

export async function getSubscription(db: Db, accountId: string, id: string): Promise<WebhookSubscription> {
  return toSubscription(await ownRow(db, accountId, id));
}

/**
 * Changes the given fields. `status: "active"` re-enables a disabled subscription (its pending
 * deliveries go out again); `"disabled"` stops it, with a reason saying a person did.
 */
export async function updateSubscription(
  db: Db,
  accountId: string,
  id: string,
  changes: SubscriptionChanges,
  egress: EgressRules,
): Promise<WebhookSubscription> {
  const current = await ownRow(db, accountId, id);
  await checkPii(db, accountId, changes.includePii);
  const statusChange =
    changes.status === undefined || changes.status === current.status
      ? {}
      : changes.status === 'active'
        ? { status: 'active' as const, disabledReason: null, failingSince: null }
        : { status: 'disabled' as const, disabledReason: `Disabled through the API at ${new Date().toISOString()}.` };
  const set = {
    url: changes.url === undefined ? undefined : checkOutboundUrl('url', changes.url, egress),
    description: changes.description,
    eventTypes: changes.eventTypes === undefined ? undefined : checkEventTypes(changes.eventTypes),
    dispatchIds:
      changes.dispatchIds === undefined ? undefined : await checkDispatchIds(db, accountId, changes.dispatchIds),
    includePii: changes.includePii,
    ...statusChange,
  };
  if (Object.values(set).every((value) => value === undefined)) return toSubscription(current);
  const [row] = await db.update(webhookSubscriptions).set(set).where(ownSubscription(accountId, id)).returning();
  if (!row) throw notFound('Webhook subscription', id);
  return toSubscription(row);
}

/** Deletes a subscription with its deliveries and their log. */
export async function deleteSubscription(db: Db, accountId: string, id: string): Promise<void> {
  if (!isUuid(id)) throw notFound('Webhook subscription', id);
  const deleted = await db
    .delete(webhookSubscriptions)
    .where(ownSubscription(accountId, id))
    .returning({ id: webhookSubscriptions.id });
  if (deleted.length === 0) throw notFound('Webhook subscription', id);
}

/**
 * Replaces the signing secret and returns the new one (shown only now). For `overlapSeconds` the
 * old secret signs too — each delivery then carries two `v1` signatures — so a receiver can
 * switch at its own pace; 0 ends the old secret at once.
 */
export async function rotateSubscriptionSecret(
  db: Db,
  vault: Vault,
  accountId: string,
  id: string,
  overlapSeconds: number,
  now = new Date(),
): Promise<{ subscription: WebhookSubscription; secret: string }> {
  const current = await ownRow(db, accountId, id);
  const secret = newWebhookSecret();
  const { sealed, keyId } = seal(vault, current.id, secret);
  const overlap =
    overlapSeconds > 0
      ? {
          previousSecret: Buffer.from(current.secret),
          previousSecretKeyId: current.secretKeyId,
          previousSecretExpiresAt: new Date(now.getTime() + overlapSeconds * 1000),
        }
      : { previousSecret: null, previousSecretKeyId: null, previousSecretExpiresAt: null };
  const [row] = await db
    .update(webhookSubscriptions)
    .set({ secret: sealed, secretKeyId: keyId, ...overlap })
    .where(ownSubscription(accountId, id))
    .returning();
  if (!row) throw notFound('Webhook subscription', id);
  return { subscription: toSubscription(row, now), secret };
}
