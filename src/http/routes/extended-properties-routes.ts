import { Type } from '@sinclair/typebox';
import { mergeExtendedProperties, readExtendedProperties } from '../../pipeline/ingest/extended-properties.js';
import { samplerNames } from '../../pipeline/ingest/samplers.js';
import { unsubscriberNames } from '../../pipeline/ingest/unsubscribers.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';

const Properties = Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), {
  description: `Sampler (${samplerNames().join(' | ')}), Unsubscriber (${unsubscriberNames().join(' | ')}), SamplingPercentage (0–100), and keys custom plugins read. BatchingQueue is refused: Herald persists accepted records, it has no queue to choose.`,
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
        description:
          'Answers 200 with the request body, as the original module does (GET shows everything stored). 400 naming the problem for an unknown Sampler or Unsubscriber, a SamplingPercentage outside 0–100, or BatchingQueue; nothing is stored then.',
        body: Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), { maxProperties: 50 }),
        response: { 200: Properties },
      },
    },
    async (request) => {
      await mergeExtendedProperties(ctx.database.db, principalOf(request).accountId, request.body);
      // The original module answers with the request body itself.
      return request.body;
    },
  );
}
