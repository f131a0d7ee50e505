import { and, asc, eq, inArray } from 'drizzle-orm';
import { AppError, invalidField, notFound } from '../../errors.js';
import type { Database, Db } from '../../storage/database.js';
import { isUuid } from '../../storage/ids.js';
import {
  contentTemplates,
  deliveryPolicies,
  dispatches,
  invitations,
  pendingInvitations,
  questionnaires,
  questions,
  vendors,
  type Channel,
} from '../../storage/schema.js';

export type Dispatch = Omit<typeof dispatches.$inferSelect, 'accountId'>;
export type ChannelVendors = Partial<Record<Channel, string>>;
export type StaticPrefill = { questionId: string; input: string };

export interface DispatchInput {
  name: string;
  questionnaireId: string;
  deliveryPolicyId: string;
  /** The vendor that delivers each channel; its channel must be the key's. */
  channelVendors?: ChannelVendors;
  /** Values added to every record; each question must belong to the dispatch's questionnaire. */
  staticPrefills?: StaticPrefill[];
  /** Content template per channel: the first message's and each reminder's (default: Herald's built-in one). */
  templates?: DispatchTemplates;
  /** ISO 639-1 (checked by the route schema). */
  defaultLanguage?: string;
  paused?: boolean;
}

const dispatchColumns = {
  id: dispatches.id,
  name: dispatches.name,
  questionnaireId: dispatches.questionnaireId,
  deliveryPolicyId: dispatches.deliveryPolicyId,
  channelVendors: dispatches.channelVendors,
  staticPrefills: dispatches.staticPrefills,
  defaultLanguage: dispatches.defaultLanguage,
  templates: dispatches.templates,
  paused: dispatches.paused,
  createdAt: dispatches.createdAt,
};

const ownDispatch = (accountId: string, id: string) => and(eq(dispatches.accountId, accountId), eq(dispatches.id, id));

type References = Pick<
  Dispatch,
  'questionnaireId' | 'deliveryPolicyId' | 'channelVendors' | 'staticPrefills' | 'templates'
>;
export type DispatchTemplates = Dispatch['templates'];

/**
 * Checks that everything a dispatch refers to exists in the caller's account (a 400 naming the
 * field otherwise) and returns the ids as the database writes them. The rows are share-locked
 * until the transaction ends, so none can be deleted before the dispatch that uses it is saved.
 */
async function resolveReferences(db: Db, accountId: string, wanted: References): Promise<References> {
  const [questionnaire] = isUuid(wanted.questionnaireId)
    ? await db
        .select({ id: questionnaires.id })
        .from(questionnaires)
        .where(and(eq(questionnaires.accountId, accountId), eq(questionnaires.id, wanted.questionnaireId)))
        .for('key share')
    : [];
  if (!questionnaire) {
    throw invalidField('questionnaireId', `names no questionnaire of this account (${wanted.questionnaireId})`);
  }
  const [policy] = isUuid(wanted.deliveryPolicyId)
    ? await db
        .select({ id: deliveryPolicies.id })
        .from(deliveryPolicies)
        .where(and(eq(deliveryPolicies.accountId, accountId), eq(deliveryPolicies.id, wanted.deliveryPolicyId)))
        .for('key share')
    : [];
  if (!policy) {
    throw invalidField('deliveryPolicyId', `names no delivery policy of this account (${wanted.deliveryPolicyId})`);
  }
  return {
    questionnaireId: questionnaire.id,
    deliveryPolicyId: policy.id,
    channelVendors: await resolveVendors(db, accountId, wanted.channelVendors),
    staticPrefills: await resolvePrefills(db, questionnaire.id, wanted.staticPrefills),
    templates: await resolveTemplates(db, accountId, wanted.templates),
  };
}

/** Each template must be the account's and made for the channel it is chosen for. */
async function resolveTemplates(db: Db, accountId: string, wanted: DispatchTemplates): Promise<DispatchTemplates> {
  const entries = Object.entries(wanted) as [Channel, { initial: string; reminders?: string[] }][];
  const ids = entries.flatMap(([, t]) => [t.initial, ...(t.reminders ?? [])]).filter(isUuid);
  const found =
    ids.length === 0
      ? []
      : await db
          .select({ id: contentTemplates.id, name: contentTemplates.name, channel: contentTemplates.channel })
          .from(contentTemplates)
          .where(and(eq(contentTemplates.accountId, accountId), inArray(contentTemplates.id, ids)))
          .for('key share');
  const resolve = (channel: Channel, id: string, field: string) => {
    const template = found.find((t) => t.id === id.toLowerCase());
    if (!template) throw invalidField(field, `names no content template of this account (${id})`);
    if (template.channel !== channel) {
      throw invalidField(field, `names the template "${template.name}", made for ${template.channel}, not ${channel}`);
    }
    return template.id;
  };
  const resolved: DispatchTemplates = {};
  for (const [channel, choice] of entries) {
    resolved[channel] = {
      initial: resolve(channel, choice.initial, `templates.${channel}.initial`),
      reminders: (choice.reminders ?? []).map((id, n) => resolve(channel, id, `templates.${channel}.reminders.${n}`)),
    };
  }
  return resolved;
}

