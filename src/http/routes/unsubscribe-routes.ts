import { Type } from '@sinclair/typebox';
import { addUnsubscribe, deleteUnsubscribe, listUnsubscribes } from '../../platforms/standalone/unsubscribes.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { Deleted, StringEnum } from '../platform-schemas.js';
import { Timestamp } from '../schemas.js';

const UnsubscribeSchema = Type.Object({
  identifierHash: Type.String({ description: 'e.g. "sha512:…": the identifier as the account hashes PII' }),
  source: Type.String(),
  createdAt: Timestamp,
});

/** The account's unsubscribe list: hashes only, never the addresses or numbers themselves. */
export function unsubscribeRoutes(app: HttpApp, ctx: HttpContext): void {
  const db = ctx.database.db;
  const tags = ['unsubscribes'];

  app.post(
    '/api/unsubscribes',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Unsubscribe an email address, mobile number or UUID (201 if new, 200 if already there)',
        body: Type.Object(
          {
            identifier: Type.String({ minLength: 1, maxLength: 500 }),
            kind: StringEnum(['email', 'mobile', 'uuid'], {
              description: "Mobile numbers without a country code are read in the account's defaultPhoneRegion",
            }),
          },
          { additionalProperties: false },
        ),
        response: { 200: UnsubscribeSchema, 201: UnsubscribeSchema },
      },
    },
    async (request, reply) => {
      const { unsubscribe, created } = await addUnsubscribe(db, principalOf(request).accountId, {
        ...request.body,
        source: 'api',
      });
      return reply.status(created ? 201 : 200).send(unsubscribe);
    },
  );

  app.get(
    '/api/unsubscribes',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'List unsubscribes, newest first',
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          offset: Type.Integer({ minimum: 0, default: 0 }),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(UnsubscribeSchema),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
          }),
        },
      },
    },
    async (request) => {
      const page = request.query;
      return { ...(await listUnsubscribes(db, principalOf(request).accountId, page)), ...page };
    },
  );

  // A wildcard rather than `:identifierHash`: a sha512 hash is 135 characters, and the router
  // refuses named parameters longer than 100 (Fastify's maxParamLength) before any handler runs.
  app.delete(
    '/api/unsubscribes/*',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Remove an unsubscribe: DELETE /api/unsubscribes/{identifierHash} subscribes it again',
        params: Type.Object({ '*': Type.String({ maxLength: 200, description: 'The identifierHash' }) }),
        response: Deleted,
      },
    },
    async (request, reply) => {
      await deleteUnsubscribe(db, principalOf(request).accountId, request.params['*']);
      return reply.status(204).send(null);
    },
  );
}
