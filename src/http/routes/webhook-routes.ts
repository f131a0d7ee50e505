import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { listDeliveries, replayDeadLetters } from '../../pipeline/events-out/webhook-delivery-log.js';
import { eventSubTypes } from '../../pipeline/events-out/envelope.js';
import { getEventPrivacy, setEventPrivacy } from '../../pipeline/events-out/event-privacy.js';
import {
  createSubscription,
  DEFAULT_ROTATION_OVERLAP_SECONDS,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  rotateSubscriptionSecret,
  updateSubscription,
} from '../../pipeline/events-out/subscriptions.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { Deleted, IdParams, Nullable, StringEnum, Uuid } from '../platform-schemas.js';
import { Timestamp } from '../schemas.js';

const Url = Type.String({ minLength: 1, maxLength: 2000, description: 'An http:// or https:// URL' });
const Description = Nullable(Type.String({ maxLength: 500 }));
const EventTypes = Type.Array(Type.String({ maxLength: 50 }), {
  maxItems: 50,
  description: `Event sub-types to send (empty: all): ${eventSubTypes.join(', ')}`,
});
const DispatchIds = Type.Array(Uuid(), { maxItems: 500, description: 'Dispatches whose events to send (empty: all)' });
const IncludePii = Type.Boolean({
  description:
    'Send original identifiers (uuid, target) instead of hashes. Needs the account to allow it (PUT /api/account/event-privacy).',
});
const Status = StringEnum(['active', 'disabled'] as const, {
  description: 'A disabled subscription gets nothing; `active` re-enables it and its pending deliveries go out',
});

const SubscriptionSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  description: Description,
  eventTypes: Type.Array(Type.String()),
  dispatchIds: Type.Array(Type.String()),
  includePii: Type.Boolean(),
  status: Status,
  disabledReason: Nullable(Type.String()),
  failingSince: Nullable(Timestamp),
  previousSecretExpiresAt: Nullable(Timestamp),
  createdAt: Timestamp,
});
const WithSecret = Type.Object({
  subscription: SubscriptionSchema,
  secret: Type.String({
    description:
      'The signing secret, shown only now. Each delivery has Herald-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">',
  }),
});

const DeliverySchema = Type.Object({
  id: Type.Integer(),
  eventId: Type.String({ description: 'The idempotency id the receiver sees (Herald-Event-Id)' }),
  eventSubType: Type.String(),
  invitationId: Nullable(Type.String()),
  status: StringEnum(['pending', 'delivered', 'dead'] as const),
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(Timestamp),
  lastStatusCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  deliveredAt: Nullable(Timestamp),
  createdAt: Timestamp,
  attemptLog: Type.Array(
    Type.Object({
      attemptedAt: Timestamp,
      statusCode: Nullable(Type.Integer()),
      latencyMs: Nullable(Type.Integer()),
      error: Nullable(Type.String()),
    }),
  ),
});
const Page = {
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  beforeId: Type.Optional(Type.Integer({ minimum: 1, description: 'Deliveries older than this id (paging back)' })),
};

