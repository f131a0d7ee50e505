import { Type } from '@sinclair/typebox';
import { getAccount } from '../../accounts/accounts.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../accounts/api-keys.js';
import { createUser, deleteUser, getUser, listUsers, MIN_PASSWORD_LENGTH } from '../../accounts/users.js';
import { roles } from '../../storage/schema.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { Timestamp } from '../schemas.js';

const RoleSchema = Type.Union(roles.map((r) => Type.Literal(r)));
const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) });

const UserSchema = Type.Object({ id: Type.String(), username: Type.String(), role: RoleSchema, createdAt: Timestamp });
const ApiKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  prefix: Type.String({ description: 'The first characters of the key, to tell keys apart' }),
  createdAt: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});

/** The caller's own account: its users and API keys. Every query is scoped by the caller's account. */
export function accountRoutes(app: HttpApp, ctx: HttpContext): void {
  const db = ctx.database.db;

  app.get(
    '/api/account',
    {
      schema: {
        tags: ['accounts'],
        summary: "The caller's account",
        response: {
          200: Type.Object({ id: Type.String(), slug: Type.String(), name: Type.String(), createdAt: Timestamp }),
        },
      },
    },
    async (request) => getAccount(db, principalOf(request).accountId),
  );

  app.get(
    '/api/users',
    {
      config: { access: 'admin' },
      schema: { tags: ['accounts'], summary: 'List users', response: { 200: Type.Array(UserSchema) } },
    },
    async (request) => listUsers(db, principalOf(request).accountId),
  );

  app.post(
    '/api/users',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['accounts'],
        summary: 'Create a user',
        body: Type.Object(
          {
            username: Type.String({ minLength: 1, maxLength: 200, pattern: '^\\S+$' }),
            password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 }),
            role: RoleSchema,
          },
          { additionalProperties: false },
        ),
        response: { 201: UserSchema },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createUser(db, { ...request.body, accountId: principalOf(request).accountId })),
  );

  app.get(
    '/api/users/:id',
    {
      config: { access: 'admin' },
      schema: { tags: ['accounts'], summary: 'Read a user', params: IdParams, response: { 200: UserSchema } },
    },
    async (request) => getUser(db, principalOf(request).accountId, request.params.id),
  );

  app.delete(
    '/api/users/:id',
    { config: { access: 'admin' }, schema: { tags: ['accounts'], summary: 'Delete a user', params: IdParams } },
    async (request, reply) => {
      await deleteUser(db, principalOf(request).accountId, request.params.id);
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/api-keys',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['accounts'],
        summary: 'List API keys (never their secrets)',
        response: { 200: Type.Array(ApiKeySchema) },
      },
    },
    async (request) => listApiKeys(db, principalOf(request).accountId),
  );

  app.post(
    '/api/api-keys',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['accounts'],
        summary: 'Create an API key; the secret is in this answer only',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 200 }), role: RoleSchema },
          { additionalProperties: false },
        ),
        response: { 201: Type.Composite([ApiKeySchema, Type.Object({ key: Type.String() })]) },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createApiKey(db, { ...request.body, accountId: principalOf(request).accountId })),
  );

  app.delete(
    '/api/api-keys/:id',
    { config: { access: 'admin' }, schema: { tags: ['accounts'], summary: 'Revoke an API key', params: IdParams } },
    async (request, reply) => {
      await revokeApiKey(db, principalOf(request).accountId, request.params.id);
      return reply.status(204).send();
    },
  );
}
