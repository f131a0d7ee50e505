import { Type } from '@sinclair/typebox';
import {
  deleteCampaignReporter,
  getCampaignReporter,
  putCampaignReporter,
  reporterFormats,
} from '../../pipeline/events-out/campaign-reporter-settings.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { Deleted, Nullable, StringEnum } from '../platform-schemas.js';
import { Timestamp } from '../schemas.js';

const Format = StringEnum(reporterFormats, {
  description: 'json: one JSON document per POST; elasticsearch: bulk NDJSON lines (application/x-ndjson)',
});
const IndexName = Type.String({
  pattern: '^[a-z0-9][a-z0-9._-]{0,199}$',
  description: 'The Elasticsearch index of the bulk lines (lower case)',
});

const ReporterSchema = Type.Object({
  uri: Type.String(),
  authHeader: Type.Object(
    { set: Type.Boolean() },
    { description: 'Whether one is stored; its value is never returned' },
  ),
  intervalSeconds: Type.Integer(),
  format: Format,
  indexName: Type.String(),
  enabled: Type.Boolean(),
  lastReportAt: Nullable(Timestamp),
  posts: Type.Object({ pending: Type.Integer(), dead: Type.Integer(), lastError: Nullable(Type.String()) }),
});

/** The campaign reporter: dispatch state changes and periodic statistics posted to a URI. */
export function campaignReporterRoutes(app: HttpApp, ctx: HttpContext): void {
  const tags = ['campaign reporter'];

  app.put(
    '/api/campaign-reporter',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: "Set the account's campaign reporter",
        description:
          'Posts each dispatch state change (live, paused, resumed, sending_started, drained) and, every intervalSeconds, the statistics of each active dispatch. Failed posts are retried with backoff, in order.',
        body: Type.Object(
          {
            uri: Type.String({ minLength: 1, maxLength: 2000, description: 'An http:// or https:// URL' }),
            authHeader: Type.Optional(
              Nullable(
                Type.String({
                  minLength: 1,
                  maxLength: 4000,
                  description: 'Sent as the Authorization header; stored sealed; absent: kept; null: removed',
                }),
              ),
            ),
            intervalSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, default: 10 })),
            format: Type.Optional(Format),
            indexName: Type.Optional(IndexName),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: ReporterSchema },
      },
    },
    async (request) =>
      putCampaignReporter(ctx.database, ctx.vault, principalOf(request).accountId, request.body, ctx.config.egress),
  );

  app.get(
    '/api/campaign-reporter',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: "The account's campaign reporter and its queue (never the Authorization header)",
        response: { 200: ReporterSchema },
      },
    },
    async (request) => getCampaignReporter(ctx.database, principalOf(request).accountId),
  );

  app.delete(
    '/api/campaign-reporter',
    {
      config: { access: 'admin' },
      schema: { tags, summary: 'Remove the campaign reporter and its unsent posts', response: Deleted },
    },
    async (request, reply) => {
      await deleteCampaignReporter(ctx.database, principalOf(request).accountId);
      return reply.status(204).send(null);
    },
  );
}
