/**
 * Herald's error taxonomy. Domain code throws these; http/error-status.ts is the one place that
 * says which HTTP status each code answers with.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'VALIDATION_FAILED'
  | 'MALFORMED_JSON'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'TOO_MANY_REQUESTS'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string, id: string) => new AppError('NOT_FOUND', `${what} ${id} was not found.`);

/** A 400 about one field of the caller's input, in the shape schema validation errors have. */
export function invalidField(field: string, problem: string): AppError {
  return new AppError('VALIDATION_FAILED', `The request is invalid: ${field} ${problem}.`, [{ field, problem }]);
}
