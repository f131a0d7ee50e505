import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Children still running: killed if the driver exits without stopping them (a failed run). */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
function adopt<C extends ChildProcess>(child: C): C {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Compiles Herald with its own tsconfig into a private directory, so what is measured is the
 * product's build and does not change when someone rebuilds dist/ during the run. The directory
 * gets the repository's drizzle/ and node_modules/ by symlink, so the build resolves exactly as
 * dist/ does. Returns the CLI entry point.
 */
export async function buildHerald(into: string, log: (line: string) => void): Promise<string> {
  const out = path.join(into, 'dist');
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await run(process.execPath, [tsc, '-p', path.join(repoRoot, 'tsconfig.json'), '--outDir', out]);
  } catch (error) {
    // tsc still emits on type errors; somebody else's half-finished file must not stop the bench.
    const output = (error as { stdout?: string }).stdout ?? String(error);
    log(`warning: tsc reported problems, measuring what it emitted:\n${output.slice(0, 2000)}`);
  }
  for (const name of ['drizzle', 'node_modules']) {
    const link = path.join(into, name);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(repoRoot, name), link);
  }
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(into, 'package.json'));
  const main = path.join(out, 'cli', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`the build produced no ${main}`);
  return main;
}

/** Peak and current resident memory of a process, sampled from /proc. */
export class RssSampler {
  #timer: NodeJS.Timeout | undefined;
  #windowPeakKb = 0;
  #hwmKb = 0;
  #currentKb = 0;

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  sample(): void {
    let status: string;
    try {
      status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
    } catch {
      return; // the process has gone
    }
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    this.#currentKb = kb('VmRSS');
    this.#hwmKb = Math.max(this.#hwmKb, kb('VmHWM'));
    this.#windowPeakKb = Math.max(this.#windowPeakKb, this.#currentKb);
  }

  /** Starts a new measuring window (the peak of samples is counted from here). */
  resetWindow(): void {
    this.sample();
    this.#windowPeakKb = this.#currentKb;
  }

  get currentMb(): number {
    return this.#currentKb / 1024;
  }

  /** The highest VmRSS sampled since resetWindow(). */
  get windowPeakMb(): number {
    return this.#windowPeakKb / 1024;
  }

  /** VmHWM: the kernel's record of the highest RSS since the process started. */
  get hwmMb(): number {
    return this.#hwmKb / 1024;
  }

  stop(): void {
    this.sample();
    clearInterval(this.#timer);
  }
}

/**
 * Waits for the first stdout line `accept` returns a value for; fails if the process exits first.
 * Every line, before and after, also goes to `each`.
 */
function firstLine<T>(
  child: ChildProcess,
  accept: (line: string) => T | undefined,
  what: string,
  each: (line: string) => void = () => undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const tail: string[] = [];
    let ready = false;
    const onExit = (code: number | null) =>
      reject(new Error(`${what} exited (${code}) before it was ready:\n${tail.join('\n')}`));
    child.once('exit', onExit);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      each(line);
      if (ready) return;
      tail.push(line);
      if (tail.length > 40) tail.shift();
      const value = accept(line);
      if (value !== undefined) {
        ready = true;
        child.off('exit', onExit);
        resolve(value);
      }
    });
  });
}

/** Ends a child we started: SIGTERM, then SIGKILL if it has not gone after `graceMs`. */
export async function endChild(child: ChildProcess, graceMs = 30_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

export interface SinkProcess {
  readonly smtpPort: number;
  readonly pid: number;
  count(): Promise<{ count: number; bytes: number }>;
  /** Resolves when the sink has accepted `count` messages in all, or at the timeout. */
  waitFor(count: number, timeoutMs: number): Promise<{ count: number; bytes: number; reached: boolean }>;
  stop(): Promise<void>;
}

export async function startSink(): Promise<SinkProcess> {
  const child = adopt(
    spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench', 'smtp-sink.ts')], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const ports = await firstLine(
    child,
    (line) => (line.startsWith('{') ? (JSON.parse(line) as { smtpPort: number; httpPort: number }) : undefined),
    'the SMTP sink',
  );
  const base = `http://127.0.0.1:${ports.httpPort}`;
  return {
    smtpPort: ports.smtpPort,
    pid: child.pid!,
    async count() {
      return (await (await fetch(`${base}/count`)).json()) as { count: number; bytes: number };
    },
    async waitFor(count, timeoutMs) {
      // Long waits go in rounds of a minute: fetch gives up on an answer that takes over 5 minutes.
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const round = Math.round(Math.max(0, Math.min(60_000, deadline - performance.now())));
        const response = await fetch(`${base}/wait?count=${count}&timeoutMs=${round}`, {
          signal: AbortSignal.timeout(round + 10_000),
        });
        const answer = (await response.json()) as { count: number; bytes: number; reached: boolean };
        if (answer.reached || performance.now() >= deadline) return answer;
      }
    },
    async stop() {
      child.stdin?.end();
      await endChild(child, 5000);
    },
  };
}

export interface HeraldProcess {
  readonly url: string;
  readonly pid: number;
  readonly rss: RssSampler;
  /** Lines Herald logged (warn and above: HERALD_LOG_LEVEL=warn), the last 200. */
  readonly logTail: string[];
  /** How many log lines Herald wrote at warn level or above. */
  readonly problems: () => number;
  stop(): Promise<number | null>;
}

/** `node <main> <command> --port 0 [--data-dir D]` with `env`; ready when it prints its API address. */
export async function startHerald(options: {
  main: string;
  command: 'serve' | 'api';
  env: Record<string, string>;
  dataDir?: string;
  nodeOptions?: string[];
}): Promise<HeraldProcess> {
  const args = [
    ...(options.nodeOptions ?? []),
    options.main,
    options.command,
    '--port',
    '0',
    ...(options.dataDir ? ['--data-dir', options.dataDir] : []),
  ];
  const child = adopt(
    spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const logTail: string[] = [];
  let problems = 0;
  const keep = (line: string) => {
    if (line.startsWith('{')) problems += 1;
    logTail.push(line);
    if (logTail.length > 200) logTail.shift();
  };
  createInterface({ input: child.stderr }).on('line', keep);
  const url = await firstLine(
    child,
    (line) => /API on (http:\/\/[^\s;]+)/.exec(line)?.[1],
    `herald ${options.command}`,
    keep,
  );
  const rss = new RssSampler(child.pid!);
  return {
    url,
    pid: child.pid!,
    rss,
    logTail,
    problems: () => problems,
    async stop() {
      const code = await endChild(child);
      rss.stop();
      return code;
    },
  };
}

/** Runs a Herald admin command (`account create`, `api-key create`, …) and returns the JSON it prints. */
export async function heraldAdmin<T>(main: string, args: string[], env: Record<string, string>): Promise<T> {
  const { stdout } = await run(process.execPath, [main, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    maxBuffer: 10 * 1024 * 1024,
  });
  return JSON.parse(stdout.slice(stdout.indexOf('{'))) as T;
}
