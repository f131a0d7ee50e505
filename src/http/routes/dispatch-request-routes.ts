import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import {
  acceptDispatchRequest,
  logAuthenticationFailure,
  logRefusedRequest,
} from '../../pipeline/ingest/accept-dispatch-request.js';
import { dispatchRequestLog } from '../../pipeline/ingest/dispatch-request-log.js';
import {
  dispatchRequestBodyLimit,
  measure,
  readDispatchRequest,
  type DispatchRecords,
} from '../../pipeline/ingest/request-body.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { AppError } from '../../errors.js';

const BATCH_ID = /^[\w.:-]{1,100}$/;

const Prefill = Type.Object({
  questionId: Type.String(),
  input: Type.Union([Type.String(), Type.Number(), Type.Null()]),
});
const RequestBody = Type.Array(
  Type.Object({
    dispatchID: Type.String({ description: 'Also accepted: dispatchId, DispatchID, …' }),
    preFill: Type.Array(Type.Array(Prefill), {
      description: 'One list of prefills per record. Also accepted: prefill, PreFill',
    }),
  }),
);
const MultiStatus = Type.Object({
  batchId: Type.String(),
  statusByDispatch: Type.Array(
    Type.Object({
      dispatchId: Type.String(),
      message: Type.String(),
      dispatchStatus: Type.Union([Type.Literal(202), Type.Literal(206), Type.Literal(400)]),
    }),
  ),
});
const BatchHeader = Type.Object({
  batchid: Type.Optional(
    Type.String({ description: 'BatchID: your id for this request (letters, digits, . _ : -); a UUID if absent' }),
  ),
});

function batchIdOf(request: FastifyRequest): string {
  const given = request.headers.batchid;
  if (given === undefined) return randomUUID();
  if (typeof given !== 'string' || !BATCH_ID.test(given)) {
    throw new AppError('VALIDATION_FAILED', 'The BatchID header must be 1–100 letters, digits or . _ : - characters.');
  }
  return given;
}

/** `POST /api/dispatchRequest` and `GET /api/dispatchSingle/{dispatchId}`: Herald's front door. */
export function dispatchRequestRoutes(app: HttpApp, ctx: HttpContext): void {
  const { maxRecords, maxDispatches } = ctx.config;
  // Records and dispatches decide 413; the byte cap only guards memory, so the largest legal
  // request always fits under it, whatever HERALD_BODY_LIMIT_BYTES says for other routes.
  const bodyLimit = Math.max(ctx.config.bodyLimitBytes, dispatchRequestBodyLimit(maxRecords, maxDispatches));
  const accept = async (request: FastifyRequest, records: DispatchRecords[]) => {
    const outcome = await acceptDispatchRequest(ctx, principalOf(request).accountId, batchIdOf(request), records);
    return { batchId: outcome.batchId, statusByDispatch: outcome.statusByDispatch };
  };

  app.post(
    '/api/dispatchRequest',
    {
      config: {
        access: 'operator',
        onAuthenticationFailure: (secret) => logAuthenticationFailure(ctx.database, secret),
        bodyTooLarge: `That is more than ${maxRecords} records of 10 prefills of up to 100 characters take: split the records over several requests.`,
      },
      bodyLimit,
      // The body is read by readDispatchRequest: the size limits must be decided before its shape.
      validatorCompiler: () => () => true,
      schema: {
        tags: ['dispatch requests'],
        summary: 'Submit records for invitation',
        description: `At most ${maxRecords} records and ${maxDispatches} distinct dispatches (413 beyond). Answers 207 with a status per dispatch: 202 all accepted, 206 some, 400 none.`,
        headers: BatchHeader,
        body: RequestBody,
        response: { 207: MultiStatus },
      },
    },
    async (request, reply) => {
      const size = measure(request.body);
      const { accountId } = principalOf(request);
      if (size && size.records > maxRecords) {
        await logRefusedRequest(ctx.database, accountId, dispatchRequestLog.tooManyRecords(maxRecords, size.records));
        throw new AppError(
          'PAYLOAD_TOO_LARGE',
          `A request may hold at most ${maxRecords} records; this one holds ${size.records}. Split it into several requests.`,
        );
      }
      if (size && size.dispatches > maxDispatches) {
        await logRefusedRequest(
          ctx.database,
          accountId,
          dispatchRequestLog.tooManyDispatches(maxDispatches, size.dispatches),
        );
        throw new AppError(
          'PAYLOAD_TOO_LARGE',
          `A request may name at most ${maxDispatches} dispatches; this one names ${size.dispatches}. Spread them over several requests.`,
        );
      }
      const records = readDispatchRequest(request.body);
      return reply.status(207).send(await accept(request, records));
    },
  );

  app.get(
    '/api/dispatchSingle/:dispatchId',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['dispatch requests'],
        summary: 'Submit one record, its prefills as query parameters (?<questionId>=<value>&…)',
        params: Type.Object({ dispatchId: Type.String({ minLength: 1, maxLength: 100 }) }),
        querystring: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())])),
        headers: BatchHeader,
        response: { 207: MultiStatus },
      },
    },
    async (request, reply) => {
      const record = Object.entries(request.query).map(([questionId, value]) => ({
        questionId,
        input: Array.isArray(value) ? (value.at(-1) ?? '') : value,
      }));
      const records = readDispatchRequest([{ dispatchID: request.params.dispatchId, preFill: [record] }]);
      return reply.status(207).send(await accept(request, records));
    },
  );
}
