import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { expectError, seedDispatch, seedDispatchParts, seedTeam, UNKNOWN_ID } from '../../support/management.js';

describe.each(databaseKinds())('delivery policies on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  it('creates, reads, lists, pauses, resumes, changes and deletes a policy', async () => {
    const { admin } = await seedTeam(herald);
    const questionnaire = (await admin.post('/api/questionnaires', { name: 'Q' })).body as { id: string };
    const uuidQuestion = (
      await admin.post(`/api/questionnaires/${questionnaire.id}/questions`, { text: 'Customer id' })
    ).body as { id: string };

    const created = await admin.post('/api/delivery-policies', {
      name: 'SMS then email',
      channels: ['sms', 'email'],
      uuidQuestionId: uuidQuestion.id,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'SMS then email',
      channels: ['sms', 'email'],
      uuidQuestionId: uuidQuestion.id,
      paused: false,
    });
    const { id } = created.body as { id: string };
    expect((await admin.get(`/api/delivery-policies/${id}`)).body).toEqual(created.body);
    expect((await admin.get('/api/delivery-policies')).body).toEqual([created.body]);

    const paused = await admin.patch(`/api/delivery-policies/${id}`, { paused: true });
    expect(paused.body).toMatchObject({ paused: true, name: 'SMS then email', channels: ['sms', 'email'] });
    expect((await admin.get(`/api/delivery-policies/${id}`)).body.paused).toBe(true);
    expect((await admin.patch(`/api/delivery-policies/${id}`, { paused: false })).body.paused).toBe(false);

    const changed = await admin.patch(`/api/delivery-policies/${id}`, { channels: ['whatsapp'], uuidQuestionId: null });
    expect(changed.body).toMatchObject({ channels: ['whatsapp'], uuidQuestionId: null, paused: false });

    expect((await admin.delete(`/api/delivery-policies/${id}`)).status).toBe(204);
    expectError(await admin.get(`/api/delivery-policies/${id}`), 404, 'NOT_FOUND');
  });

  it('rejects bad input with a 400 naming the field', async () => {
    const a = await seedTeam(herald);
    const b = await seedTeam(herald);
    const post = (json: unknown) => a.admin.post('/api/delivery-policies', json);
    expectError(await post({ channels: ['email'] }), 400, 'VALIDATION_FAILED', 'name');
    expectError(await post({ name: 'P' }), 400, 'VALIDATION_FAILED', 'channels');
    expectError(await post({ name: 'P', channels: [] }), 400, 'VALIDATION_FAILED', 'channels');
    expectError(await post({ name: 'P', channels: ['email', 'email'] }), 400, 'VALIDATION_FAILED', 'channels');
    expectError(await post({ name: 'P', channels: ['fax'] }), 400, 'VALIDATION_FAILED', 'channels');
    expectError(
      await post({ name: 'P', channels: ['email'], uuidQuestionId: 'nope' }),
      400,
      'VALIDATION_FAILED',
      'uuidQuestionId',
    );
    expectError(
      await post({ name: 'P', channels: ['email'], uuidQuestionId: UNKNOWN_ID }),
      400,
      'VALIDATION_FAILED',
      'uuidQuestionId',
    );
    // A question of another account is no question of this one.
    const theirs = (await b.admin.post('/api/questionnaires', { name: 'Q' })).body as { id: string };
    const theirQuestion = (await b.admin.post(`/api/questionnaires/${theirs.id}/questions`, { text: 'Id' })).body as {
      id: string;
    };
    expectError(
      await post({ name: 'P', channels: ['email'], uuidQuestionId: theirQuestion.id }),
      400,
      'VALIDATION_FAILED',
      'uuidQuestionId',
    );
    expectError(
      await post({ name: 'P', channels: ['email'], paused: 'sometimes' }),
      400,
      'VALIDATION_FAILED',
      'paused',
    );
    expect((await a.admin.get('/api/delivery-policies')).body).toEqual([]);
  });

  it("answers 404 for another account's policy and keeps viewers to reading", async () => {
    const a = await seedTeam(herald);
    const b = await seedTeam(herald);
    const { id } = (await a.admin.post('/api/delivery-policies', { name: 'Mine', channels: ['email'] })).body as {
      id: string;
    };
    expectError(await b.admin.get(`/api/delivery-policies/${id}`), 404, 'NOT_FOUND');
    expectError(await b.admin.patch(`/api/delivery-policies/${id}`, { paused: true }), 404, 'NOT_FOUND');
    expectError(await b.admin.delete(`/api/delivery-policies/${id}`), 404, 'NOT_FOUND');
    expectError(await a.admin.get('/api/delivery-policies/42'), 404, 'NOT_FOUND');

    expect((await a.viewer.get(`/api/delivery-policies/${id}`)).status).toBe(200);
    expectError(await a.viewer.post('/api/delivery-policies', { name: 'No', channels: ['email'] }), 403, 'FORBIDDEN');
    expectError(await a.viewer.patch(`/api/delivery-policies/${id}`, { paused: true }), 403, 'FORBIDDEN');
    expectError(await a.viewer.delete(`/api/delivery-policies/${id}`), 403, 'FORBIDDEN');
    expect((await a.admin.get(`/api/delivery-policies/${id}`)).body).toMatchObject({ name: 'Mine', paused: false });
  });

  it('refuses to delete a policy a dispatch uses (409 naming it)', async () => {
    const { admin } = await seedTeam(herald);
    const parts = await seedDispatchParts(admin);
    const dispatch = await seedDispatch(admin, parts);
    expectError(await admin.delete(`/api/delivery-policies/${parts.deliveryPolicyId}`), 409, 'CONFLICT', dispatch.name);
    expect((await admin.get(`/api/delivery-policies/${parts.deliveryPolicyId}`)).status).toBe(200);
    expect((await admin.delete(`/api/dispatches/${dispatch.id}`)).status).toBe(204);
    expect((await admin.delete(`/api/delivery-policies/${parts.deliveryPolicyId}`)).status).toBe(204);
  });
});
