import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { defaultTemplates } from '../src/pipeline/dispatch/default-templates.js';
import { surveyLink, unsubscribeLink } from '../src/pipeline/feedback/links.js';
import { renderVariant } from '../src/templates/template-engine.js';
import { smtpTransportOptions } from '../src/vendors/smtp/smtp-transport.js';
import type { BenchContext } from './context.js';
import { withBenchHerald } from './bench-herald.js';
import { dispatchBody, postDispatchRequest } from './seed.js';
import { egressRules } from '../src/network/egress-rules.js';

/**
 * Runs are split into requests of this many records (the API takes up to 18,000). Every N posts
 * requests of the same shape, so peak memory compares across N; 18,000-record requests are what
 * the ingest benchmark measures.
 */
export const REQUEST_RECORDS = 10_000;
/** Bodies of runs up to this size are built before the clock starts; larger runs build each as it goes. */
const PREBUILD_LIMIT = 200_000;

export interface EndToEndRun {
  invitations: number;
  /** Whether the sink received every message before the time limit. */
  completed: boolean;
  delivered: number;
  ms: number;
  perSecond: number;
  msPerInvitation: number;
  /** VmHWM of Herald's process at the end: its highest RSS since it started. */
  peakRssMb: number;
  /** RSS when the clock started (after start-up and seeding). */
  startRssMb: number;
  /** Median RSS over the second half of the run: what delivery holds once ingest is over. */
  steadyRssMb: number | null;
  avgMessageBytes: number;
  /** Time to 207 of each request. */
  requestMs: number[];
  /** Warnings and errors Herald logged. */
  heraldProblems: number;
  /** Every 5 s: messages delivered and Herald's RSS. */
  timeline: { s: number; delivered: number; rssMb: number }[];
}

function medianOf(values: number[]): number | null {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? null : sorted[Math.floor(sorted.length / 2)]!;
}

export interface FloorRun {
  invitations: number;
  ms: number;
  perSecond: number;
  avgMessageBytes: number;
}

/**
 * One end-to-end run on a fresh database: `herald serve` as a child process, the platform seeded
 * through its API, then `n` invitations posted in requests of at most 18,000 records. The clock
 * starts at the first request and stops when the sink has received `n` messages.
 */
export async function runHeraldEndToEnd(ctx: BenchContext, n: number, timeoutMs: number): Promise<EndToEndRun> {
  return withBenchHerald(ctx, `e2e-${n}`, 'serve', async ({ key, herald, platform }) => {
    const chunks: { first: number; count: number }[] = [];
    for (let first = 0; first < n; first += REQUEST_RECORDS)
      chunks.push({ first, count: Math.min(REQUEST_RECORDS, n - first) });
    const prebuilt = n <= PREBUILD_LIMIT ? chunks.map((c) => dispatchBody(platform, c.first, c.count)) : undefined;

    const before = await ctx.sink.count();
    herald.rss.resetWindow();
    const startRssMb = herald.rss.currentMb;
    const timeline: EndToEndRun['timeline'] = [];
    const started = performance.now();
    const sampler = setInterval(() => {
      void ctx.sink.count().then(({ count }) => {
        timeline.push({
          s: Math.round((performance.now() - started) / 1000),
          delivered: count - before.count,
          rssMb: Math.round(herald.rss.currentMb),
        });
        ctx.log(`    ${timeline.at(-1)!.s}s: ${count - before.count}/${n} delivered, RSS ${timeline.at(-1)!.rssMb} MB`);
      });
    }, 5000);
    const requestMs: number[] = [];
    let after: { count: number; bytes: number; reached: boolean };
    try {
      for (const [index, chunk] of chunks.entries()) {
        const body = prebuilt?.[index] ?? dispatchBody(platform, chunk.first, chunk.count);
        const sent = performance.now();
        await postDispatchRequest(herald.url, key, body);
        requestMs.push(performance.now() - sent);
      }
      const left = Math.max(1000, timeoutMs - (performance.now() - started));
      after = await ctx.sink.waitFor(before.count + n, left);
    } finally {
      clearInterval(sampler);
    }
    const ms = performance.now() - started;
    herald.rss.sample();
    const delivered = after.count - before.count;
    const result: EndToEndRun = {
      invitations: n,
      completed: after.reached,
      delivered,
      ms,
      perSecond: (delivered / ms) * 1000,
      msPerInvitation: ms / delivered,
      peakRssMb: herald.rss.hwmMb,
      startRssMb,
      steadyRssMb: medianOf(timeline.filter((t) => t.s * 1000 >= ms / 2).map((t) => t.rssMb)),
      avgMessageBytes: (after.bytes - before.bytes) / Math.max(1, delivered),
      requestMs,
      heraldProblems: herald.problems(),
      timeline,
    };
    if (herald.problems() > 0)
      ctx.log(`  Herald logged ${herald.problems()} warnings/errors; last:\n${herald.logTail.slice(-5).join('\n')}`);
    return result;
  });
}

/**
 * The floor of end to end: the SMTP client Herald uses (nodemailer, pooled, 5 connections, built
 * from Herald's own SMTP vendor options) sending `n` messages, rendered before the clock starts from
 * Herald's own default email template with the same links and headers, to the same sink.
 */
export async function runFloorEndToEnd(ctx: BenchContext, n: number, timeoutMs: number): Promise<FloorRun> {
  const baseUrl = 'http://127.0.0.1:45678';
  const variant = defaultTemplates.email[0]!;
  const messages = Array.from({ length: n }, (_, i) => {
    const token = randomBytes(18).toString('base64url');
    const rendered = renderVariant(variant, {
      surveyLink: surveyLink(baseUrl, token),
      unsubscribeLink: unsubscribeLink(baseUrl, token),
      language: 'en',
      dispatchName: 'Benchmark dispatch',
      prefills: { Name: `Customer ${i}` },
    });
    return {
      from: 'surveys@herald.test',
      to: `Customer.${i}@example.com`,
      subject: rendered.subject ?? '',
      text: rendered.text,
      html: rendered.html,
      headers: {
        'List-Unsubscribe': `<${unsubscribeLink(baseUrl, token)}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        'X-Herald-Message-Id': randomUUID(),
      },
    };
  });
  // Herald's own transport options (pool of 5, timeouts, TCP_NODELAY): the same client, configured alike.
  const transport = nodemailer.createTransport(
    smtpTransportOptions(
      {
        host: '127.0.0.1',
        port: ctx.sink.smtpPort,
        security: 'none',
        fromAddress: 'surveys@herald.test',
        rejectUnauthorized: true,
      },
      {},
      egressRules(ctx.heraldEnv.HERALD_EGRESS_ALLOW ?? '', ctx.heraldEnv.HERALD_EGRESS_ALLOW_PORTS ?? ''),
    ),
  );
  try {
    const before = await ctx.sink.count();
    const started = performance.now();
    // Keep plenty in flight (the pool queues them), as Herald does with a claimed batch.
    let next = 0;
    const worker = async () => {
      while (next < messages.length) await transport.sendMail(messages[next++]!);
    };
    await Promise.all(Array.from({ length: 200 }, worker));
    const after = await ctx.sink.waitFor(before.count + n, timeoutMs);
    const ms = performance.now() - started;
    const delivered = after.count - before.count;
    return {
      invitations: n,
      ms,
      perSecond: (delivered / ms) * 1000,
      avgMessageBytes: (after.bytes - before.bytes) / Math.max(1, delivered),
    };
  } finally {
    transport.close();
  }
}
