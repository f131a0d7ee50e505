import cliProgress from 'cli-progress';

/** What `herald send` shows of an upload while it is processed (GET /api/uploads/{id}). */
export interface UploadState {
  status: 'processing' | 'done' | 'failed';
  progress: number;
  rows: { read: number; accepted: number; rejected: number; throttled: number; suppressed: number };
}

export interface ProgressReporter {
  update(state: UploadState): void;
  stop(): void;
}

const count = (n: number) => n.toLocaleString('en-US');

function seconds(value: number): string {
  if (!Number.isFinite(value) || value < 0) return '?';
  if (value < 60) return `${Math.round(value)}s`;
  return `${Math.floor(value / 60)}m${String(Math.round(value % 60)).padStart(2, '0')}s`;
}

/** Rows a second since the first state seen, and the time left by the share of the file read. */
class Pace {
  readonly #started = Date.now();
  #firstRows: number | undefined;

  measure(state: UploadState): { rate: number; eta: string } {
    this.#firstRows ??= state.rows.read;
    const elapsed = (Date.now() - this.#started) / 1000;
    const rate = elapsed > 0 ? (state.rows.read - this.#firstRows) / elapsed : 0;
    const eta =
      state.progress > 0 && state.progress < 1 ? seconds((elapsed / state.progress) * (1 - state.progress)) : '?';
    return { rate, eta: state.progress >= 1 ? '0s' : eta };
  }
}

/** A live bar on a terminal: share of the file, rows, accepted, rejected, rate and time left. */
class Bar implements ProgressReporter {
  readonly #bar = new cliProgress.SingleBar(
    {
      format:
        '{bar} {percentage}% | rows {read} | accepted {accepted} | rejected {rejected} | {rate} rows/s | ETA {left}',
      hideCursor: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  readonly #pace = new Pace();

  constructor() {
    this.#bar.start(1000, 0, { read: '0', accepted: '0', rejected: '0', rate: '0', left: '?' });
  }

  update(state: UploadState): void {
    const { rate, eta } = this.#pace.measure(state);
    this.#bar.update(Math.round(state.progress * 1000), {
      read: count(state.rows.read),
      accepted: count(state.rows.accepted),
      rejected: count(state.rows.rejected + state.rows.throttled + state.rows.suppressed),
      rate: count(Math.round(rate)),
      // Not "eta": that name is the bar's own estimate, which knows nothing of the rows.
      left: eta,
    });
  }

  stop(): void {
    this.#bar.stop();
  }
}

/** Plain lines when the output is not a terminal (a log, a pipe, CI): one when something changed, at most one a second. */
class Lines implements ProgressReporter {
  readonly #pace = new Pace();
  #last = '';
  #lastAt = 0;

  constructor(private readonly write: (line: string) => void) {}

  update(state: UploadState): void {
    const { rate, eta } = this.#pace.measure(state);
    const { read, accepted, rejected, throttled, suppressed } = state.rows;
    const figures = `rows ${count(read)}, accepted ${count(accepted)}, rejected ${count(rejected + throttled + suppressed)}`;
    if (figures === this.#last && state.status === 'processing') return;
    if (Date.now() - this.#lastAt < 1000 && state.status === 'processing') return;
    this.#last = figures;
    this.#lastAt = Date.now();
    this.write(
      `progress ${Math.floor(state.progress * 100)}%: ${figures}, ${count(Math.round(rate))} rows/s, ETA ${eta}`,
    );
  }

  stop(): void {}
}

/** A bar when `terminal`, plain lines through `write` otherwise. */
export function progressReporter(terminal: boolean, write: (line: string) => void): ProgressReporter {
  return terminal ? new Bar() : new Lines(write);
}
