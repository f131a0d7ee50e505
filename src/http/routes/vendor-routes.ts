import { Type } from '@sinclair/typebox';
import { channels } from '../../storage/schema.js';
import { createVendor, deleteVendor, getVendor, listVendors, updateVendor } from '../../vendor-config/vendor-store.js';
import { vendorKindNames } from '../../vendors/vendor-registry.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { Deleted, IdParams, Name, StringEnum } from '../platform-schemas.js';
import { Timestamp } from '../schemas.js';

const knownKinds = vendorKindNames().join(', ');

const VendorSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  channel: StringEnum(channels),
  settings: Type.Record(Type.String(), Type.Unknown()),
  secrets: Type.Object(
    { set: Type.Boolean(), fields: Type.Array(Type.String()) },
    { description: 'Which secrets are stored, by name; their values are never returned' },
  ),
  createdAt: Timestamp,
});
// The kind decides what settings and secrets hold; the domain code checks them against it.
const Settings = Type.Record(Type.String(), Type.Unknown(), {
  description: `Settings of the vendor's kind (not secret). smtp: host, port, security (tls|starttls|none), fromAddress, fromName, rateLimitPerSecond, rejectUnauthorized`,
});
const Secrets = Type.Record(Type.String(), Type.Unknown(), {
  description: "Credentials of the vendor's kind (smtp: username, password); stored sealed, never returned",
});

/** Vendors: the email, SMS and WhatsApp services dispatches deliver through. */
export function vendorRoutes(app: HttpApp, ctx: HttpContext): void {
  const { vault } = ctx;
  const db = ctx.database.db;
  const tags = ['vendors'];

  app.post(
    '/api/vendors',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Create a vendor',
        body: Type.Object(
          {
            name: Name,
            kind: Type.String({ minLength: 1, maxLength: 100, description: `One of: ${knownKinds}` }),
            settings: Settings,
            secrets: Type.Optional(Secrets),
          },
          { additionalProperties: false },
        ),
        response: { 201: VendorSchema },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await createVendor(db, vault, principalOf(request).accountId, request.body, ctx.config.egress)),
  );

  app.get(
    '/api/vendors',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'List vendors (never their secrets)', response: { 200: Type.Array(VendorSchema) } },
    },
    async (request) => listVendors(db, vault, principalOf(request).accountId),
  );

  app.get(
    '/api/vendors/:id',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'Read a vendor (never its secrets)', params: IdParams, response: { 200: VendorSchema } },
    },
    async (request) => getVendor(db, vault, principalOf(request).accountId, request.params.id),
  );

  app.patch(
    '/api/vendors/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Change a vendor',
        description:
          '`settings` replaces all settings. `secrets` replaces all secrets (`{}` removes them); without it they are kept.',
        params: IdParams,
        body: Type.Object(
          { name: Type.Optional(Name), settings: Type.Optional(Settings), secrets: Type.Optional(Secrets) },
          { additionalProperties: false },
        ),
        response: { 200: VendorSchema },
      },
    },
    async (request) =>
      updateVendor(db, vault, principalOf(request).accountId, request.params.id, request.body, ctx.config.egress),
  );

  app.delete(
    '/api/vendors/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Delete a vendor (409 while a dispatch delivers through it)',
        params: IdParams,
        response: Deleted,
      },
    },
    async (request, reply) => {
      await deleteVendor(ctx.database, principalOf(request).accountId, request.params.id);
      return reply.status(204).send(null);
    },
  );
}
