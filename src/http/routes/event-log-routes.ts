import { Type } from '@sinclair/typebox';
import { readEventLogFilter } from '../../reporting/event-log-filter.js';
import { queryEventLog } from '../../reporting/event-log.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';

const Filter = Type.Object(
  {
    BatchId: Type.Optional(Type.String()),
    DispatchId: Type.Optional(Type.String()),
    Token: Type.Optional(Type.String()),
    Target: Type.Optional(Type.String({ description: 'An email address or mobile number, as sent or hashed' })),
    UUID: Type.Optional(Type.String()),
    FromDate: Type.Optional(Type.String()),
    ToDate: Type.Optional(Type.String()),
    Created: Type.Optional(Type.String({ description: 'One day, ISO 8601 or DD-MM-YYYY' })),
    Page: Type.Optional(Type.Integer({ minimum: 1 })),
    PageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    IncludePii: Type.Optional(
      Type.Boolean({ description: 'Original values of hashed prefills (admin only; audited)' }),
    ),
  },
  { additionalProperties: true },
);

/** `POST /api/EventLog`: invitations and their timelines, in the original module's shape. */
export function eventLogRoutes(app: HttpApp, ctx: HttpContext): void {
  app.post(
    '/api/EventLog',
    {
      // Keys are read case-insensitively by readEventLogFilter, so the schema documents but does not gate.
      validatorCompiler: () => () => true,
      schema: {
        tags: ['event log'],
        summary: 'Find invitations and their timelines, and log entries. The total is in X-Total-Count.',
        description:
          'Invitations ("UserData" documents) matching every filter given, then the DIWEF log entries (tagged DispatchAPI, Dispatcher, Account or Initiator) matching BatchId, DispatchId and the dates. No usable filter (all empty, unknown keys): 200 [], as the original module answers.',
        body: Filter,
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const settings = await ctx.platform.settings(principal.accountId);
      const filter = readEventLogFilter(request.body, settings);
      if (filter === null) return reply.header('x-total-count', '0').send([]);
      const { entries, total } = await queryEventLog(ctx.database, ctx.vault, principal, filter);
      return reply.header('x-total-count', String(total)).send(entries);
    },
  );
}
