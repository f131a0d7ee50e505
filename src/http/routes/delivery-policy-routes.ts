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
const HourMinute = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM, 24-hour clock' });
const SendWindowSchema = Type.Object(
  {
    days: Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), {
      minItems: 1,
      uniqueItems: true,
      description: '0 = Sunday … 6 = Saturday',
    }),
    start: HourMinute,
    end: Type.Intersect([HourMinute], { description: 'Exclusive; earlier than start for a window past midnight' }),
    timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone, e.g. Europe/Paris' }),
    recipientTimezone: Type.Boolean({
      description: "Read the hours in the recipient's zone (a cc_timezone prefill) when given",
    }),
  },
  { additionalProperties: false },
);
const RemindersSchema = Type.Array(
  Type.Object({ afterMinutes: Type.Integer({ minimum: 1, maximum: 60 * 24 * 90 }) }, { additionalProperties: false }),
  {
    maxItems: 10,
    description: 'Reminder n goes afterMinutes after the previous message, while the survey is unanswered',
  },
);
const FatigueSchema = Type.Object(
  { maxInvitations: Type.Integer({ minimum: 1, maximum: 1000 }), perDays: Type.Integer({ minimum: 1, maximum: 3650 }) },
  {
    additionalProperties: false,
    description: 'At most maxInvitations first invitations to one UUID per perDays days, across the account',
  },
);
const PolicySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  channels: Type.Array(StringEnum(channels)),
  uuidQuestionId: Nullable(Type.String()),
  paused: Type.Boolean(),
  sendWindow: Nullable(SendWindowSchema),
  reminders: RemindersSchema,
  fatigue: Nullable(FatigueSchema),
  channelFallback: Type.Boolean(),
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
  sendWindow: Type.Optional(Nullable(SendWindowSchema)),
  reminders: Type.Optional(RemindersSchema),
  fatigue: Type.Optional(Nullable(FatigueSchema)),
  channelFallback: Type.Optional(
    Type.Boolean({
      description: "Use the next channel when the primary one's value is missing or fails permanently (default false)",
    }),
  ),
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
