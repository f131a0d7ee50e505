import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { Logger } from '../../observability/logger.js';
import type { SqlExecutor } from '../../storage/database.js';
import { isUuid } from '../../storage/ids.js';
import { translateSmtpError } from '../../vendors/smtp/smtp-errors.js';
import { redactAddresses } from '../../vendors/support/redact.js';
import { applyVendorReports, type FeedbackServices, type FeedbackSummary } from './delivery-status.js';
import { parseDsn, type DeliveryStatusNotification } from './dsn.js';

/** Bounces are small; anything larger is refused, and nothing past this is kept while it is read. */
export const MAX_BOUNCE_BYTES = 2 * 1024 * 1024;

/** Limits of the endpoint: it is reachable by any mail server, so by anyone. */
export const BOUNCE_ENDPOINT_LIMITS = {
  clients: 100,
  clientsPerAddress: 5,
  /** A connection is closed this long after it opened, whatever it is doing. */
  connectionMs: 5 * 60_000,
  /** …and after this long without a word. */
  idleMs: 60_000,
} as const;

export interface BounceServices extends FeedbackServices {
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
}

interface BouncedMessage {
  id: string;
  account_id: string;
  vendor_id: string | null;
  vendor_message_id: string | null;
}

const bare = (messageId: string) => messageId.replace(/^<|>$/g, '');

/**
 * The message a bounce is about: by Herald's id (the X-Herald-Message-Id header the SMTP vendor
 * sets), else by the original Message-ID among email vendors' messages. A bounce that quotes a
 * Message-ID other than the message's current one is about an earlier attempt (before a manual
 * retry) and matches nothing.
 */
async function bouncedMessage(sql: SqlExecutor, dsn: DeliveryStatusNotification): Promise<BouncedMessage | null> {
  const columns = 'id, account_id, vendor_id, vendor_message_id';
  let row: BouncedMessage | undefined;
  if (dsn.heraldMessageId && isUuid(dsn.heraldMessageId)) {
    [row] = await sql.query<BouncedMessage>(`SELECT ${columns} FROM messages WHERE id = $1`, [dsn.heraldMessageId]);
  }
  if (!row && dsn.originalMessageId) {
    // Through the (vendor_id, vendor_message_id) index, one email vendor at a time.
    [row] = await sql.query<BouncedMessage>(
      `SELECT ${columns} FROM messages
       WHERE vendor_id = ANY(ARRAY(SELECT id FROM vendors WHERE channel = 'email')) AND vendor_message_id = ANY($1::text[])
       ORDER BY created_at DESC LIMIT 1`,
      [[dsn.originalMessageId, bare(dsn.originalMessageId)]],
    );
  }
  if (!row?.vendor_id || !row.vendor_message_id) return null;
  if (dsn.originalMessageId && bare(dsn.originalMessageId) !== bare(row.vendor_message_id)) return null;
  return row;
}

export type BounceOutcome = keyof FeedbackSummary | 'not a bounce' | 'not permanent';

/**
 * Applies one received mail: a permanent delivery status notification about a message Herald sent
 * becomes a Bounced status report for that message's vendor, through the same idempotent path as
 * vendor callbacks (the notification's Message-ID is its event id).
 */
