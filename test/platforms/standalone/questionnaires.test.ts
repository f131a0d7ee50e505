import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../../support/databases.js';
import { startTestHerald, type TestHerald } from '../../support/herald.js';
import { expectError, seedDispatch, seedDispatchParts, seedTeam, UNKNOWN_ID } from '../../support/management.js';

describe.each(databaseKinds())('questionnaires and questions on %s', (kind) => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald(kind, { roles: { api: true, workers: false } });
  });
  afterAll(() => herald?.stop());

  it('creates, reads, lists, changes and deletes a questionnaire', async () => {
    const { admin } = await seedTeam(herald);
    const created = await admin.post('/api/questionnaires', { name: 'Onboarding', surveyUrl: 'https://survey.test/a' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Onboarding', surveyUrl: 'https://survey.test/a' });
    const { id } = created.body as { id: string };

    expect((await admin.get(`/api/questionnaires/${id}`)).body).toMatchObject({
      id,
      name: 'Onboarding',
      questions: [],
    });
    expect((await admin.get('/api/questionnaires')).body).toEqual([created.body]);

    const renamed = await admin.patch(`/api/questionnaires/${id}`, { name: 'Welcome', surveyUrl: null });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id, name: 'Welcome', surveyUrl: null });
    expect((await admin.get(`/api/questionnaires/${id}`)).body).toMatchObject({ name: 'Welcome', surveyUrl: null });

    expect((await admin.delete(`/api/questionnaires/${id}`)).status).toBe(204);
    expectError(await admin.get(`/api/questionnaires/${id}`), 404, 'NOT_FOUND', id);
    expect((await admin.get('/api/questionnaires')).body).toEqual([]);
  });

  it('manages questions in order, with defaults', async () => {
    const { admin } = await seedTeam(herald);
    const { id } = (await admin.post('/api/questionnaires', { name: 'Q' })).body as { id: string };
    const email = await admin.post(`/api/questionnaires/${id}/questions`, {
      text: 'Email address',
      tags: ['Email'],
      pii: 'hash',
      apiPrefill: false,
    });
    expect(email.status).toBe(201);
    expect(email.body).toMatchObject({
      questionnaireId: id,
      displayType: 'Text',
      tags: ['Email'],
      pii: 'hash',
      apiPrefill: false,
      position: 0,
    });
    const language = await admin.post(`/api/questionnaires/${id}/questions`, {
      text: 'Language',
      tags: ['cc_language'],
    });
    // Without a position a question goes last; the defaults are the documented ones.
    expect(language.body).toMatchObject({ displayType: 'Text', pii: 'none', apiPrefill: true, position: 1 });
    const first = await admin.post(`/api/questionnaires/${id}/questions`, {
      text: 'Name',
      position: 0,
      displayType: 'Short',
    });
    expect(first.body).toMatchObject({ position: 0, displayType: 'Short' });

    const listed = (await admin.get(`/api/questionnaires/${id}/questions`)).body as { text: string }[];
    expect(listed.map((q) => q.text).sort()).toEqual(['Email address', 'Language', 'Name']);
    expect(listed.at(-1)?.text).toBe('Language');

    const languageId = (language.body as { id: string }).id;
    const moved = await admin.patch(`/api/questionnaires/${id}/questions/${languageId}`, {
      position: 5,
      tags: ['cc_language', 'Extra'],
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ id: languageId, text: 'Language', position: 5, tags: ['cc_language', 'Extra'] });

    expect((await admin.delete(`/api/questionnaires/${id}/questions/${languageId}`)).status).toBe(204);
    const withQuestions = (await admin.get(`/api/questionnaires/${id}`)).body as { questions: { id: string }[] };
    expect(withQuestions.questions).toHaveLength(2);
    expect(withQuestions.questions.map((q) => q.id)).not.toContain(languageId);

    // Deleting the questionnaire deletes its questions.
    expect((await admin.delete(`/api/questionnaires/${id}`)).status).toBe(204);
    expectError(await admin.get(`/api/questionnaires/${id}/questions`), 404, 'NOT_FOUND');
  });

  it('rejects bad input with a 400 naming the field', async () => {
    const { admin } = await seedTeam(herald);
    expectError(await admin.post('/api/questionnaires', {}), 400, 'VALIDATION_FAILED', 'name');
    expectError(await admin.post('/api/questionnaires', { name: '' }), 400, 'VALIDATION_FAILED', 'name');
    expectError(
      await admin.post('/api/questionnaires', { name: 'x', surveyUrl: 'ftp://survey.test' }),
      400,
      'VALIDATION_FAILED',
      'surveyUrl',
    );
    expectError(
      await admin.post('/api/questionnaires', { name: 'x', surveyUrl: 'not a url' }),
      400,
      'VALIDATION_FAILED',
      'surveyUrl',
    );
    const { id } = (await admin.post('/api/questionnaires', { name: 'Q' })).body as { id: string };
    const questions = `/api/questionnaires/${id}/questions`;
    expectError(await admin.post(questions, { tags: [] }), 400, 'VALIDATION_FAILED', 'text');
    expectError(await admin.post(questions, { text: 'x', pii: 'maybe' }), 400, 'VALIDATION_FAILED', 'pii');
    const tooMany = Array.from({ length: 21 }, (_, i) => `tag${i}`);
    expectError(await admin.post(questions, { text: 'x', tags: tooMany }), 400, 'VALIDATION_FAILED', 'tags');
    expectError(await admin.post(questions, { text: 'x', tags: ['a'.repeat(51)] }), 400, 'VALIDATION_FAILED', 'tags');
    expectError(await admin.post(questions, { text: 'x', tags: [''] }), 400, 'VALIDATION_FAILED', 'tags');
    expectError(await admin.post(questions, { text: 'x', position: -1 }), 400, 'VALIDATION_FAILED', 'position');
    expect((await admin.get(questions)).body).toEqual([]);
  });

  it("answers 404 for another account's questionnaires and questions, and for ids that are no uuid", async () => {
    const a = await seedTeam(herald);
    const b = await seedTeam(herald);
    const { id } = (await a.admin.post('/api/questionnaires', { name: 'Mine' })).body as { id: string };
    const question = (await a.admin.post(`/api/questionnaires/${id}/questions`, { text: 'Q' })).body as { id: string };

    expectError(await b.admin.get(`/api/questionnaires/${id}`), 404, 'NOT_FOUND');
    expectError(await b.admin.patch(`/api/questionnaires/${id}`, { name: 'Theirs' }), 404, 'NOT_FOUND');
    expectError(await b.admin.delete(`/api/questionnaires/${id}`), 404, 'NOT_FOUND');
    expectError(await b.admin.get(`/api/questionnaires/${id}/questions`), 404, 'NOT_FOUND');
    expectError(await b.admin.post(`/api/questionnaires/${id}/questions`, { text: 'Q' }), 404, 'NOT_FOUND');
    expectError(
      await b.admin.patch(`/api/questionnaires/${id}/questions/${question.id}`, { text: 'Z' }),
      404,
      'NOT_FOUND',
    );
    expectError(await b.admin.delete(`/api/questionnaires/${id}/questions/${question.id}`), 404, 'NOT_FOUND');
    expect((await b.admin.get('/api/questionnaires')).body).toEqual([]);

    // A question is reached only through its own questionnaire.
    const other = (await a.admin.post('/api/questionnaires', { name: 'Other' })).body as { id: string };
    expectError(
      await a.admin.patch(`/api/questionnaires/${other.id}/questions/${question.id}`, { text: 'Z' }),
      404,
      'NOT_FOUND',
    );
    expectError(await a.admin.get('/api/questionnaires/not-a-uuid'), 404, 'NOT_FOUND');
    expectError(await a.admin.delete(`/api/questionnaires/${UNKNOWN_ID}`), 404, 'NOT_FOUND');

    expect((await a.admin.get(`/api/questionnaires/${id}`)).body).toMatchObject({
      name: 'Mine',
      questions: [{ text: 'Q' }],
    });
  });

  it('lets a viewer read but not write', async () => {
    const { admin, viewer } = await seedTeam(herald);
    const { id } = (await admin.post('/api/questionnaires', { name: 'Q' })).body as { id: string };
    expect((await viewer.get(`/api/questionnaires/${id}`)).status).toBe(200);
    expect((await viewer.get(`/api/questionnaires/${id}/questions`)).status).toBe(200);
    expectError(await viewer.post('/api/questionnaires', { name: 'No' }), 403, 'FORBIDDEN');
    expectError(await viewer.patch(`/api/questionnaires/${id}`, { name: 'No' }), 403, 'FORBIDDEN');
    expectError(await viewer.delete(`/api/questionnaires/${id}`), 403, 'FORBIDDEN');
    expectError(await viewer.post(`/api/questionnaires/${id}/questions`, { text: 'No' }), 403, 'FORBIDDEN');
    expect((await admin.get('/api/questionnaires')).body).toHaveLength(1);
  });

  it('refuses to delete a questionnaire or prefilled question a dispatch uses (409 naming it)', async () => {
    const { admin } = await seedTeam(herald);
    const parts = await seedDispatchParts(admin);
    const dispatch = await seedDispatch(admin, parts);

    expectError(
      await admin.delete(`/api/questionnaires/${parts.questionnaireId}`),
      409,
      'CONFLICT',
      dispatch.name,
      dispatch.id,
    );
    const prefilled = `/api/questionnaires/${parts.questionnaireId}/questions/${parts.storeQuestionId}`;
    expectError(await admin.delete(prefilled), 409, 'CONFLICT', dispatch.name);
    // A question the dispatch does not prefill can go.
    expect(
      (await admin.delete(`/api/questionnaires/${parts.questionnaireId}/questions/${parts.emailQuestionId}`)).status,
    ).toBe(204);

    expect((await admin.delete(`/api/dispatches/${dispatch.id}`)).status).toBe(204);
    expect((await admin.delete(prefilled)).status).toBe(204);
    expect((await admin.delete(`/api/questionnaires/${parts.questionnaireId}`)).status).toBe(204);
  });
});
