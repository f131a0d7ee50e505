/**
 * The SMTP sender thread (a worker started by smtp-sender-thread.ts): owns the nodemailer
 * transports, so building and writing messages happens off the main thread. Only plain data
 * crosses: settings in, mail in, translated outcomes out.
 */
import { parentPort } from 'node:worker_threads';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type { SendOutcome } from '../vendor.js';
import { translateSmtpError } from './smtp-errors.js';
import { smtpTransportOptions, type SmtpSecrets, type SmtpSettings } from './smtp-transport.js';

export type ToSenderThread =
  | { op: 'open'; transportId: number; settings: SmtpSettings; secrets: SmtpSecrets }
  | { op: 'send'; transportId: number; requestId: number; mail: SendMailOptions }
  | { op: 'close'; transportId: number };

export interface FromSenderThread {
  requestId: number;
  outcome: SendOutcome;
}

const port = parentPort;
if (!port) throw new Error('smtp-thread runs as a worker thread: see smtp-sender-thread.ts');
const transports = new Map<number, Transporter>();

async function send(transportId: number, mail: SendMailOptions): Promise<SendOutcome> {
  try {
    const transport = transports.get(transportId);
    if (!transport) throw new Error('Connection pool was closed');
    const info = (await transport.sendMail(mail)) as { messageId: string };
    return { ok: true, vendorMessageId: info.messageId };
  } catch (error) {
    return translateSmtpError(error);
  }
}

port.on('message', (message: ToSenderThread) => {
  switch (message.op) {
    case 'open':
      transports.set(
        message.transportId,
        nodemailer.createTransport(smtpTransportOptions(message.settings, message.secrets)),
      );
      break;
    case 'send':
      void send(message.transportId, message.mail).then((outcome) =>
        port.postMessage({ requestId: message.requestId, outcome } satisfies FromSenderThread),
      );
      break;
    case 'close':
      transports.get(message.transportId)?.close();
      transports.delete(message.transportId);
      break;
  }
});