/** Lets a POST whose body only holds options be sent without one. */
async function emptyBodyIsEmptyObject(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

/** Webhook subscriptions: signed status events pushed to the caller's endpoints. */
export function webhookRoutes(app: HttpApp, ctx: HttpContext): void {
  const { vault } = ctx;
  const db = ctx.database.db;
  const sql = ctx.database.sql;
  const tags = ['webhooks'];

  app.get(
    '/api/account/event-privacy',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Whether webhook subscriptions may receive original identifiers',
        response: { 200: Type.Object({ allowPiiInEvents: Type.Boolean() }) },
      },
    },
    async (request) => getEventPrivacy(db, principalOf(request).accountId),
  );

  app.put(
    '/api/account/event-privacy',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Allow (or forbid) original identifiers in events of subscriptions that ask for them',
        description: 'Forbidding it takes effect at once: subscriptions with includePii receive hashes again.',
        body: Type.Object({ allowPiiInEvents: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: Type.Object({ allowPiiInEvents: Type.Boolean() }) },
      },
    },
    async (request) => setEventPrivacy(db, principalOf(request).accountId, request.body),
  );

  app.post(
    '/api/webhooks',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Subscribe an endpoint to status events (the secret is shown only in this answer)',
        body: Type.Object(
          {
            url: Url,
            description: Type.Optional(Description),
            eventTypes: Type.Optional(EventTypes),
            dispatchIds: Type.Optional(DispatchIds),
            includePii: Type.Optional(IncludePii),
          },
          { additionalProperties: false },
        ),
        response: { 201: WithSecret },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await createSubscription(db, vault, principalOf(request).accountId, request.body, ctx.config.egress)),
  );

  app.get(
    '/api/webhooks',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'List webhook subscriptions', response: { 200: Type.Array(SubscriptionSchema) } },
    },
    async (request) => listSubscriptions(db, principalOf(request).accountId),
  );

  app.get(
    '/api/webhooks/:id',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'Read a webhook subscription', params: IdParams, response: { 200: SubscriptionSchema } },
    },
    async (request) => getSubscription(db, principalOf(request).accountId, request.params.id),
  );

  app.patch(
    '/api/webhooks/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Change a webhook subscription (`{"status": "active"}` re-enables a disabled one)',
        params: IdParams,
        body: Type.Object(
          {
            url: Type.Optional(Url),
            description: Type.Optional(Description),
            eventTypes: Type.Optional(EventTypes),
            dispatchIds: Type.Optional(DispatchIds),
            includePii: Type.Optional(IncludePii),
            status: Type.Optional(Status),
          },
          { additionalProperties: false },
        ),
        response: { 200: SubscriptionSchema },
      },
    },
    async (request) =>
      updateSubscription(db, principalOf(request).accountId, request.params.id, request.body, ctx.config.egress),
  );

  app.delete(
    '/api/webhooks/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Delete a webhook subscription and its delivery log',
        params: IdParams,
        response: Deleted,
      },
    },
    async (request, reply) => {
      await deleteSubscription(db, principalOf(request).accountId, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/webhooks/:id/rotate-secret',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Replace the signing secret (the new one is shown only in this answer)',
        description:
          'During the overlap every delivery is signed with both secrets (two v1 values), so the receiver can switch over.',
        params: IdParams,
        body: Type.Object(
          {
            overlapSeconds: Type.Optional(
              Type.Integer({
                minimum: 0,
                maximum: 30 * 86_400,
                description: `How long the old secret still signs (default ${DEFAULT_ROTATION_OVERLAP_SECONDS}; 0: not at all)`,
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: WithSecret },
      },
      preValidation: emptyBodyIsEmptyObject,
    },
    async (request) =>
      rotateSubscriptionSecret(
        db,
        vault,
        principalOf(request).accountId,
        request.params.id,
        request.body.overlapSeconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS,
      ),
  );

  app.get(
    '/api/webhooks/:id/deliveries',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary:
          "The subscription's delivery log, newest first: each event with its attempts, status codes and latency",
        params: IdParams,
        querystring: Type.Object({
          ...Page,
          status: Type.Optional(StringEnum(['pending', 'delivered', 'dead'] as const)),
        }),
        response: { 200: Type.Array(DeliverySchema) },
      },
    },
    async (request) =>
      listDeliveries(sql, principalOf(request).accountId, request.params.id, {
        status: request.query.status,
        limit: request.query.limit,
        beforeId: request.query.beforeId,
      }),
  );

  app.get(
    '/api/webhooks/:id/dead-letters',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Deliveries given up after the retry horizon, newest first',
        params: IdParams,
        querystring: Type.Object(Page),
        response: { 200: Type.Array(DeliverySchema) },
      },
    },
    async (request) =>
      listDeliveries(sql, principalOf(request).accountId, request.params.id, {
        status: 'dead',
        limit: request.query.limit,
        beforeId: request.query.beforeId,
      }),
  );

  app.post(
    '/api/webhooks/:id/dead-letters/replay',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Send dead-lettered deliveries again, with the same event ids (all of them unless `ids` says which)',
        params: IdParams,
        body: Type.Object(
          { ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 1000 })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ replayed: Type.Integer() }) },
      },
      preValidation: emptyBodyIsEmptyObject,
    },
    async (request) => ({
      replayed: await replayDeadLetters(
        sql,
        principalOf(request).accountId,
        request.params.id,
        request.body.ids,
        new Date(),
      ),
    }),
  );
}
