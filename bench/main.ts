/**
 * Herald's benchmark: `npm run bench [-- --quick] [-- --json FILE]`. See BENCHMARKS.md.
 *
 * PostgreSQL when DATABASE_URL is set (the bench creates and drops its own databases on that
 * server), the embedded PGlite otherwise. Herald runs as a child process (`herald api` / `herald
 * serve`), the SMTP sink as another; the driver (this process) sends requests and runs the floors.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchContext } from './context.js';
import { runFloorEndToEnd, runHeraldEndToEnd, type EndToEndRun, type FloorRun } from './end-to-end.js';
import { benchEvents, type EventsResult } from './events.js';
import { benchIngest, type IngestResult } from './ingest.js';
import { buildHerald, startSink } from './processes.js';
import { benchUpload, type UploadResult } from './upload.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string', description: 'comma-separated: ingest, upload, e2e, scale, events' },
    runs: { type: 'string', default: '5' },
    'cpu-prof': { type: 'string', description: 'write CPU profiles of the Herald processes to this directory' },
  },
});

const meanOf = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

const quick = args.quick ?? false;
const only = new Set((args.only ?? 'ingest,upload,e2e,events,scale').split(',').map((s) => s.trim()));
const ingestRuns = Math.max(5, Number(args.runs));
const endToEndN = quick ? 10_000 : 100_000;
const scaleNs = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
const eventsN = quick ? 2_000 : 10_000;
const uploadRows = quick ? 100_000 : 1_000_000;
/** Every run is bounded: at least 200 invitations a second, or it stops and says it did not finish. */
const timeoutFor = (n: number) => 60_000 + n * 5;

/**
 * How the benchmark deploys Herald. Every HERALD_* variable in the bench's own environment
 * overrides these (to try other settings without editing the bench).
 */
function heraldEnv(): Record<string, string> {
  const tuned: Record<string, string> = {
    HERALD_LOG_LEVEL: 'warn',
    HERALD_VAULT_KEYS: `bench1:${randomBytes(32).toString('base64')}`,
    // An 18,000-record request of this shape is ≈ 8.3 MB: above the 8 MiB default.
    HERALD_BODY_LIMIT_BYTES: String(16 * 1024 * 1024),
    // Invitations out within a second of acceptance rather than the default 5 s grouping window.
    HERALD_TOKEN_FLUSH_MS: '1000',
    // Idle workers look for new work every 100 ms rather than 500 / 250 ms.
    HERALD_WORKER_POLL_MS: '100',
    HERALD_DELIVERY_POLL_MS: '100',
    // The SMTP sink and the webhook endpoint listen on loopback, on ports the system picks.
    HERALD_EGRESS_ALLOW: '127.0.0.0/8,::1',
    HERALD_EGRESS_ALLOW_PORTS: '1-65535',
  };
  for (const [name, value] of Object.entries(process.env))
    if (name.startsWith('HERALD_') && value !== undefined) tuned[name] = value;
  return tuned;
}

