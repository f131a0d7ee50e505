import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { httpStatusOf } from './error-status.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Said after the limit when a body is too large for this route: what the caller can do. */
    bodyTooLarge?: string;
  }
}

/** The one error shape Herald answers with. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
  requestId: string;
}

function describeValidation(error: FastifyError): AppError {
  const details = (error.validation ?? []).map((v) => {
    const extra = (v.params as { additionalProperty?: unknown }).additionalProperty;
    return {
      field: `${error.validationContext ?? 'body'}${v.instancePath.replaceAll('/', '.')}`,
      problem: typeof extra === 'string' ? `has an unknown field "${extra}"` : (v.message ?? 'is invalid'),
    };
  });
  const first = details[0];
  const summary = first ? `${first.field} ${first.problem}` : error.message;
  return new AppError('VALIDATION_FAILED', `The request is invalid: ${summary}.`, details);
}

/** Maps anything thrown while handling a request to an AppError; unknown errors become INTERNAL. */
export function toAppError(error: unknown, bodyLimit: number, bodyTooLarge?: string): AppError {
  if (error instanceof AppError) return error;
  // Anything may be thrown, null and strings included.
  const e = (typeof error === 'object' && error !== null ? error : {}) as FastifyError;
  if (e.validation) return describeValidation(e);
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError(
        'PAYLOAD_TOO_LARGE',
        `The request body is larger than the limit of ${bodyLimit} bytes.${bodyTooLarge ? ` ${bodyTooLarge}` : ''}`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('MALFORMED_JSON', 'The body is empty; send a JSON document.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('BAD_REQUEST', 'The Content-Length header does not match the body.');
  }
  // PostgreSQL cannot store U+0000, nor unpaired surrogates in jsonb: that is the caller's input.
  if (e.code === '22021' || e.code === '22P05') {
    return new AppError(
      'BAD_REQUEST',
      'The request contains characters that cannot be stored (a NUL character or an unpaired surrogate). Remove them and send it again.',
    );
  }
  // Fastify's JSON parser reports FST_ERR_CTP_INVALID_JSON_BODY; a bare SyntaxError is a client's
  // only when a parser marked it 400, otherwise it is server code's (e.g. JSON.parse of stored data).
  if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (e instanceof SyntaxError && e.statusCode === 400)) {
    return new AppError('MALFORMED_JSON', `The body is not valid JSON: ${e.message}`);
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AppError('BAD_REQUEST', e.message);
  }
  return new AppError('INTERNAL', 'Something went wrong on our side. Quote the request id when reporting it.');
}

export function sendError(reply: FastifyReply, request: FastifyRequest, error: AppError): FastifyReply {
  const body: ErrorBody = {
    error: { code: error.code, message: error.message, ...(error.details !== undefined && { details: error.details }) },
    requestId: request.id,
  };
  return reply.status(httpStatusOf[error.code]).type('application/json').send(body);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    // A route may have a limit of its own (the dispatch request's is sized for its record limit,
    // sign-in's is small).
    const { bodyLimit, config } = request.routeOptions;
    const appError = toAppError(error, bodyLimit, config.bodyTooLarge);
    if (appError.code === 'INTERNAL') request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, request, appError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      request,
      new AppError('NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}.`),
    ),
  );
}