async function resolveVendors(db: Db, accountId: string, wanted: ChannelVendors): Promise<ChannelVendors> {
  const entries = Object.entries(wanted) as [Channel, string][];
  const ids = entries.map(([, id]) => id).filter(isUuid);
  const found =
    ids.length === 0
      ? []
      : await db
          .select({ id: vendors.id, name: vendors.name, channel: vendors.channel })
          .from(vendors)
          .where(and(eq(vendors.accountId, accountId), inArray(vendors.id, ids)))
          .for('key share');
  const resolved: ChannelVendors = {};
  for (const [channel, id] of entries) {
    const vendor = found.find((v) => v.id === id.toLowerCase());
    if (!vendor) throw invalidField(`channelVendors.${channel}`, `names no vendor of this account (${id})`);
    if (vendor.channel !== channel) {
      throw invalidField(
        `channelVendors.${channel}`,
        `names the vendor "${vendor.name}", which delivers ${vendor.channel}, not ${channel}`,
      );
    }
    resolved[channel] = vendor.id;
  }
  return resolved;
}

async function resolvePrefills(db: Db, questionnaireId: string, wanted: StaticPrefill[]): Promise<StaticPrefill[]> {
  const ids = wanted.map((p) => p.questionId).filter(isUuid);
  const found =
    ids.length === 0
      ? []
      : await db
          .select({ id: questions.id })
          .from(questions)
          .where(and(eq(questions.questionnaireId, questionnaireId), inArray(questions.id, ids)))
          .for('key share');
  const known = new Set(found.map((q) => q.id));
  const seen = new Set<string>();
  return wanted.map((prefill, index) => {
    const questionId = prefill.questionId.toLowerCase();
    const field = `staticPrefills.${index}.questionId`;
    if (!known.has(questionId)) {
      throw invalidField(field, `is not a question of the questionnaire ${questionnaireId} (${prefill.questionId})`);
    }
    if (seen.has(questionId)) throw invalidField(field, `repeats the question ${questionId}`);
    seen.add(questionId);
    return { questionId, input: prefill.input };
  });
}

export async function createDispatch(database: Database, accountId: string, input: DispatchInput): Promise<Dispatch> {
  return database.transaction(async ({ db }) => {
    const references = await resolveReferences(db, accountId, {
      questionnaireId: input.questionnaireId,
      deliveryPolicyId: input.deliveryPolicyId,
      channelVendors: input.channelVendors ?? {},
      staticPrefills: input.staticPrefills ?? [],
      templates: input.templates ?? {},
    });
    const [created] = await db
      .insert(dispatches)
      .values({
        accountId,
        name: input.name,
        ...references,
        defaultLanguage: input.defaultLanguage,
        paused: input.paused,
      })
      .returning(dispatchColumns);
    if (!created) throw new Error('insert returned no row');
    return created;
  });
}

export function listDispatches(db: Db, accountId: string): Promise<Dispatch[]> {
  return db
    .select(dispatchColumns)
    .from(dispatches)
    .where(eq(dispatches.accountId, accountId))
    .orderBy(asc(dispatches.name), asc(dispatches.id));
}

export async function getDispatch(db: Db, accountId: string, id: string): Promise<Dispatch> {
  if (!isUuid(id)) throw notFound('Dispatch', id);
  const [found] = await db.select(dispatchColumns).from(dispatches).where(ownDispatch(accountId, id));
  if (!found) throw notFound('Dispatch', id);
  return found;
}

/** Changes the given fields; the references are checked again as a whole (prefills depend on the questionnaire). */
export async function updateDispatch(
  database: Database,
  accountId: string,
  id: string,
  changes: Partial<DispatchInput>,
): Promise<Dispatch> {
  if (!isUuid(id)) throw notFound('Dispatch', id);
  return database.transaction(async ({ db }) => {
    const [current] = await db.select(dispatchColumns).from(dispatches).where(ownDispatch(accountId, id)).for('update');
    if (!current) throw notFound('Dispatch', id);
    const references = await resolveReferences(db, accountId, {
      questionnaireId: changes.questionnaireId ?? current.questionnaireId,
      deliveryPolicyId: changes.deliveryPolicyId ?? current.deliveryPolicyId,
      channelVendors: changes.channelVendors ?? current.channelVendors,
      staticPrefills: changes.staticPrefills ?? current.staticPrefills,
      templates: changes.templates ?? current.templates,
    });
    const [updated] = await db
      .update(dispatches)
      .set({
        name: changes.name,
        ...references,
        defaultLanguage: changes.defaultLanguage,
        paused: changes.paused,
      })
      .where(eq(dispatches.id, current.id))
      .returning(dispatchColumns);
    if (!updated) throw notFound('Dispatch', id);
    return updated;
  });
}

/** Pauses (or resumes) a dispatch: a paused dispatch takes no new records. */
export async function setDispatchPaused(db: Db, accountId: string, id: string, paused: boolean): Promise<Dispatch> {
  if (!isUuid(id)) throw notFound('Dispatch', id);
  const [updated] = await db
    .update(dispatches)
    .set({ paused })
    .where(ownDispatch(accountId, id))
    .returning(dispatchColumns);
  if (!updated) throw notFound('Dispatch', id);
  return updated;
}

/**
 * Deletes a dispatch that has no invitations yet. Invitations keep their dispatch's id for
 * reporting and delivery, so a dispatch that has some is paused instead (409).
 */
export async function deleteDispatch(db: Db, accountId: string, id: string): Promise<void> {
  if (!isUuid(id)) throw notFound('Dispatch', id);
  const invited = async (table: typeof invitations | typeof pendingInvitations) =>
    (
      await db
        .select({ id: table.id })
        .from(table)
        .where(and(eq(table.accountId, accountId), eq(table.dispatchId, id)))
        .limit(1)
    ).length > 0;
  if ((await invited(invitations)) || (await invited(pendingInvitations))) {
    throw new AppError('CONFLICT', `The dispatch ${id} has invitations; pause it instead of deleting it.`);
  }
  const deleted = await db.delete(dispatches).where(ownDispatch(accountId, id)).returning({ id: dispatches.id });
  if (deleted.length === 0) throw notFound('Dispatch', id);
}
