import { AppError, notFound } from '../errors.js';
import type { SqlExecutor } from '../storage/database.js';
import { isUuid } from '../storage/ids.js';
import type { Channel, MessageStatus } from '../storage/schema.js';

/** How much of an error message the short form keeps (the full one is beside it). */
export const TRUNCATED_ERROR_LENGTH = 100;

/**
 * One message as a person reads it (the TRD's status fields): its current status and when it
 * changed, its error in full and shortened, and — after a manual retry — the status and error it
 * had before, with how many times it was retried.
 */
export interface MessageView {
  id: string;
  invitationId: string;
  dispatchId: string;
  channel: Channel;
  reminderLevel: number;
  status: MessageStatus;
  statusUpdatedAt: Date;
  dueAt: Date;
  automated: boolean;
  attempts: number;
  retryCount: number;
  vendorId: string | null;
  vendorMessageId: string | null;
  sentAt: Date | null;
  deliveredAt: Date | null;
  readAt: Date | null;
  errorCategory: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  errorMessageTruncated: string | null;
  previousStatus: string | null;
  previousStatusUpdatedAt: Date | null;
  previousErrorCategory: string | null;
  previousErrorCode: string | null;
  previousErrorMessage: string | null;
  createdAt: Date;
}

/** The columns a MessageView is read from (`m` is messages). */
export const MESSAGE_VIEW_COLUMNS = `m.id, m.invitation_id, m.dispatch_id, m.channel, m.reminder_level, m.status,
  m.status_updated_at, m.due_at, m.automated, m.attempts, m.retry_count, m.vendor_id, m.vendor_message_id, m.sent_at,
  m.delivered_at, m.read_at, m.error_category, m.error_code, m.error_message, m.previous_status,
  m.previous_status_updated_at, m.previous_error_category, m.previous_error_code, m.previous_error_message, m.created_at`;

type Stamp = Date | string;
export interface MessageRecord {
  id: string;
  invitation_id: string;
  dispatch_id: string;
  channel: Channel;
  reminder_level: number;
  status: MessageStatus;
  status_updated_at: Stamp;
  due_at: Stamp;
  automated: boolean;
  attempts: number;
  retry_count: number;
  vendor_id: string | null;
  vendor_message_id: string | null;
  sent_at: Stamp | null;
  delivered_at: Stamp | null;
  read_at: Stamp | null;
  error_category: string | null;
  error_code: string | null;
  error_message: string | null;
  previous_status: string | null;
  previous_status_updated_at: Stamp | null;
  previous_error_category: string | null;
  previous_error_code: string | null;
  previous_error_message: string | null;
  created_at: Stamp;
}

const date = (value: Stamp) => new Date(value);
const maybeDate = (value: Stamp | null) => (value === null ? null : new Date(value));

/**
 * The first characters of an error message, marked with "…" when cut.
 *
 * @example truncateError('x'.repeat(150)) // 'x'.repeat(99) + '…' (100 characters)
 */
export function truncateError(message: string | null): string | null {
  if (message === null || message.length <= TRUNCATED_ERROR_LENGTH) return message;
  return `${message.slice(0, TRUNCATED_ERROR_LENGTH - 1)}…`;
}

export function toMessageView(r: MessageRecord): MessageView {
  return {
    id: r.id,
    invitationId: r.invitation_id,
    dispatchId: r.dispatch_id,
    channel: r.channel,
    reminderLevel: Number(r.reminder_level),
    status: r.status,
    statusUpdatedAt: date(r.status_updated_at),
    dueAt: date(r.due_at),
    automated: r.automated,
    attempts: Number(r.attempts),
    retryCount: Number(r.retry_count),
    vendorId: r.vendor_id,
    vendorMessageId: r.vendor_message_id,
    sentAt: maybeDate(r.sent_at),
    deliveredAt: maybeDate(r.delivered_at),
    readAt: maybeDate(r.read_at),
    errorCategory: r.error_category,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    errorMessageTruncated: truncateError(r.error_message),
    previousStatus: r.previous_status,
    previousStatusUpdatedAt: maybeDate(r.previous_status_updated_at),
    previousErrorCategory: r.previous_error_category,
    previousErrorCode: r.previous_error_code,
    previousErrorMessage: r.previous_error_message,
    createdAt: date(r.created_at),
  };
}

/** One message of the account; 404 for any other. */
export async function getMessage(sql: SqlExecutor, accountId: string, id: string): Promise<MessageView> {
  if (!isUuid(id)) throw notFound('Message', id);
  const [row] = await sql.query<MessageRecord>(
    `SELECT ${MESSAGE_VIEW_COLUMNS} FROM messages m WHERE m.id = $1 AND m.account_id = $2`,
    [id, accountId],
  );
  if (!row) throw notFound('Message', id);
  return toMessageView(row);
}

/** An invitation's messages (each channel and reminder level), oldest first; 404 for another account's invitation. */
export async function listInvitationMessages(
  sql: SqlExecutor,
  accountId: string,
  invitationId: string,
): Promise<MessageView[]> {
  if (!isUuid(invitationId)) {
    throw new AppError('VALIDATION_FAILED', `The request is invalid: invitationId "${invitationId}" is not a uuid.`, [
      { field: 'querystring.invitationId', problem: 'must be a uuid' },
    ]);
  }
  const [invitation] = await sql.query(`SELECT id FROM invitation_records WHERE id = $1 AND account_id = $2`, [
    invitationId,
    accountId,
  ]);
  if (!invitation) throw notFound('Invitation', invitationId);
  const rows = await sql.query<MessageRecord>(
    `SELECT ${MESSAGE_VIEW_COLUMNS} FROM messages m WHERE m.invitation_id = $1 AND m.account_id = $2
     ORDER BY m.created_at, m.reminder_level, m.id`,
    [invitationId, accountId],
  );
  return rows.map(toMessageView);
}
