import { expect } from 'vitest';
import { createApiKey } from '../../src/accounts/api-keys.js';
import { seedAccount } from './accounts.js';
import { apiClient, type Answer, type ApiClient } from './api-client.js';
import type { TestHerald } from './herald.js';

/** A new account with an admin, an operator and a viewer key. */
export async function seedTeam(herald: TestHerald) {
  const { account, apiKey } = await seedAccount(herald.database, 'admin');
  const operator = await createApiKey(herald.database.db, { accountId: account.id, name: 'op', role: 'operator' });
  const viewer = await createApiKey(herald.database.db, { accountId: account.id, name: 'view', role: 'viewer' });
  return {
    account,
    admin: apiClient(herald, apiKey),
    operator: apiClient(herald, operator.key),
    viewer: apiClient(herald, viewer.key),
  };
}

/** Asserts Herald's one error shape, the status and code, and that the message names `mentions`. */
export function expectError(answer: Answer, status: number, code: string, ...mentions: string[]): void {
  expect(answer.status, answer.text).toBe(status);
  expect(Object.keys(answer.body as object).sort()).toEqual(['error', 'requestId']);
  const body = answer.body as { error: { code: string; message: string }; requestId: unknown };
  expect(body.error.code).toBe(code);
  expect(typeof body.requestId).toBe('string');
  for (const mention of mentions) expect(body.error.message).toContain(mention);
}

/** A uuid no row has. */
export const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

export const SMTP_SETTINGS = { host: 'smtp.example.test', port: 587, fromAddress: 'surveys@example.test' };

/** Creates one of each thing a dispatch refers to, through the API, and returns their ids. */
export async function seedDispatchParts(admin: ApiClient) {
  const created = async (path: string, json: unknown): Promise<string> => {
    const answer = await admin.post(path, json);
    expect(answer.status, answer.text).toBe(201);
    return (answer.body as { id: string }).id;
  };
  const questionnaireId = await created('/api/questionnaires', {
    name: 'Feedback',
    surveyUrl: 'https://survey.test/s',
  });
  const emailQuestionId = await created(`/api/questionnaires/${questionnaireId}/questions`, {
    text: 'Email',
    tags: ['Email'],
    pii: 'hash',
  });
  const storeQuestionId = await created(`/api/questionnaires/${questionnaireId}/questions`, { text: 'Store' });
  const deliveryPolicyId = await created('/api/delivery-policies', { name: 'Email first', channels: ['email'] });
  const vendorId = await created('/api/vendors', { name: 'Mail', kind: 'smtp', settings: SMTP_SETTINGS });
  return { questionnaireId, emailQuestionId, storeQuestionId, deliveryPolicyId, vendorId };
}

/** Creates a dispatch that uses every part, with a static prefill of the store question. */
export async function seedDispatch(admin: ApiClient, parts: Awaited<ReturnType<typeof seedDispatchParts>>) {
  const answer = await admin.post('/api/dispatches', {
    name: 'Spring survey',
    questionnaireId: parts.questionnaireId,
    deliveryPolicyId: parts.deliveryPolicyId,
    channelVendors: { email: parts.vendorId },
    staticPrefills: [{ questionId: parts.storeQuestionId, input: 'London' }],
  });
  expect(answer.status, answer.text).toBe(201);
  return answer.body as { id: string; name: string };
}