const fmt = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function machine() {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    freeMemoryGb: Math.round((os.freemem() / 1024 ** 3) * 10) / 10,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const database = databaseUrl ? 'postgres' : 'pglite';
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-'));
  const env = heraldEnv();
  log(`herald bench (${quick ? 'quick' : 'full'}) on ${database}; scratch in ${tmp}`);
  const main = await buildHerald(path.join(tmp, 'build'), log);
  const sink = await startSink();
  const cpuProf = args['cpu-prof'] ? path.resolve(args['cpu-prof']) : undefined;
  const ctx: BenchContext = {
    main,
    tmp,
    databaseUrl,
    heraldEnv: env,
    sink,
    heraldNodeOptions: cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : [],
    log,
  };

  let ingest: IngestResult | undefined;
  let upload: UploadResult | undefined;
  let herald: EndToEndRun | undefined;
  const floors: FloorRun[] = [];
  let events: EventsResult | undefined;
  const scale: EndToEndRun[] = [];
  try {
    if (only.has('ingest')) {
      log(`ingest: ${ingestRuns} requests of 18,000 records, each followed by its floor`);
      ingest = await benchIngest(ctx, ingestRuns);
    }
    if (only.has('upload')) {
      log(`upload: ${uploadRows.toLocaleString('en-US')} rows of CSV, against the same records by the API`);
      upload = await benchUpload(ctx, uploadRows, timeoutFor(uploadRows));
    }
    const wanted = [...new Set([...(only.has('e2e') ? [endToEndN] : []), ...(only.has('scale') ? scaleNs : [])])].sort(
      (a, b) => a - b,
    );
    const runEvents = async () => {
      if (!only.has('events') || events) return;
      log(`events: ${eventsN.toLocaleString('en-US')} invitations with a webhook subscription`);
      events = await benchEvents(ctx, eventsN, timeoutFor(eventsN));
      log(`  ${events.perSecond === null ? events.note : `${fmt(events.perSecond)} events/s (${events.note})`}`);
    };
    const runFloor = async (n: number, when: string) => {
      log(`end to end floor (${when}): ${n.toLocaleString('en-US')} messages, nodemailer straight to the sink`);
      const run = await runFloorEndToEnd(ctx, n, timeoutFor(n));
      log(`  ${fmt(run.perSecond)}/s`);
      return run;
    };
    for (const n of wanted) {
      // The events run is short: before the long scale runs, so a quick run reports it early.
      if (n > endToEndN) await runEvents();
      // The machine's speed drifts by several percent within minutes: the floor is measured just
      // before and just after Herald's run, and the ratio is taken against their mean.
      const measureFloor = n === endToEndN && only.has('e2e');
      if (measureFloor) floors.push(await runFloor(n, 'before'));
      log(`end to end: ${n.toLocaleString('en-US')} invitations through Herald`);
      const run = await runHeraldEndToEnd(ctx, n, timeoutFor(n));
      log(
        `  ${run.completed ? '' : 'INCOMPLETE: '}${fmt(run.delivered)} delivered in ${fmt(run.ms / 1000, 1)} s: ${fmt(run.perSecond)}/s, peak RSS ${fmt(run.peakRssMb)} MB`,
      );
      if (n === endToEndN) herald = run;
      if (scaleNs.includes(n)) scale.push(run);
      if (measureFloor) floors.push(await runFloor(n, 'after'));
    }
    await runEvents();
  } finally {
    await sink.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const first = scale[0];
  const last = scale.at(-1);
  const floorPerSecond = meanOf(floors.map((f) => f.perSecond));
  const result = {
    database,
    mode: quick ? 'quick' : 'full',
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine: machine(),
    heraldSettings: Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'HERALD_VAULT_KEYS')),
    ingest: ingest ?? null,
    upload: upload ?? null,
    endToEnd:
      herald && floors.length > 0
        ? {
            invitations: herald.invitations,
            completed: herald.completed,
            perSecond: herald.perSecond,
            floorPerSecond,
            floorRunsPerSecond: floors.map((f) => f.perSecond),
            ratio: herald.perSecond / floorPerSecond,
            peakRssMb: herald.peakRssMb,
            startRssMb: herald.startRssMb,
            steadyRssMb: herald.steadyRssMb,
            avgMessageBytes: herald.avgMessageBytes,
            floorAvgMessageBytes: floors[0]!.avgMessageBytes,
            requestMs: herald.requestMs,
            heraldProblems: herald.heraldProblems,
            timeline: herald.timeline,
          }
        : null,
    scale: scale.map((r) => ({
      invitations: r.invitations,
      completed: r.completed,
      msPerInvitation: r.msPerInvitation,
      perSecond: r.perSecond,
      peakRssMb: r.peakRssMb,
      steadyRssMb: r.steadyRssMb,
    })),
    /** ms per invitation at the largest N divided by that at the smallest: 1.0 is a flat line. */
    scaleGrowth: first && last && first !== last ? last.msPerInvitation / first.msPerInvitation : null,
    /** Peak RSS at the largest N divided by that at the smallest: 1.0 is flat memory. */
    memoryGrowth: first && last && first !== last ? last.peakRssMb / first.peakRssMb : null,
    /** The same for the steady RSS (second half of each run). */
    steadyMemoryGrowth:
      first?.steadyRssMb && last?.steadyRssMb && first !== last ? last.steadyRssMb / first.steadyRssMb : null,
    events: events ?? null,
  };

  const rows = [['measure', 'Herald', 'floor', 'ratio', 'bar', 'met']];
  if (result.ingest) {
    const i = result.ingest;
    rows.push([
      `ingest 18,000 records (median of ${i.runs.length}), floor with COPY`,
      `${fmt(i.ms)} ms`,
      `${fmt(i.floorMs)} ms`,
      fmt(i.ratio, 2),
      '≤ 1.50',
      i.ratio <= 1.5 ? 'yes' : 'NO',
    ]);
    rows.push(['  same floor inserting with unnest', '', `${fmt(i.unnestFloorMs)} ms`, fmt(i.unnestRatio, 2), '', '']);
  }
  if (upload) {
    rows.push([
      `upload ${fmt(upload.rows)} CSV rows (floor: same records by the API)`,
      `${fmt(upload.uploadPerSecond)}/s`,
      `${fmt(upload.apiPerSecond)}/s`,
      fmt(upload.ratio, 2),
      '≥ 0.80',
      upload.ratio >= 0.8 ? 'yes' : 'NO',
    ]);
    rows.push([
      '  peak RSS growth during the upload (API run beside it)',
      `${fmt(upload.uploadRssGrowthMb)} MB`,
      `${fmt(upload.apiRssGrowthMb)} MB`,
      '',
      '< 100 MB',
      upload.uploadRssGrowthMb < 100 ? 'yes' : 'NO',
    ]);
  }
  if (result.endToEnd) {
    const e = result.endToEnd;
    rows.push([
      `end to end ${fmt(e.invitations)} invitations (floor: mean of before and after)`,
      `${fmt(e.perSecond)}/s`,
      `${fmt(e.floorPerSecond)}/s`,
      fmt(e.ratio, 2),
      '≥ 0.70',
      e.ratio >= 0.7 && e.completed ? 'yes' : 'NO',
    ]);
    rows.push(['peak RSS of Herald (VmHWM)', `${fmt(e.peakRssMb)} MB`, '', '', '', '']);
  }
  for (const s of result.scale) {
    rows.push([
      `scale ${fmt(s.invitations)}${s.completed ? '' : ' (INCOMPLETE)'}`,
      `${fmt(s.msPerInvitation, 3)} ms/inv`,
      '',
      '',
      '',
      `RSS peak ${fmt(s.peakRssMb)} / steady ${fmt(s.steadyRssMb)} MB`,
    ]);
  }
  if (result.scaleGrowth !== null) {
    rows.push(['scale slope (ms/inv largest ÷ smallest)', fmt(result.scaleGrowth, 2), '', '', '≈ 1.0', '']);
    rows.push(['memory (peak RSS largest ÷ smallest)', fmt(result.memoryGrowth, 2), '', '', '≈ 1.0', '']);
    rows.push(['memory (steady RSS largest ÷ smallest)', fmt(result.steadyMemoryGrowth, 2), '', '', '≈ 1.0', '']);
  }
  if (events)
    rows.push([
      `events to a webhook receiver (${fmt(events.invitations)} invitations)`,
      events.perSecond === null ? 'not available' : `${fmt(events.perSecond)}/s`,
      '',
      '',
      '',
      events.perSecond === null ? '' : `${fmt(events.events)} events`,
    ]);
  process.stdout.write(
    `\nHerald benchmark, ${result.mode}, ${database}, ${result.machine.cpus} CPUs, Node ${process.version}\n`,
  );
  process.stdout.write(`${table(rows)}\n`);
  if (events?.perSecond === null) process.stdout.write(`events: ${events.note}\n`);
  if (args.json) {
    fs.writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`results written to ${args.json}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
