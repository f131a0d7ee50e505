import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/storage/database.js';
import {
  deliveryPolicies,
  dispatches,
  questionnaires,
  questions,
  vendors,
  type Channel,
} from '../../src/storage/schema.js';

export interface SeededDispatch {
  dispatchId: string;
  policyId: string;
  questionnaireId: string;
  vendorId: string;
  q: { uuid: string; email: string; mobile: string; name: string; language: string; note: string; hidden: string };
}

/**
 * A questionnaire (UUID, Email and Mobile PII-hash, name, language, a free note, one question closed
 * to API prefill), a live policy with `channels`, an SMTP vendor and a live dispatch.
 */
export async function seedDispatch(
  database: Database,
  accountId: string,
  options: { channels?: Channel[]; staticPrefills?: { questionId: string; input: string }[] } = {},
): Promise<SeededDispatch> {
  const db = database.db;
  const [questionnaire] = await db
    .insert(questionnaires)
    .values({ accountId, name: 'Survey', surveyUrl: 'https://survey.example/s' })
    .returning();
  const questionnaireId = questionnaire!.id;
  const specs = [
    ['uuid', 'Customer id', [], 'none', true],
    ['email', 'Email', ['Email'], 'hash', true],
    ['mobile', 'Mobile', ['Mobile'], 'hash', true],
    ['name', 'Name', [], 'none', true],
    ['language', 'Language', ['cc_language'], 'none', true],
    ['note', 'Note', [], 'none', true],
    ['hidden', 'Internal', [], 'none', false],
  ] as const;
  const q = {} as SeededDispatch['q'];
  for (const [index, [key, text, tags, pii, apiPrefill]] of specs.entries()) {
    const id = randomUUID();
    await db
      .insert(questions)
      .values({ id, accountId, questionnaireId, text, tags: [...tags], pii, apiPrefill, position: index });
    q[key] = id;
  }
  const channels = options.channels ?? ['email'];
  const [policy] = await db
    .insert(deliveryPolicies)
    .values({ accountId, name: 'Policy', channels, uuidQuestionId: q.uuid })
    .returning();
  const [vendor] = await db
    .insert(vendors)
    .values({
      accountId,
      name: 'Mail',
      kind: 'smtp',
      channel: 'email',
      settings: { host: '127.0.0.1', port: 2525, fromAddress: 'surveys@example.com' },
    })
    .returning();
  const channelVendors = Object.fromEntries(channels.map((c) => [c, vendor!.id]));
  const [dispatch] = await db
    .insert(dispatches)
    .values({
      accountId,
      name: 'Dispatch',
      questionnaireId,
      deliveryPolicyId: policy!.id,
      channelVendors,
      staticPrefills: options.staticPrefills ?? [],
    })
    .returning();
  return { dispatchId: dispatch!.id, policyId: policy!.id, questionnaireId, vendorId: vendor!.id, q };
}
