import { heraldAdmin } from './processes.js';
import type { Store } from './storage.js';

/** The question ids a record prefills. */
export interface Questions {
  uuid: string;
  email: string;
  mobile: string;
  name: string;
  language: string;
  note: string;
}

export interface SeedOptions {
  /** Messages wait for a send window days away: tokens are created, nothing is delivered. */
  closedSendWindow?: boolean;
}

export interface Platform {
  dispatchId: string;
  questions: Questions;
}

/**
 * An account and an admin API key through Herald's admin commands. With the embedded database these
 * run before `serve`, which then owns the data directory.
 */
export async function createAccountAndKey(main: string, store: Store, env: Record<string, string>): Promise<string> {
  const all = { ...env, ...store.env };
  const dir = store.dataDir ? ['--data-dir', store.dataDir] : [];
  await heraldAdmin(main, ['account', 'create', '--slug', 'bench', '--name', 'Benchmark', ...dir], all);
  const { key } = await heraldAdmin<{ key: string }>(
    main,
    ['api-key', 'create', '--account', 'bench', '--name', 'bench', '--role', 'admin', ...dir],
    all,
  );
  return key;
}

async function post<T>(url: string, key: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/**
 * Through Herald's management API: a questionnaire (customer id; Email and Mobile, both PII-hash;
 * name; language; a note), an email-only policy with no send window (or, with `closedSendWindow`,
 * one that does not open for days), reminders or fatigue rule, an SMTP vendor pointing at the sink,
 * and a live dispatch with the default content template.
 */
export async function seedPlatform(
  url: string,
  key: string,
  smtpPort: number,
  options: SeedOptions = {},
): Promise<Platform> {
  const { id: questionnaireId } = await post<{ id: string }>(url, key, '/api/questionnaires', {
    name: 'Benchmark survey',
    surveyUrl: 'https://survey.example/s',
  });
  const question = async (body: Record<string, unknown>) =>
    (await post<{ id: string }>(url, key, `/api/questionnaires/${questionnaireId}/questions`, body)).id;
  const questions: Questions = {
    uuid: await question({ text: 'Customer id' }),
    email: await question({ text: 'Email', tags: ['Email'], pii: 'hash' }),
    mobile: await question({ text: 'Mobile', tags: ['Mobile'], pii: 'hash' }),
    name: await question({ text: 'Name' }),
    language: await question({ text: 'Language', tags: ['cc_language'] }),
    note: await question({ text: 'Note' }),
  };
  const { id: deliveryPolicyId } = await post<{ id: string }>(url, key, '/api/delivery-policies', {
    name: 'Email now',
    channels: ['email'],
    uuidQuestionId: questions.uuid,
    ...(options.closedSendWindow && {
      sendWindow: {
        days: [(new Date().getUTCDay() + 3) % 7],
        start: '00:00',
        end: '00:01',
        timezone: 'UTC',
        recipientTimezone: false,
      },
    }),
  });
  const { id: vendorId } = await post<{ id: string }>(url, key, '/api/vendors', {
    name: 'Loopback sink',
    kind: 'smtp',
    settings: {
      host: '127.0.0.1',
      port: smtpPort,
      security: 'none',
      fromAddress: 'surveys@herald.test',
      rejectUnauthorized: true,
    },
  });
  const { id: dispatchId } = await post<{ id: string }>(url, key, '/api/dispatches', {
    name: 'Benchmark dispatch',
    questionnaireId,
    deliveryPolicyId,
    channelVendors: { email: vendorId },
  });
  return { dispatchId, questions };
}

/**
 * The body of POST /api/dispatchRequest: `count` records numbered from `first`, 6 prefills each
 * (Email and Mobile are the 2 PII-hashed ones). Every value is unique across a run.
 */
export function dispatchBody(platform: Platform, first: number, count: number): Buffer {
  const q = platform.questions;
  const ids = [q.uuid, q.email, q.mobile, q.name, q.language, q.note];
  const records = new Array<{ questionId: string; input: string }[]>(count);
  for (let n = 0; n < count; n += 1) {
    records[n] = recordValues(first + n).map((input, i) => ({ questionId: ids[i]!, input }));
  }
  return Buffer.from(JSON.stringify([{ dispatchID: platform.dispatchId, preFill: records }]));
}

/** Record number `i`'s values: customer id, email, mobile, name, language, note. */
export function recordValues(i: number): string[] {
  return [
    `cust-${i}`,
    `Customer.${i}@Example.com`,
    `+447${String(400_000_000 + i).slice(-9)}`,
    `Customer ${i}`,
    'en',
    `Order ${i}: 3 items, delivered on time`,
  ];
}

/** Posts one dispatch request; fails unless every record was accepted (207 with 202). */
export async function postDispatchRequest(url: string, key: string, body: Buffer): Promise<void> {
  const response = await fetch(`${url}/api/dispatchRequest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  if (response.status !== 207) throw new Error(`POST /api/dispatchRequest answered ${response.status}: ${text}`);
  const status = (JSON.parse(text) as { statusByDispatch: { dispatchStatus: number; message: string }[] })
    .statusByDispatch[0];
  if (status?.dispatchStatus !== 202) throw new Error(`the dispatch request was not fully accepted: ${text}`);
}
