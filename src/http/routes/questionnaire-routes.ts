import { Type } from '@sinclair/typebox';
import {
  createQuestion,
  createQuestionnaire,
  deleteQuestion,
  deleteQuestionnaire,
  getQuestionnaire,
  listQuestionnaires,
  listQuestions,
  updateQuestion,
  updateQuestionnaire,
} from '../../platforms/standalone/questionnaires.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { Deleted, IdParams, Name, Nullable, StringEnum } from '../platform-schemas.js';
import { Timestamp } from '../schemas.js';

const SurveyUrl = Nullable(
  Type.String({
    format: 'uri',
    pattern: '^[hH][tT][tT][pP][sS]?://',
    maxLength: 2000,
    description: 'An http(s) URL where the survey link sends the respondent; the token is appended',
  }),
);
const QuestionnaireSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  surveyUrl: Nullable(Type.String()),
  createdAt: Timestamp,
});
const QuestionnaireFields = { name: Name, surveyUrl: Type.Optional(SurveyUrl) };

const QuestionSchema = Type.Object({
  id: Type.String(),
  questionnaireId: Type.String(),
  text: Type.String(),
  displayType: Type.String(),
  tags: Type.Array(Type.String()),
  pii: StringEnum(['none', 'hash']),
  apiPrefill: Type.Boolean(),
  position: Type.Integer(),
  createdAt: Timestamp,
});
// No `default` keywords: the validator would fill them into PATCH bodies too. Defaults are the database's.
const QuestionFields = {
  text: Type.String({ minLength: 1, maxLength: 2000 }),
  displayType: Type.String({ minLength: 1, maxLength: 50, description: 'How the question is shown (default "Text")' }),
  tags: Type.Array(Type.String({ minLength: 1, maxLength: 50 }), {
    maxItems: 20,
    uniqueItems: true,
    description: 'e.g. Email, Mobile, cc_language, cc_timezone: how Herald finds a channel or setting (default none)',
  }),
  pii: StringEnum(['none', 'hash'], { description: '"hash": the answer is personal data, hashed (default "none")' }),
  apiPrefill: Type.Boolean({ description: 'Whether a dispatch request may prefill it (default true)' }),
  position: Type.Integer({ minimum: 0, maximum: 100000, description: 'Order in the questionnaire (default: last)' }),
};
const QuestionChanges = Type.Partial(Type.Object(QuestionFields), { additionalProperties: false });
const NewQuestion = Type.Object(
  { ...QuestionChanges.properties, text: QuestionFields.text },
  { additionalProperties: false },
);
const QuestionParams = Type.Object({
  id: Type.String({ maxLength: 100 }),
  questionId: Type.String({ maxLength: 100 }),
});

/** Questionnaires and their questions (the standalone platform's survey model). */
export function questionnaireRoutes(app: HttpApp, ctx: HttpContext): void {
  const db = ctx.database.db;
  const tags = ['questionnaires'];

  app.post(
    '/api/questionnaires',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Create a questionnaire',
        body: Type.Object(QuestionnaireFields, { additionalProperties: false }),
        response: { 201: QuestionnaireSchema },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createQuestionnaire(db, principalOf(request).accountId, request.body)),
  );

  app.get(
    '/api/questionnaires',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'List questionnaires', response: { 200: Type.Array(QuestionnaireSchema) } },
    },
    async (request) => listQuestionnaires(db, principalOf(request).accountId),
  );

  app.get(
    '/api/questionnaires/:id',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Read a questionnaire with its questions',
        params: IdParams,
        response: {
          200: Type.Composite([QuestionnaireSchema, Type.Object({ questions: Type.Array(QuestionSchema) })]),
        },
      },
    },
    async (request) => {
      const { accountId } = principalOf(request);
      const questionnaire = await getQuestionnaire(db, accountId, request.params.id);
      return { ...questionnaire, questions: await listQuestions(db, accountId, questionnaire.id) };
    },
  );

  app.patch(
    '/api/questionnaires/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Change a questionnaire',
        params: IdParams,
        body: Type.Partial(Type.Object(QuestionnaireFields), { additionalProperties: false }),
        response: { 200: QuestionnaireSchema },
      },
    },
    async (request) => updateQuestionnaire(db, principalOf(request).accountId, request.params.id, request.body),
  );

  app.delete(
    '/api/questionnaires/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Delete a questionnaire and its questions (409 while a dispatch uses it)',
        params: IdParams,
        response: Deleted,
      },
    },
    async (request, reply) => {
      await deleteQuestionnaire(ctx.database, principalOf(request).accountId, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/questionnaires/:id/questions',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Add a question',
        params: IdParams,
        body: NewQuestion,
        response: { 201: QuestionSchema },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createQuestion(db, principalOf(request).accountId, request.params.id, request.body)),
  );

  app.get(
    '/api/questionnaires/:id/questions',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: "List a questionnaire's questions, in order",
        params: IdParams,
        response: { 200: Type.Array(QuestionSchema) },
      },
    },
    async (request) => listQuestions(db, principalOf(request).accountId, request.params.id),
  );

  app.patch(
    '/api/questionnaires/:id/questions/:questionId',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Change a question',
        params: QuestionParams,
        body: QuestionChanges,
        response: { 200: QuestionSchema },
      },
    },
    async (request) =>
      updateQuestion(db, principalOf(request).accountId, request.params.id, request.params.questionId, request.body),
  );

  app.delete(
    '/api/questionnaires/:id/questions/:questionId',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Delete a question (409 while a dispatch gives it a static prefill)',
        params: QuestionParams,
        response: Deleted,
      },
    },
    async (request, reply) => {
      await deleteQuestion(ctx.database, principalOf(request).accountId, request.params.id, request.params.questionId);
      return reply.status(204).send(null);
    },
  );
}
