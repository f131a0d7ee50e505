/**
 * The template render thread (a worker started by render-off-thread.ts): checks and renders
 * variants with sample data, so a template that takes long to render holds this thread — which is
 * stopped after a timeout — and never the main thread that serves requests and delivers.
 */
import { parentPort } from 'node:worker_threads';
import { AppError } from '../errors.js';
import type { Channel, TemplateVariant } from '../storage/schema.js';
import {
  checkVariant,
  renderVariant,
  sampleContext,
  type RenderedVariant,
  type SampleInput,
} from './template-engine.js';

export interface RenderTask {
  readonly id: number;
  /** Checked for this channel first (compiles, renders with sample data), as a save does. */
  readonly channel: Channel;
  readonly variant: TemplateVariant;
  readonly input: SampleInput;
}

/** `started` when the thread takes a task (its time runs from then), then the result. */
export type RenderResult =
  | { id: number; started: true }
  | { id: number; ok: true; rendered: RenderedVariant }
  | { id: number; ok: false; error: { code: AppError['code']; message: string; details?: unknown } };

const port = parentPort;
if (!port) throw new Error('render-thread runs as a worker thread: see render-off-thread.ts');

port.on('message', ({ id, channel, variant, input }: RenderTask) => {
  port.postMessage({ id, started: true } satisfies RenderResult);
  let result: RenderResult;
  try {
    checkVariant(channel, variant);
    result = { id, ok: true, rendered: renderVariant(variant, sampleContext(variant, input)) };
  } catch (error) {
    const known = error instanceof AppError;
    result = {
      id,
      ok: false,
      error: known
        ? { code: error.code, message: error.message, details: error.details }
        : { code: 'VALIDATION_FAILED', message: `The template cannot be rendered: ${String(error)}` },
    };
  }
  port.postMessage(result);
});
