import { and, asc, eq } from 'drizzle-orm';
import { invalidField, notFound } from '../../errors.js';
import type { Database, Db } from '../../storage/database.js';
import { assertNoDispatchUses } from '../../storage/dispatch-references.js';
import { isUuid } from '../../storage/ids.js';
import { isValidTimeZone } from '../../pipeline/scheduling/send-window.js';
import {
  deliveryPolicies,
  dispatches,
  questions,
  type Channel,
  type FatigueRule,
  type SendWindow,
} from '../../storage/schema.js';

export type DeliveryPolicy = Omit<typeof deliveryPolicies.$inferSelect, 'accountId'>;

export interface DeliveryPolicyInput {
  name: string;
  /** Unique, in order of preference: the first is the primary channel (checked by the route schema). */
  channels: Channel[];
  /** The question whose answer identifies a record (its UUID); must be a question of this account. */
  uuidQuestionId?: string | null;
  paused?: boolean;
  sendWindow?: SendWindow | null;
  reminders?: { afterMinutes: number }[];
  fatigue?: FatigueRule | null;
  channelFallback?: boolean;
}

function checkSendWindow(window: SendWindow | null | undefined): void {
  if (window && !isValidTimeZone(window.timezone)) {
    throw invalidField('sendWindow.timezone', `is not a known IANA time zone (${window.timezone})`);
  }
}

const policyColumns = {
  id: deliveryPolicies.id,
  name: deliveryPolicies.name,
  channels: deliveryPolicies.channels,
  uuidQuestionId: deliveryPolicies.uuidQuestionId,
  paused: deliveryPolicies.paused,
  sendWindow: deliveryPolicies.sendWindow,
  reminders: deliveryPolicies.reminders,
  fatigue: deliveryPolicies.fatigue,
  channelFallback: deliveryPolicies.channelFallback,
  createdAt: deliveryPolicies.createdAt,
};

const ownPolicy = (accountId: string, id: string) =>
  and(eq(deliveryPolicies.accountId, accountId), eq(deliveryPolicies.id, id));

/** A uuidQuestionId must name a question of the account; returns it as the database writes it. */
async function checkUuidQuestion(db: Db, accountId: string, questionId: string): Promise<string> {
  const [question] = isUuid(questionId)
    ? await db
        .select({ id: questions.id })
        .from(questions)
        .where(and(eq(questions.accountId, accountId), eq(questions.id, questionId)))
    : [];
  if (!question) throw invalidField('uuidQuestionId', `names no question of this account (${questionId})`);
  return question.id;
}

export async function createDeliveryPolicy(
  db: Db,
  accountId: string,
  input: DeliveryPolicyInput,
): Promise<DeliveryPolicy> {
  const uuidQuestionId = input.uuidQuestionId ? await checkUuidQuestion(db, accountId, input.uuidQuestionId) : null;
  checkSendWindow(input.sendWindow);
  const [created] = await db
    .insert(deliveryPolicies)
    .values({
      accountId,
      name: input.name,
      channels: input.channels,
      uuidQuestionId,
      paused: input.paused,
      sendWindow: input.sendWindow ?? null,
      reminders: input.reminders ?? [],
      fatigue: input.fatigue ?? null,
      channelFallback: input.channelFallback,
    })
    .returning(policyColumns);
  if (!created) throw new Error('insert returned no row');
  return created;
}

export function listDeliveryPolicies(db: Db, accountId: string): Promise<DeliveryPolicy[]> {
  return db
    .select(policyColumns)
    .from(deliveryPolicies)
    .where(eq(deliveryPolicies.accountId, accountId))
    .orderBy(asc(deliveryPolicies.name), asc(deliveryPolicies.id));
}

export async function getDeliveryPolicy(db: Db, accountId: string, id: string): Promise<DeliveryPolicy> {
  if (!isUuid(id)) throw notFound('Delivery policy', id);
  const [found] = await db.select(policyColumns).from(deliveryPolicies).where(ownPolicy(accountId, id));
  if (!found) throw notFound('Delivery policy', id);
  return found;
}

/** Changes the given fields; `paused: true | false` pauses or resumes the policy. */
export async function updateDeliveryPolicy(
  db: Db,
  accountId: string,
  id: string,
  changes: Partial<DeliveryPolicyInput>,
): Promise<DeliveryPolicy> {
  if (!isUuid(id)) throw notFound('Delivery policy', id);
  const uuidQuestionId = changes.uuidQuestionId
    ? await checkUuidQuestion(db, accountId, changes.uuidQuestionId)
    : changes.uuidQuestionId;
  checkSendWindow(changes.sendWindow);
  const set = {
    name: changes.name,
    channels: changes.channels,
    uuidQuestionId,
    paused: changes.paused,
    sendWindow: changes.sendWindow,
    reminders: changes.reminders,
    fatigue: changes.fatigue,
    channelFallback: changes.channelFallback,
  };
  if (Object.values(set).every((value) => value === undefined)) return getDeliveryPolicy(db, accountId, id);
  const [updated] = await db.update(deliveryPolicies).set(set).where(ownPolicy(accountId, id)).returning(policyColumns);
  if (!updated) throw notFound('Delivery policy', id);
  return updated;
}

/** Deletes a policy unless a dispatch uses it (409). */
export async function deleteDeliveryPolicy(database: Database, accountId: string, id: string): Promise<void> {
  if (!isUuid(id)) throw notFound('Delivery policy', id);
  await database.transaction(async ({ db }) => {
    const [locked] = await db
      .select({ id: deliveryPolicies.id })
      .from(deliveryPolicies)
      .where(ownPolicy(accountId, id))
      .for('update');
    if (!locked) throw notFound('Delivery policy', id);
    await assertNoDispatchUses(db, accountId, `The delivery policy ${id}`, eq(dispatches.deliveryPolicyId, id));
    await db.delete(deliveryPolicies).where(eq(deliveryPolicies.id, id));
  });
}
