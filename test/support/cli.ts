import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOOPBACK_EGRESS_ENV } from './egress.js';
import { stopAtEndOfFile } from './teardown.js';
import { waitFor } from './wait.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The built CLI: `npm test` compiles it first; run `npx tsc -p tsconfig.json` before running a file alone. */
export const cliPath = path.join(repoRoot, 'dist/cli/main.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The environment a child Herald gets: this process's, minus any Herald setting or DATABASE_URL
 * (so a developer's shell cannot leak into a test), on loopback and allowed to reach it, plus `env`.
 */
export function cliEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('HERALD_') && key !== 'DATABASE_URL'),
  );
  return { ...inherited, HERALD_HOST: '127.0.0.1', HERALD_LOG_LEVEL: 'warn', ...LOOPBACK_EGRESS_ENV, ...env };
}

const started = new Set<CliProcess>();

export interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** The Node script to run; the Herald CLI unless given. */
  script?: string;
}

/** A running `node dist/cli/main.js …` (or another Node script) whose output is collected. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout = '';
  stderr = '';
  exit: Exit | undefined;
  readonly exited: Promise<Exit>;

  constructor(args: readonly string[], options: CliOptions = {}) {
    const script = options.script ?? cliPath;
    if (!fs.existsSync(script)) {
      throw new Error(`${script} is missing: build first with "npx tsc -p tsconfig.json" (npm test does).`);
    }
    this.child = spawn(process.execPath, [script, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: cliEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new Error(`could not start the CLI with ${args.join(' ')}`);
    this.pid = this.child.pid;
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    // 'close' (not 'exit') so that all output has been read when it resolves.
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.exit = { code, signal };
        started.delete(this);
        resolve(this.exit);
      });
    });
    started.add(this);
    stopAtEndOfFile(() => this.kill());
  }

  get running(): boolean {
    return this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get output(): string {
    return `--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`;
  }

  /** Sends `signal` to this child (by pid) if it still runs. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) process.kill(this.pid, signal);
  }

  /** Waits for the child to exit; kills it and fails after `timeoutMs`. */
  async waitForExit(timeoutMs = 30_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.signal('SIGKILL');
        reject(new Error(`the CLI did not exit within ${timeoutMs} ms\n${this.output}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the child (SIGKILL) if it still runs and waits until it is gone. */
  async kill(): Promise<Exit> {
    this.signal('SIGKILL');
    return this.exited;
  }
}

/** Runs the CLI to completion. */
export async function runCli(
  args: readonly string[],
  options: CliOptions & { timeoutMs?: number } = {},
): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = new CliProcess(args, options);
  const exit = await cli.waitForExit(options.timeoutMs ?? 60_000);
  return { ...exit, stdout: cli.stdout, stderr: cli.stderr };
}

/** A `serve`/`api` process and the URL it announced on stdout ("… API on http://127.0.0.1:PORT …"). */
export interface ServingCli {
  readonly cli: CliProcess;
  readonly url: string;
}

/** Starts a serving command (pass `--port 0`) and waits until it announces its URL. */
export async function startServing(
  args: readonly string[],
  options: CliOptions & { timeoutMs?: number } = {},
): Promise<ServingCli> {
  const cli = new CliProcess(args, options);
  try {
    const url = await waitFor(
      () => {
        const match = /API on (http:\/\/127\.0\.0\.1:\d+)/.exec(cli.stdout);
        if (match?.[1]) return match[1];
        if (!cli.running) throw new Error(`the CLI exited (${JSON.stringify(cli.exit)}) before serving`);
        return undefined;
      },
      options.timeoutMs ?? 60_000,
      { description: `herald ${args.join(' ')} to announce its URL` },
    );
    return { cli, url };
  } catch (error) {
    await cli.kill();
    throw new Error(`${(error as Error).message}\n${cli.output}`);
  }
}

/** Kills (by pid) every CLI process this test file started that still runs; for afterEach/afterAll. */
export async function killStartedClis(): Promise<void> {
  await Promise.all([...started].map((cli) => cli.kill()));
}

/** Parses the JSON an admin command prints. */
export function parseJsonOutput<T>(result: { stdout: string; stderr: string; code: number | null }): T {
  if (result.code !== 0) throw new Error(`the command failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
