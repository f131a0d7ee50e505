import net from 'node:net';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { EgressGuard, EgressRefusedError } from '../../network/egress-guard.js';
import type { EgressRules } from '../../network/egress-rules.js';
import type { SmtpSecrets, SmtpSettings } from './smtp-settings.js';

/**
 * Opens the TCP connection for nodemailer's pool with Nagle's algorithm off. nodemailer writes a
 * message and its terminating "\r\n.\r\n" separately; with Nagle on, the small terminator waits
 * for the server to acknowledge the message, which the server delays (40 ms on Linux) because it
 * has nothing to answer yet: every message then costs a delayed-ACK round, capping one connection
 * at ≈ 25 messages a second whatever the server's speed. The socket is handed over while it is
 * still connecting, so nodemailer sees its errors and timeouts exactly as on a socket it opened
 * itself (and drops the pool slot of a connection that failed). Every connection goes through the
 * egress guard: the host and port are checked, and the name is resolved to an allowed address.
 */
function connectWithoutDelay(host: string, port: number, egress: EgressRules): SMTPPool.Options['getSocket'] {
  const guard = EgressGuard.of(egress);
  return (_options, callback) => {
    const refusal = guard.refusalOf(host, port, 'smtp');
    if (refusal) return callback(new EgressRefusedError(refusal), undefined);
    // Resolved here rather than by the socket, so a refusal reaches nodemailer as this error (its
    // socket errors all become ESOCKET); the socket then connects to the address that was checked.
    guard.lookup(host, {}, (error, address) => {
      if (error) return callback(error, undefined);
      const connection = net.connect({ host: address as string, port, noDelay: true, keepAlive: true });
      callback(null, { connection });
    });
  };
}

/**
 * nodemailer's pooled transport as Herald configures it for an `smtp` vendor. The options hold a
 * function (getSocket), so they are built where the transport lives: in the SMTP sender thread.
 */
export function smtpTransportOptions(
  settings: SmtpSettings,
  secrets: SmtpSecrets,
  egress: EgressRules,
): SMTPPool.Options {
  return {
    pool: true,
    maxConnections: 5,
    host: settings.host,
    port: settings.port,
    secure: settings.security === 'tls',
    requireTLS: settings.security === 'starttls',
    ignoreTLS: settings.security === 'none',
    tls: { rejectUnauthorized: settings.rejectUnauthorized },
    ...(secrets.username && { auth: { user: secrets.username, pass: secrets.password ?? '' } }),
    // nodemailer's pool spaces messages out itself: at most rateLimit messages per rateDelta ms.
    ...(settings.rateLimitPerSecond && {
      rateDelta: 1000,
      rateLimit: Math.max(1, Math.floor(settings.rateLimitPerSecond)),
    }),
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
    getSocket: connectWithoutDelay(settings.host, settings.port, egress),
  };
}
