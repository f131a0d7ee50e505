import { Type } from '@sinclair/typebox';
import { systemClock } from '../../clock.js';
import { retryMessage } from '../../pipeline/dispatch/manual-retry.js';
import { getMessage, listInvitationMessages, TRUNCATED_ERROR_LENGTH } from '../../reporting/messages.js';
import { channels, messageStatuses } from '../../storage/schema.js';
import type { HttpApp, HttpContext } from '../app-context.js';
import { principalOf } from '../auth.js';
import { IdParams, Nullable, StringEnum } from '../platform-schemas.js';
import { Timestamp } from '../schemas.js';

const NullableTime = Nullable(Timestamp);
const NullableText = Nullable(Type.String());

const MessageSchema = Type.Object({
  id: Type.String(),
  invitationId: Type.String(),
  dispatchId: Type.String(),
  channel: StringEnum(channels),
  reminderLevel: Type.Integer({ description: '0: the first message; n: the n-th reminder' }),
  status: StringEnum(messageStatuses),
  statusUpdatedAt: Timestamp,
  dueAt: Timestamp,
  automated: Type.Boolean({ description: 'Only automated messages may be retried by a person' }),
  attempts: Type.Integer({ description: 'Sends tried since the message was created or last retried by a person' }),
  retryCount: Type.Integer({ description: 'How many times a person retried it' }),
  vendorId: NullableText,
  vendorMessageId: NullableText,
  sentAt: NullableTime,
  deliveredAt: NullableTime,
  readAt: NullableTime,
  errorCategory: Nullable(Type.String({ description: 'e.g. invalid_recipient, blocked_or_spam, rate_limited' })),
  errorCode: Nullable(Type.String({ description: "The vendor's own code, when it gave one (e.g. 550)" })),
  errorMessage: Nullable(Type.String({ description: 'What went wrong and what to do, with the vendor’s words' })),
  errorMessageTruncated: Nullable(
    Type.String({ description: `The error message's first ${TRUNCATED_ERROR_LENGTH} characters` }),
  ),
  previousStatus: Nullable(Type.String({ description: 'The status before the last manual retry' })),
  previousStatusUpdatedAt: NullableTime,
  previousErrorCategory: NullableText,
  previousErrorCode: NullableText,
  previousErrorMessage: NullableText,
  createdAt: Timestamp,
});

const RetryRefusal = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(
        Type.Unknown({ description: 'For a refused retry, `{ "error_message": "…" }`: why, for a person to read' }),
      ),
    }),
    requestId: Type.String(),
  },
  { description: 'Not retryable: `details.error_message` says why, for a person to read' },
);

/** An invitation's messages, their delivery status and errors, and a person's retry of a failed one. */
export function messageRoutes(app: HttpApp, ctx: HttpContext): void {
  const tags = ['messages'];
  const sql = ctx.database.sql;

  app.get(
    '/api/messages',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: "An invitation's messages (each channel and reminder level) with their status and errors",
        querystring: Type.Object(
          { invitationId: Type.String({ maxLength: 100, description: "The invitation's id" }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(MessageSchema) },
      },
    },
    async (request) => listInvitationMessages(sql, principalOf(request).accountId, request.query.invitationId),
  );

  app.get(
    '/api/messages/:id',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'A message, its status and errors', params: IdParams, response: { 200: MessageSchema } },
    },
    async (request) => getMessage(sql, principalOf(request).accountId, request.params.id),
  );

  app.post(
    '/api/messages/:id/retry',
    {
      config: { access: 'operator' },
      schema: {
        tags,
        summary: 'Retry an automated message that failed (error, bounced) or is rate limited',
        description:
          'Keeps the current status, its time and error as `previous*`, counts the retry, and sends the message again now (status manual_retry). 400 with `details.error_message` when it cannot be retried: already sent, sent by hand, the recipient unsubscribed, or another status.',
        params: IdParams,
        response: { 200: MessageSchema, 400: RetryRefusal },
      },
    },
    async (request) =>
      retryMessage(
        { database: ctx.database, platform: ctx.platform, clock: systemClock },
        principalOf(request),
        request.params.id,
      ),
  );
}
