import type { Worker } from 'node:worker_threads';
import { AppError } from '../errors.js';
import type { Channel, TemplateVariant } from '../storage/schema.js';
import { startThread } from '../threads/start-thread.js';
import type { RenderResult, RenderTask } from './render-thread.js';
import type { RenderedVariant, SampleInput } from './template-engine.js';

/** How long a check or a preview may render before its thread is stopped. */
export const RENDER_TIMEOUT_MS = 2000;

interface Waiting {
  /** The thread took the task: its time starts. */
  started(): void;
  resolve(rendered: RenderedVariant): void;
  reject(error: Error): void;
}

let thread: { worker: Worker; waiting: Map<number, Waiting> } | undefined;
let lastId = 0;

function currentThread() {
  if (thread) return thread;
  const worker = startThread(import.meta.url, 'render-thread');
  const waiting = new Map<number, Waiting>();
  const own = { worker, waiting };
  worker.on('message', (result: RenderResult) => {
    const waiter = waiting.get(result.id);
    if ('started' in result) return waiter?.started();
    waiting.delete(result.id);
    if (waiting.size === 0) worker.unref();
    if (!waiter) return;
    if (result.ok) waiter.resolve(result.rendered);
    else waiter.reject(new AppError(result.error.code, result.error.message, result.error.details));
  });
  const fail = (error: Error) => {
    if (thread === own) thread = undefined;
    for (const waiter of waiting.values()) waiter.reject(error);
    waiting.clear();
  };
  worker.on('error', fail);
  // Renders that shared a thread stopped for another's timeout: the caller may simply ask again.
  worker.on('exit', () =>
    fail(new AppError('UNAVAILABLE', 'The template renderer restarted while rendering: send the request again.')),
  );
  worker.unref();
  thread = own;
  return own;
}

/**
 * Checks `variant` for `channel` and renders it with sample data (and `input`) in the render
 * thread. A render that takes longer than RENDER_TIMEOUT_MS from when the thread takes it (the
 * thread's start and the renders before it in the queue do not count) is refused (400), and the
 * thread is stopped; the next render starts another.
 */
export function renderOffThread(
  channel: Channel,
  variant: TemplateVariant,
  input: SampleInput,
): Promise<RenderedVariant> {
  const own = currentThread();
  const id = ++lastId;
  return new Promise<RenderedVariant>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const timeOut = () => {
      own.waiting.delete(id);
      if (thread === own) thread = undefined;
      void own.worker.terminate();
      reject(
        new AppError(
          'VALIDATION_FAILED',
          `The template took longer than ${RENDER_TIMEOUT_MS / 1000} s to render: make it, or what it repeats, smaller.`,
        ),
      );
    };
    const settle =
      <T>(done: (value: T) => void) =>
      (value: T) => {
        clearTimeout(timer);
        done(value);
      };
    own.waiting.set(id, {
      started: () => (timer = setTimeout(timeOut, RENDER_TIMEOUT_MS)),
      resolve: settle(resolve),
      reject: settle(reject),
    });
    own.worker.ref();
    own.worker.postMessage({ id, channel, variant, input } satisfies RenderTask);
  });
}
