import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invitations } from '../../../src/storage/schema.js';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import {
  expectError,
  seedDispatch,
  seedDispatchParts,
  seedTeam,
  SMTP_SETTINGS,
  UNKNOWN_ID,
} from '../../support/management.js';

describe.each(databaseKinds())('dispatches on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  it('creates, reads, lists, changes, pauses, resumes and deletes a dispatch', async () => {
    const { admin, operator } = await seedTeam(herald);
    const parts = await seedDispatchParts(admin);
    const created = await admin.post('/api/dispatches', {
      name: 'Spring',
      // Ids are accepted in any case and stored as the database writes them.
      questionnaireId: parts.questionnaireId.toUpperCase(),
      deliveryPolicyId: parts.deliveryPolicyId,
      channelVendors: { email: parts.vendorId },
      staticPrefills: [{ questionId: parts.storeQuestionId.toUpperCase(), input: 'London' }],
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Spring',
      questionnaireId: parts.questionnaireId,
      deliveryPolicyId: parts.deliveryPolicyId,
      channelVendors: { email: parts.vendorId },
      staticPrefills: [{ questionId: parts.storeQuestionId, input: 'London' }],
      defaultLanguage: 'en',
      paused: false,
    });
    const { id } = created.body as { id: string };
    expect((await admin.get(`/api/dispatches/${id}`)).body).toEqual(created.body);
    expect((await admin.get('/api/dispatches')).body).toEqual([created.body]);

    const changed = await admin.patch(`/api/dispatches/${id}`, {
      name: 'Summer',
      defaultLanguage: 'fr',
      staticPrefills: [],
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toMatchObject({
      name: 'Summer',
      defaultLanguage: 'fr',
      staticPrefills: [],
      channelVendors: { email: parts.vendorId },
    });

    const paused = await operator.post(`/api/dispatches/${id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ id, paused: true, name: 'Summer' });
    expect((await admin.get(`/api/dispatches/${id}`)).body.paused).toBe(true);
    expect((await operator.post(`/api/dispatches/${id}/resume`)).body.paused).toBe(false);
    expect((await admin.get(`/api/dispatches/${id}`)).body.paused).toBe(false);

    expect((await admin.delete(`/api/dispatches/${id}`)).status).toBe(204);
    expectError(await admin.get(`/api/dispatches/${id}`), 404, 'NOT_FOUND');
  });

  it('answers 400 naming the field when a reference is missing, foreign or of the wrong channel', async () => {
    const a = await seedTeam(herald);
    const b = await seedTeam(herald);
    const mine = await seedDispatchParts(a.admin);
    const theirs = await seedDispatchParts(b.admin);
    const valid = {
      name: 'D',
      questionnaireId: mine.questionnaireId,
      deliveryPolicyId: mine.deliveryPolicyId,
      channelVendors: { email: mine.vendorId },
    };
    const post = (changes: object) => a.admin.post('/api/dispatches', { ...valid, ...changes });

    expectError(await post({ questionnaireId: theirs.questionnaireId }), 400, 'VALIDATION_FAILED', 'questionnaireId');
    expectError(await post({ questionnaireId: UNKNOWN_ID }), 400, 'VALIDATION_FAILED', 'questionnaireId');
    expectError(await post({ questionnaireId: 'q1' }), 400, 'VALIDATION_FAILED', 'questionnaireId');
    expectError(
      await post({ deliveryPolicyId: theirs.deliveryPolicyId }),
      400,
      'VALIDATION_FAILED',
      'deliveryPolicyId',
    );
    expectError(
      await post({ channelVendors: { email: theirs.vendorId } }),
      400,
      'VALIDATION_FAILED',
      'channelVendors.email',
    );
    expectError(
      await post({ channelVendors: { sms: mine.vendorId } }),
      400,
      'VALIDATION_FAILED',
      'channelVendors.sms',
      'delivers email',
    );
    expectError(await post({ channelVendors: { fax: mine.vendorId } }), 400, 'VALIDATION_FAILED', 'channelVendors');
    const otherQuestionnaire = await seedDispatchParts(a.admin);
    expectError(
      await post({ staticPrefills: [{ questionId: otherQuestionnaire.storeQuestionId, input: 'x' }] }),
      400,
      'VALIDATION_FAILED',
      'staticPrefills.0.questionId',
    );
    expectError(
      await post({ staticPrefills: [{ questionId: theirs.storeQuestionId, input: 'x' }] }),
      400,
      'VALIDATION_FAILED',
      'staticPrefills.0.questionId',
    );
    expectError(
      await post({
        staticPrefills: [
          { questionId: mine.storeQuestionId, input: 'x' },
          { questionId: mine.storeQuestionId, input: 'y' },
        ],
      }),
      400,
      'VALIDATION_FAILED',
      'staticPrefills.1.questionId',
    );
    expectError(await post({ defaultLanguage: 'EN' }), 400, 'VALIDATION_FAILED', 'defaultLanguage');
    expectError(await post({ defaultLanguage: 'eng' }), 400, 'VALIDATION_FAILED', 'defaultLanguage');
    expectError(await post({ name: undefined }), 400, 'VALIDATION_FAILED', 'name');
    expect((await a.admin.get('/api/dispatches')).body).toEqual([]);

    // A changed questionnaire must still hold the dispatch's prefilled questions.
    const dispatch = await seedDispatch(a.admin, mine);
    expectError(
      await a.admin.patch(`/api/dispatches/${dispatch.id}`, { questionnaireId: otherQuestionnaire.questionnaireId }),
      400,
      'VALIDATION_FAILED',
      'staticPrefills.0.questionId',
    );
    expect((await a.admin.get(`/api/dispatches/${dispatch.id}`)).body.questionnaireId).toBe(mine.questionnaireId);
    const moved = await a.admin.patch(`/api/dispatches/${dispatch.id}`, {
      questionnaireId: otherQuestionnaire.questionnaireId,
      staticPrefills: [{ questionId: otherQuestionnaire.storeQuestionId, input: 'Paris' }],
    });
    expect(moved.status, moved.text).toBe(200);
  });

  it("answers 404 for another account's dispatch", async () => {
    const a = await seedTeam(herald);
    const b = await seedTeam(herald);
    const dispatch = await seedDispatch(a.admin, await seedDispatchParts(a.admin));
    expectError(await b.admin.get(`/api/dispatches/${dispatch.id}`), 404, 'NOT_FOUND');
    expectError(await b.admin.patch(`/api/dispatches/${dispatch.id}`, { name: 'Theirs' }), 404, 'NOT_FOUND');
    expectError(await b.admin.delete(`/api/dispatches/${dispatch.id}`), 404, 'NOT_FOUND');
    expectError(await b.operator.post(`/api/dispatches/${dispatch.id}/pause`), 404, 'NOT_FOUND');
    expectError(await a.admin.post('/api/dispatches/not-a-uuid/pause'), 404, 'NOT_FOUND');
    expect((await b.admin.get('/api/dispatches')).body).toEqual([]);
    expect((await a.admin.get(`/api/dispatches/${dispatch.id}`)).body).toMatchObject({
      name: dispatch.name,
      paused: false,
    });
  });

  it('needs admin to write and operator to pause or resume', async () => {
    const { admin, operator, viewer } = await seedTeam(herald);
    const parts = await seedDispatchParts(admin);
    const dispatch = await seedDispatch(admin, parts);
    const body = { name: 'X', questionnaireId: parts.questionnaireId, deliveryPolicyId: parts.deliveryPolicyId };
    expectError(await operator.post('/api/dispatches', body), 403, 'FORBIDDEN');
    expectError(await operator.patch(`/api/dispatches/${dispatch.id}`, { paused: true }), 403, 'FORBIDDEN');
    expectError(await operator.delete(`/api/dispatches/${dispatch.id}`), 403, 'FORBIDDEN');
    expectError(await viewer.post(`/api/dispatches/${dispatch.id}/pause`), 403, 'FORBIDDEN', 'operator');
    expect((await viewer.get(`/api/dispatches/${dispatch.id}`)).body.paused).toBe(false);
    expect((await admin.post(`/api/dispatches/${dispatch.id}/pause`)).body.paused).toBe(true);
  });

  it('refuses to delete a dispatch that has invitations (409)', async () => {
    const { account, admin } = await seedTeam(herald);
    const dispatch = await seedDispatch(admin, await seedDispatchParts(admin));
    await herald.database.db.insert(invitations).values({
      accountId: account.id,
      batchId: 'b1',
      dispatchId: dispatch.id,
      recordIndex: 0,
      state: 'requested',
      prefills: [],
    });
    expectError(await admin.delete(`/api/dispatches/${dispatch.id}`), 409, 'CONFLICT', 'pause');
    expect((await admin.get(`/api/dispatches/${dispatch.id}`)).status).toBe(200);
  });

  it('accepts a vendor per channel only when each delivers its channel', async () => {
    const { admin } = await seedTeam(herald);
    const parts = await seedDispatchParts(admin);
    const second = (await admin.post('/api/vendors', { name: 'Backup', kind: 'smtp', settings: SMTP_SETTINGS }))
      .body as { id: string };
    const dispatch = await seedDispatch(admin, parts);
    const swapped = await admin.patch(`/api/dispatches/${dispatch.id}`, { channelVendors: { email: second.id } });
    expect(swapped.body.channelVendors).toEqual({ email: second.id });
    // The first vendor is free again; the second is now in use.
    expect((await admin.delete(`/api/vendors/${parts.vendorId}`)).status).toBe(204);
    expectError(await admin.delete(`/api/vendors/${second.id}`), 409, 'CONFLICT', dispatch.name);
  });
});
