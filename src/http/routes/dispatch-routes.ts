import { Type } from '@sinclair/typebox';
import {
  createDispatch,
  deleteDispatch,
  getDispatch,
  listDispatches,
  setDispatchPaused,
  updateDispatch,
} from '../../platforms/standalone/dispatches.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { Deleted, IdParams, Name, Uuid } from '../platform-schemas.js';
import { Timestamp } from '../schemas.js';

const ChannelVendors = Type.Object(
  { email: Type.Optional(Uuid()), sms: Type.Optional(Uuid()), whatsapp: Type.Optional(Uuid()) },
  { additionalProperties: false, description: 'The vendor (of that channel) that delivers each channel' },
);
const StaticPrefills = Type.Array(
  Type.Object({ questionId: Uuid(), input: Type.String({ maxLength: 4000 }) }, { additionalProperties: false }),
  { maxItems: 200, description: "Values added to every record (a record's own value wins)" },
);
const TemplateChoice = Type.Object(
  { initial: Uuid(), reminders: Type.Optional(Type.Array(Uuid(), { maxItems: 10 })) },
  { additionalProperties: false },
);
const Templates = Type.Object(
  { email: Type.Optional(TemplateChoice), sms: Type.Optional(TemplateChoice), whatsapp: Type.Optional(TemplateChoice) },
  {
    additionalProperties: false,
    description: "Content template per channel: the first message's and each reminder's (none: Herald's built-in one)",
  },
);
const DispatchSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  questionnaireId: Type.String(),
  deliveryPolicyId: Type.String(),
  channelVendors: Type.Object({
    email: Type.Optional(Type.String()),
    sms: Type.Optional(Type.String()),
    whatsapp: Type.Optional(Type.String()),
  }),
  staticPrefills: Type.Array(Type.Object({ questionId: Type.String(), input: Type.String() })),
  defaultLanguage: Type.String(),
  templates: Type.Record(
    Type.String(),
    Type.Object({ initial: Type.String(), reminders: Type.Optional(Type.Array(Type.String())) }),
  ),
  paused: Type.Boolean(),
  createdAt: Timestamp,
});
// No `default` keywords: the validator would fill them into PATCH bodies too. Defaults are the database's.
const DispatchFields = {
  name: Name,
  questionnaireId: Uuid(),
  deliveryPolicyId: Uuid(),
  channelVendors: Type.Optional(ChannelVendors),
  staticPrefills: Type.Optional(StaticPrefills),
  templates: Type.Optional(Templates),
  defaultLanguage: Type.Optional(
    Type.String({ pattern: '^[a-z]{2}$', description: 'ISO 639-1, two lower-case letters (default "en")' }),
  ),
  paused: Type.Optional(Type.Boolean({ description: 'A paused dispatch takes no new records (default false)' })),
};

/** Dispatches: a questionnaire, a delivery policy and a vendor per channel, live or paused. */
export function dispatchRoutes(app: HttpApp, ctx: HttpContext): void {
  const db = ctx.database.db;
  const tags = ['dispatches'];

  app.post(
    '/api/dispatches',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Create a dispatch',
        body: Type.Object(DispatchFields, { additionalProperties: false }),
        response: { 201: DispatchSchema },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createDispatch(ctx.database, principalOf(request).accountId, request.body)),
  );

  app.get(
    '/api/dispatches',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'List dispatches', response: { 200: Type.Array(DispatchSchema) } },
    },
    async (request) => listDispatches(db, principalOf(request).accountId),
  );

  app.get(
    '/api/dispatches/:id',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'Read a dispatch', params: IdParams, response: { 200: DispatchSchema } },
    },
    async (request) => getDispatch(db, principalOf(request).accountId, request.params.id),
  );

  app.patch(
    '/api/dispatches/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Change a dispatch',
        params: IdParams,
        body: Type.Partial(Type.Object(DispatchFields), { additionalProperties: false }),
        response: { 200: DispatchSchema },
      },
    },
    async (request) => updateDispatch(ctx.database, principalOf(request).accountId, request.params.id, request.body),
  );

  app.delete(
    '/api/dispatches/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Delete a dispatch that has no invitations (409 otherwise)',
        params: IdParams,
        response: Deleted,
      },
    },
    async (request, reply) => {
      await deleteDispatch(db, principalOf(request).accountId, request.params.id);
      return reply.status(204).send(null);
    },
  );

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(
      `/api/dispatches/:id/${action}`,
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: paused ? 'Pause a dispatch: it takes no new records' : 'Resume a paused dispatch',
          params: IdParams,
          response: { 200: DispatchSchema },
        },
      },
      async (request) => setDispatchPaused(db, principalOf(request).accountId, request.params.id, paused),
    );
  }
}
