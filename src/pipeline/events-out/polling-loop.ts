import type { Logger } from '../../observability/logger.js';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/**
 * Runs `tick` again and again: at once while it reports more work, otherwise after `idleMs` or as
 * soon as someone calls wake(). A failing tick is logged and retried after the idle wait; the work
 * it left behind is still in the database, so nothing is lost.
 */
export class PollingLoop {
  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;
  #wakeUp: (() => void) | undefined;
  #woken = false;

  constructor(
    private readonly name: string,
    private readonly tick: () => Promise<boolean>,
    private readonly idleMs: number,
    private readonly logger: Logger,
  ) {}

  get running(): boolean {
    return this.#loop !== undefined && !this.#stopping.signal.aborted;
  }

  get signal(): AbortSignal {
    return this.#stopping.signal;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Ends the idle wait early (new work arrived). */
  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    this.wake();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopping.signal.aborted) {
      let more = false;
      this.#woken = false;
      try {
        more = await this.tick();
      } catch (error) {
        this.logger.error({ err: error, worker: this.name }, `${this.name} failed; it tries again shortly`);
      }
      if (!more && !this.#woken && !this.#stopping.signal.aborted) await this.#idle();
      // With more to do, still let timers and I/O run first: PGlite answers through promises
      // alone, so back-to-back ticks would otherwise hold the event loop from other workers.
      else await yieldToEventLoop();
    }
  }

  #idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.idleMs);
      this.#wakeUp = done;
    });
  }
}
