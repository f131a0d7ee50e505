/** How a run of token creation for a dispatch ended. */
export type TokenRunEnd =
  /** Nothing was left to create tokens for when it looked. */
  | 'idle'
  /** A queued job carries on: later, for a group still gathering, or at once after a long run. */
  | 'continued';

/**
 * One token run per dispatch at a time in this process. Each request queues a job for its dispatch,
 * so a large ingest queues many at once; run side by side they would claim the same dispatch's
 * groups in turn and each wait for delivery's turn, with nothing gained (the database serialises
 * them) and a due-count query per job at every turn. A job that finds its dispatch's run in
 * progress hands its work over instead: the run goes round once more before it ends idle, so the
 * groups that job was queued for are claimed. Runs in other processes go on in parallel.
 */
export class TokenRuns {
  readonly #running = new Map<string, { askedAgain: boolean }>();

  async run(dispatchId: string, work: () => Promise<TokenRunEnd>): Promise<void> {
    const running = this.#running.get(dispatchId);
    if (running) {
      running.askedAgain = true;
      return;
    }
    const run = { askedAgain: false };
    this.#running.set(dispatchId, run);
    try {
      // The check and the delete below happen in one synchronous step: a job arriving later finds no run and works itself.
      while ((await work()) === 'idle' && run.askedAgain) run.askedAgain = false;
    } finally {
      this.#running.delete(dispatchId);
    }
  }
}
