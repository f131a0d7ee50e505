/**
 * Sends SMTP mail from a worker thread (smtp-thread.ts). nodemailer costs ≈ 0.9 ms of CPU a message
 * (building the MIME, streaming it, writing the socket), and Herald's main thread also runs the
 * database (PGlite is WASM in-process): on one thread they take turns on one core, in two they use two.
 *
 * One worker per process, shared by every SMTP vendor, started with the first transport and stopped
 * once the last is closed and its sends are answered. A worker that dies answers its sends as
 * retryable failures (they are sent again later, not lost); the next send starts another worker,
 * which reopens the transports still open.
 */
import type { Worker } from 'node:worker_threads';
import type { SendMailOptions } from 'nodemailer';
import type { EgressRules } from '../../network/egress-rules.js';
import { startThread } from '../../threads/start-thread.js';
import { refusal, type SendOutcome } from '../vendor.js';
import type { FromSenderThread, MailToSend, ToSenderThread } from './smtp-thread.js';
import type { SmtpSecrets, SmtpSettings } from './smtp-settings.js';

interface Thread {
  worker: Worker;
  pending: Map<number, (outcome: SendOutcome) => void>;
  /** Sends not yet posted, by transport: posted together once this turn of the event loop is over. */
  unposted: Map<number, MailToSend[]>;
}

const transports = new Map<number, { settings: SmtpSettings; secrets: SmtpSecrets; egress: EgressRules }>();
let thread: Thread | undefined;
let lastId = 0;

function startWorker(): Worker {
  return startThread(import.meta.url, 'smtp-thread');
}

/** Stops a worker that is no longer the current one once it has answered every send. */
function stopWhenAnswered(t: Thread): void {
  if (t !== thread && t.pending.size === 0) void t.worker.terminate();
}

function currentThread(): Thread {
  if (thread) return thread;
  const t: Thread = { worker: startWorker(), pending: new Map(), unposted: new Map() };
  let failure = 'The SMTP sender thread stopped';
  t.worker.on('error', (error) => {
    failure = `The SMTP sender thread failed: ${error.message}`;
  });
  t.worker.on('message', (answers: FromSenderThread) => {
    for (const { requestId, outcome } of answers) {
      t.pending.get(requestId)?.(outcome);
      t.pending.delete(requestId);
    }
    if (t.pending.size === 0) t.worker.unref();
    stopWhenAnswered(t);
  });
  t.worker.on('exit', () => {
    if (thread === t) thread = undefined;
    for (const resolve of t.pending.values()) resolve(refusal('vendor_unavailable', null, failure, true));
    t.pending.clear();
  });
  // Idle, the worker does not keep the process alive; a send in flight does (ref'd in sendMail).
  t.worker.unref();
  thread = t;
  for (const [transportId, { settings, secrets, egress }] of transports)
    post(t, { op: 'open', transportId, settings, secrets, egress });
  return t;
}

function post(t: Thread, message: ToSenderThread): void {
  postSends(t); // sends queued before a close or an open go first, as they were asked
  t.worker.postMessage(message);
}

function postSends(t: Thread): void {
  for (const [transportId, sends] of t.unposted) t.worker.postMessage({ op: 'send', transportId, sends });
  t.unposted.clear();
}

/** Opens a pooled transport in the sender thread (starting it if need be); returns its id. */
export function openTransport(settings: SmtpSettings, secrets: SmtpSecrets, egress: EgressRules): number {
  const transportId = ++lastId;
  transports.set(transportId, { settings, secrets, egress });
  if (thread) post(thread, { op: 'open', transportId, settings, secrets, egress });
  else currentThread();
  return transportId;
}

/** Sends through an open transport; always resolves, with the translated outcome. */
export function sendMail(transportId: number, mail: SendMailOptions): Promise<SendOutcome> {
  // nodemailer's closed pool would never answer; a vendor replaced while a batch still holds it must.
  if (!transports.has(transportId))
    return Promise.resolve(refusal('vendor_unavailable', null, 'Connection pool was closed', true));
  const t = currentThread();
  const requestId = ++lastId;
  // A delivery batch sends hundreds of mails in one turn: one message to the thread carries them all.
  if (t.unposted.size === 0) setImmediate(() => postSends(t));
  const sends = t.unposted.get(transportId) ?? [];
  sends.push({ requestId, mail });
  t.unposted.set(transportId, sends);
  t.worker.ref();
  return new Promise((resolve) => t.pending.set(requestId, resolve));
}

/** Closes a transport: sends in flight finish; closing the last one stops the worker (once they have). */
export function closeTransport(transportId: number): void {
  if (!transports.delete(transportId) || !thread) return;
  post(thread, { op: 'close', transportId });
  if (transports.size > 0) return;
  const t = thread;
  thread = undefined;
  stopWhenAnswered(t);
}

/** The running sender thread's worker, if any: for tests (to stop it and see sends survive). */
export function senderWorker(): Worker | undefined {
  return thread?.worker;
}
