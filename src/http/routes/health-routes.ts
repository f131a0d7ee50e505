import { Type } from '@sinclair/typebox';
import type { HttpApp, HttpContext } from '../app-context.js';

const Check = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('failing')]),
  detail: Type.Optional(Type.String()),
});

export function healthRoutes(app: HttpApp, ctx: HttpContext): void {
  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process answers',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the database answers and the workers run',
        response: {
          200: Type.Object({ status: Type.String(), checks: Type.Object({ database: Check, workers: Check }) }),
          503: Type.Object({ status: Type.String(), checks: Type.Object({ database: Check, workers: Check }) }),
        },
      },
    },
    async (request, reply) => {
      const database = await ctx.database.sql
        .query('SELECT 1')
        .then(() => ({ status: 'ok' as const }))
        .catch((error: unknown) => {
          // The database's own words (host names, users, SQL) are for the log, not a public route.
          request.log.error({ err: error }, 'readiness: the database did not answer');
          return { status: 'failing' as const, detail: 'the database does not answer (see the log)' };
        });
      const workers = ctx.workersHealthy()
        ? { status: 'ok' as const }
        : { status: 'failing' as const, detail: 'the job workers are not running' };
      const ready = database.status === 'ok' && workers.status === 'ok';
      return reply
        .status(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not ready', checks: { database, workers } });
    },
  );

  app.get(
    '/metrics',
    {
      config: { access: ctx.config.metricsPublic ? 'public' : 'viewer' },
      schema: { tags: ['operations'], summary: 'Prometheus metrics', produces: ['text/plain'] },
    },
    async (_request, reply) => reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
  );
}
