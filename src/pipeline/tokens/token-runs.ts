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

  /**
   * Runs `work` for the dispatch, or hands it to the run in progress. `work` gets a release: a run
   * that queues a job to carry on releases the dispatch first, so that job can never be handed
   * back to the run that is ending.
   */
  async run(dispatchId: string, work: (release: () => void) => Promise<void>): Promise<void> {
    const running = this.#running.get(dispatchId);
    if (running) {
      running.askedAgain = true;
      return;
    }
    const run = { askedAgain: false };
    this.#running.set(dispatchId, run);
    const holding = () => this.#running.get(dispatchId) === run;
    const release = () => {
      if (holding()) this.#running.delete(dispatchId);
    };
    try {
      await work(release);
      // Still holding the dispatch, the run found nothing left: it goes round again for jobs handed
      // to it meanwhile. The check and the release below happen in one synchronous step, so a job
      // arriving later runs itself.
      while (run.askedAgain && holding()) {
        run.askedAgain = false;
        await work(release);
      }
    } finally {
      release();
    }
  }
}
