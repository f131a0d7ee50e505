import { Type } from '@sinclair/typebox';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';

export function jobRoutes(app: HttpApp, ctx: HttpContext): void {
  app.get(
    '/api/jobs/dead-letters',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['operations'],
        summary: "Background jobs of the caller's account that failed after every retry",
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
        response: {
          200: Type.Array(
            Type.Object({
              id: Type.String(),
              job: Type.String(),
              payload: Type.Unknown(),
              error: Type.Unknown(),
              failedAt: Type.String(),
            }),
          ),
        },
      },
    },
    async (request) => ctx.queue.deadLetters({ accountId: principalOf(request).accountId, limit: request.query.limit }),
  );
}
