import { Type } from '@sinclair/typebox';
import { mergeExtendedProperties, readExtendedProperties } from '../../pipeline/ingest/extended-properties.js';
import { samplerNames } from '../../pipeline/ingest/samplers.js';
import { unsubscriberNames } from '../../pipeline/ingest/unsubscribers.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';

const Properties = Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), {
  description: `Sampler (${samplerNames().join(' | ')}), Unsubscriber (${unsubscriberNames().join(' | ')}), SamplingPercentage (0–100), BatchingQueue, …`,
});

/** `GET|POST /api/config/extendedproperties`: the account's choice of plugins. POST merges keys. */
export function extendedPropertiesRoutes(app: HttpApp, ctx: HttpContext): void {
  app.get(
    '/api/config/extendedproperties',
    { schema: { tags: ['configuration'], summary: "The account's plugin choices", response: { 200: Properties } } },
    async (request) => readExtendedProperties(ctx.database.db, principalOf(request).accountId),
  );
  app.post(
    '/api/config/extendedproperties',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['configuration'],
        summary: 'Change some plugin choices; keys not sent are kept',
        body: Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), { maxProperties: 50 }),
        response: { 200: Properties },
      },
    },
    async (request) => mergeExtendedProperties(ctx.database.db, principalOf(request).accountId, request.body),
  );
}