export async function receiveBounce(services: BounceServices, raw: Buffer): Promise<BounceOutcome> {
  const dsn = await parseDsn(raw);
  if (!dsn) return 'not a bounce';
  if (!dsn.permanent) return 'not permanent';
  const message = await bouncedMessage(services.database.sql, dsn);
  if (!message?.vendor_id || !message.vendor_message_id) return 'unknown';
  const code = dsn.smtpCode ?? dsn.status;
  // A diagnostic quotes the recipient: stored and shown without addresses.
  const detail = redactAddresses(dsn.diagnostic ?? `Status ${dsn.status ?? 'unknown'}`);
  // The SMTP vendor's translator reads the reply code, the enhanced status and the words.
  const reply = Number(dsn.smtpCode ?? (dsn.status?.startsWith('4') ? 450 : 550));
  const { category } = translateSmtpError({
    responseCode: reply,
    response: dsn.status && !detail.includes(dsn.status) ? `${dsn.status} ${detail}` : detail,
  });
  const summary = await applyVendorReports(
    services,
    { id: message.vendor_id, accountId: message.account_id },
    {
      statuses: [
        {
          externalEventId: `dsn:${dsn.id}`,
          vendorMessageId: message.vendor_message_id,
          status: 'bounced',
          occurredAt: dsn.date ?? services.clock.now(),
          category,
          code,
          detail,
        },
      ],
      replies: [],
    },
  );
  const outcome = (Object.keys(summary) as (keyof FeedbackSummary)[]).find((key) => summary[key] > 0) ?? 'unknown';
  services.logger.info({ messageId: message.id, status: dsn.status, outcome }, 'bounce received');
  return outcome;
}

/** The SMTP endpoint that receives bounces (HERALD_BOUNCE_SMTP_PORT). */
export interface BounceReceiver {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens for bounces over SMTP. Every mail is accepted once read, bounce or not (refusing it would
 * only make the sending server bounce the bounce); a mail that could not be applied (the database
 * is unavailable) gets a temporary 451 so the server tries again.
 */
export async function startBounceReceiver(
  services: BounceServices,
  options: { host: string; port: number; closeTimeoutMs: number },
): Promise<BounceReceiver> {
  const clientsFrom = new Map<string, number>();
  const counted = new Set<string>();
  const server = new SMTPServer({
    banner: 'Herald bounce receiver',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: MAX_BOUNCE_BYTES,
    maxClients: BOUNCE_ENDPOINT_LIMITS.clients,
    socketTimeout: BOUNCE_ENDPOINT_LIMITS.idleMs,
    closeTimeout: options.closeTimeoutMs,
    logger: false,
    onConnect(session, callback) {
      const address = session.remoteAddress;
      const open = clientsFrom.get(address) ?? 0;
      if (open >= BOUNCE_ENDPOINT_LIMITS.clientsPerAddress)
        return callback(Object.assign(new Error('Too many connections from your address'), { responseCode: 421 }));
      clientsFrom.set(address, open + 1);
      counted.add(session.id);
      callback();
    },
    onClose(session) {
      if (!counted.delete(session.id)) return;
      const open = (clientsFrom.get(session.remoteAddress) ?? 1) - 1;
      if (open > 0) clientsFrom.set(session.remoteAddress, open);
      else clientsFrom.delete(session.remoteAddress);
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      let kept = 0;
      // Past the limit the rest is read off the connection and dropped, never kept.
      stream.on('data', (chunk: Buffer) => {
        if (kept + chunk.length > MAX_BOUNCE_BYTES) return;
        chunks.push(chunk);
        kept += chunk.length;
      });
      stream.on('error', (error) => callback(error));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(Object.assign(new Error('Message too large for a bounce'), { responseCode: 552 }));
          return;
        }
        receiveBounce(services, Buffer.concat(chunks)).then(
          (outcome) => {
            if (outcome === 'not a bounce' || outcome === 'unknown') {
              services.logger.debug({ outcome }, 'mail at the bounce receiver matched no message: dropped');
            }
            callback();
          },
          (error: unknown) => {
            services.logger.error({ err: error }, 'a bounce could not be applied; the sender is asked to try again');
            callback(Object.assign(new Error('Temporary failure, try again later'), { responseCode: 451 }));
          },
        );
      });
    },
  });
  server.server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), BOUNCE_ENDPOINT_LIMITS.connectionMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  // A client that drops its connection is reported as an error event: nothing to do about it.
  server.on('error', (error) => services.logger.debug({ err: error }, 'bounce receiver connection error'));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
