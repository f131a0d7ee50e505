import { Type } from '@sinclair/typebox';
import {
  createDeliveryPolicy,
  deleteDeliveryPolicy,
  getDeliveryPolicy,
  listDeliveryPolicies,
  updateDeliveryPolicy,
} from '../../platforms/standalone/delivery-policies.js';
import { channels } from '../../storage/schema.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { Deleted, IdParams, Name, Nullable, StringEnum, Uuid } from '../platform-schemas.js';
import { Timestamp } from '../schemas.js';

const Channels = Type.Array(StringEnum(channels), {
  minItems: 1,
  uniqueItems: true,
  description: 'In order of preference: the first is the primary channel',
});
const PolicySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  channels: Type.Array(StringEnum(channels)),
  uuidQuestionId: Nullable(Type.String()),
  paused: Type.Boolean(),
  createdAt: Timestamp,
});
// No `default` keywords: the validator would fill them into PATCH bodies too. Defaults are the database's.
const PolicyFields = {
  name: Name,
  channels: Channels,
  uuidQuestionId: Type.Optional(
    Nullable(Uuid({ description: "The question holding a record's UUID (a question of this account)" })),
  ),
  paused: Type.Optional(Type.Boolean({ description: 'A paused policy sends nothing (default false)' })),
};

/** Delivery policies: which channels, in which order, and whether sending is paused. */
export function deliveryPolicyRoutes(app: HttpApp, ctx: HttpContext): void {
  const db = ctx.database.db;
  const tags = ['delivery policies'];

  app.post(
    '/api/delivery-policies',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Create a delivery policy',
        body: Type.Object(PolicyFields, { additionalProperties: false }),
        response: { 201: PolicySchema },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createDeliveryPolicy(db, principalOf(request).accountId, request.body)),
  );

  app.get(
    '/api/delivery-policies',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'List delivery policies', response: { 200: Type.Array(PolicySchema) } },
    },
    async (request) => listDeliveryPolicies(db, principalOf(request).accountId),
  );

  app.get(
    '/api/delivery-policies/:id',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'Read a delivery policy', params: IdParams, response: { 200: PolicySchema } },
    },
    async (request) => getDeliveryPolicy(db, principalOf(request).accountId, request.params.id),
  );

  app.patch(
    '/api/delivery-policies/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Change a delivery policy (`{"paused": true}` pauses it, `false` resumes it)',
        params: IdParams,
        body: Type.Partial(Type.Object(PolicyFields), { additionalProperties: false }),
        response: { 200: PolicySchema },
      },
    },
    async (request) => updateDeliveryPolicy(db, principalOf(request).accountId, request.params.id, request.body),
  );

  app.delete(
    '/api/delivery-policies/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Delete a delivery policy (409 while a dispatch uses it)',
        params: IdParams,
        response: Deleted,
      },
    },
    async (request, reply) => {
      await deleteDeliveryPolicy(ctx.database, principalOf(request).accountId, request.params.id);
      return reply.status(204).send(null);
    },
  );
}
