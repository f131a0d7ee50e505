import { eq } from 'drizzle-orm';
import { createAccount } from '../accounts/accounts.js';
import { createApiKey } from '../accounts/api-keys.js';
import { authenticate } from '../accounts/authentication.js';
import { createDeliveryPolicy } from '../platforms/standalone/delivery-policies.js';
import { createDispatch } from '../platforms/standalone/dispatches.js';
import { createQuestion, createQuestionnaire } from '../platforms/standalone/questionnaires.js';
import type { EgressRules } from '../network/egress-rules.js';
import type { Vault } from '../privacy/vault.js';
import type { Database } from '../storage/database.js';
import { accounts, deliveryPolicies, dispatches, questionnaires, questions, vendors } from '../storage/schema.js';
import { createVendor, updateVendor } from '../vendor-config/vendor-store.js';

export const DEMO_SLUG = 'demo';

/** What `<data-dir>/demo.json` holds: enough to send a first request. */
export interface DemoInfo {
  baseUrl: string;
  apiKey: string;
  dispatchId: string;
  questionIds: { uuid: string; email: string; mobile: string; name: string; language: string };
}

const demoQuestions = [
  ['uuid', 'Customer id', [], 'none'],
  ['email', 'Email address', ['Email'], 'hash'],
  ['mobile', 'Mobile number', ['Mobile'], 'hash'],
  ['name', 'Name', [], 'none'],
  ['language', 'Language', ['cc_language'], 'none'],
] as const;

/** Vendor settings for an SMTP URL: smtps:// is TLS from the start; smtp:// is plain unless ?starttls=required. */
export function smtpSettings(url: string): { settings: Record<string, unknown>; secrets?: Record<string, string> } {
  const parsed = new URL(url);
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:')
    throw new Error(`--smtp must be an smtp:// or smtps:// URL (got ${parsed.protocol})`);
  const tls = parsed.protocol === 'smtps:';
  const security = tls ? 'tls' : parsed.searchParams.get('starttls') === 'required' ? 'starttls' : 'none';
  const settings = {
    host: parsed.hostname,
    port: Number(parsed.port || (tls ? 465 : 25)),
    security,
    fromAddress: 'surveys@herald.test',
    fromName: 'Herald demo',
    rejectUnauthorized: true,
  };
  const username = decodeURIComponent(parsed.username);
  return username ? { settings, secrets: { username, password: decodeURIComponent(parsed.password) } } : { settings };
}

async function findOrCreate<T>(find: () => Promise<T | undefined>, create: () => Promise<T>): Promise<T> {
  return (await find()) ?? create();
}

/**
 * Creates the demo account and its survey, policy, mail vendor and live dispatch — or finds them
 * from an earlier run on the same data directory, pointing the vendor at `smtpUrl`.
 */
export async function prepareDemo(
  database: Database,
  vault: Vault,
  smtpUrl: string,
  previousApiKey: string | undefined,
  egress: EgressRules,
): Promise<Omit<DemoInfo, 'baseUrl'>> {
  const db = database.db;
  const account = await findOrCreate(
    async () => (await db.select().from(accounts).where(eq(accounts.slug, DEMO_SLUG)))[0],
    () => createAccount(db, { slug: DEMO_SLUG, name: 'Herald demo' }),
  );
  const accountId = account.id;

  const questionnaire = await findOrCreate(
    async () => (await db.select().from(questionnaires).where(eq(questionnaires.accountId, accountId)))[0],
    () => createQuestionnaire(db, accountId, { name: 'Demo survey', surveyUrl: 'https://survey.example.com/demo' }),
  );
  const existing = await db.select().from(questions).where(eq(questions.questionnaireId, questionnaire.id));
  const questionIds = {} as DemoInfo['questionIds'];
  for (const [key, text, tags, pii] of demoQuestions) {
    const found = existing.find((q) => q.text === text);
    questionIds[key] =
      found?.id ?? (await createQuestion(db, accountId, questionnaire.id, { text, tags: [...tags], pii })).id;
  }
  const policy = await findOrCreate(
    async () => (await db.select().from(deliveryPolicies).where(eq(deliveryPolicies.accountId, accountId)))[0],
    () =>
      createDeliveryPolicy(db, accountId, {
        name: 'Demo policy (email, any hour)',
        channels: ['email'],
        uuidQuestionId: questionIds.uuid,
      }),
  );
  const { settings, secrets } = smtpSettings(smtpUrl);
  const [vendorRow] = await db.select().from(vendors).where(eq(vendors.accountId, accountId));
  const vendor = vendorRow
    ? await updateVendor(db, vault, accountId, vendorRow.id, { settings, ...(secrets && { secrets }) }, egress)
    : await createVendor(
        db,
        vault,
        accountId,
        {
          name: 'Demo mail',
          kind: 'smtp',
          settings,
          ...(secrets && { secrets }),
        },
        egress,
      );
  const dispatch = await findOrCreate(
    async () => (await db.select().from(dispatches).where(eq(dispatches.accountId, accountId)))[0],
    () =>
      createDispatch(database, accountId, {
        name: 'Demo dispatch',
        questionnaireId: questionnaire.id,
        deliveryPolicyId: policy.id,
        channelVendors: { email: vendor.id },
      }),
  );
  const stillValid = previousApiKey && (await authenticate(db, previousApiKey))?.accountId === accountId;
  const apiKey = stillValid ? previousApiKey : (await createApiKey(db, { accountId, name: 'demo', role: 'admin' })).key;
  return { apiKey, dispatchId: dispatch.id, questionIds };
}
