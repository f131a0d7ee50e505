/**
 * The SMTP sender thread (a worker started by smtp-sender-thread.ts): owns the nodemailer
 * transports, so building and writing messages happens off the main thread. Only plain data
 * crosses: settings in, mail in, translated outcomes out — each in one message a turn of the event
 * loop rather than one a mail.
 */
import { parentPort } from 'node:worker_threads';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type { EgressRules } from '../../network/egress-rules.js';
import type { SendOutcome } from '../vendor.js';
import { translateSmtpError } from './smtp-errors.js';
import type { SmtpSecrets, SmtpSettings } from './smtp-settings.js';
import { smtpTransportOptions } from './smtp-transport.js';

export interface MailToSend {
  requestId: number;
  mail: SendMailOptions;
}

export type ToSenderThread =
  | { op: 'open'; transportId: number; settings: SmtpSettings; secrets: SmtpSecrets; egress: EgressRules }
  | { op: 'send'; transportId: number; sends: MailToSend[] }
  | { op: 'close'; transportId: number };

export interface SendAnswer {
  requestId: number;
  outcome: SendOutcome;
}

export type FromSenderThread = SendAnswer[];

/**
 * Mails handed to nodemailer at once, per pooled connection. nodemailer builds a mail's MIME tree
 * as soon as it is handed over and holds it until a connection is free: a delivery batch handed
 * over whole kept hundreds of trees alive long enough to reach the old generation, and the garbage
 * collector's work slowed sending (10,000 handed over at once: a fifth slower than 200 at a time).
 * Two a connection keep every connection busy.
 */
const MAILS_PER_CONNECTION = 2;

const port = parentPort;
if (!port) throw new Error('smtp-thread runs as a worker thread: see smtp-sender-thread.ts');

let answers: SendAnswer[] = [];
function answer(requestId: number, outcome: SendOutcome): void {
  if (answers.length === 0) setImmediate(postAnswers);
  answers.push({ requestId, outcome });
}
function postAnswers(): void {
  port!.postMessage(answers satisfies FromSenderThread);
  answers = [];
}

const poolClosed = () => translateSmtpError(new Error('Connection pool was closed'));

/** One transport and the mails waiting for a place in its window. */
class TransportQueue {
  readonly #waiting: MailToSend[] = [];
  #inFlight = 0;

  constructor(
    private readonly transport: Transporter,
    private readonly window: number,
  ) {}

  add(sends: MailToSend[]): void {
    for (const send of sends) this.#waiting.push(send);
    this.#pump();
  }

  /** Mails in flight finish; those still waiting are answered as nodemailer answers its own queue. */
  close(): void {
    this.transport.close();
    for (const { requestId } of this.#waiting.splice(0)) answer(requestId, poolClosed());
  }

  #pump(): void {
    while (this.#inFlight < this.window && this.#waiting.length > 0) {
      const send = this.#waiting.shift()!;
      this.#inFlight += 1;
      void this.#send(send).finally(() => {
        this.#inFlight -= 1;
        this.#pump();
      });
    }
  }

  async #send({ requestId, mail }: MailToSend): Promise<void> {
    try {
      const info = (await this.transport.sendMail(mail)) as { messageId: string };
      answer(requestId, { ok: true, vendorMessageId: info.messageId });
    } catch (error) {
      answer(requestId, translateSmtpError(error));
    }
  }
}

const transports = new Map<number, TransportQueue>();

port.on('message', (message: ToSenderThread) => {
  switch (message.op) {
    case 'open': {
      const options = smtpTransportOptions(message.settings, message.secrets, message.egress);
      const window = (options.maxConnections ?? 1) * MAILS_PER_CONNECTION;
      transports.set(message.transportId, new TransportQueue(nodemailer.createTransport(options), window));
      break;
    }
    case 'send': {
      const transport = transports.get(message.transportId);
      if (transport) transport.add(message.sends);
      else for (const { requestId } of message.sends) answer(requestId, poolClosed());
      break;
    }
    case 'close':
      transports.get(message.transportId)?.close();
      transports.delete(message.transportId);
      break;
  }
});
