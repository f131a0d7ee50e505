import path from 'node:path';
import { z } from 'zod';
import { egressRules, parseEgressAllow, parseEgressPorts, type EgressRules } from '../network/egress-rules.js';
import { parseVaultKeys, type VaultKey } from '../privacy/vault.js';

/** Raised when the environment does not describe a runnable Herald; names every bad setting. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Herald's configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const boolean = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const positiveInt = z.coerce.number().int().positive();

/**
 * Every setting Herald reads, with its default. README.md "Configuration" documents the same list;
 * keep them together.
 */
const schema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  HERALD_DATA_DIR: z.string().min(1).default('./data'),
  HERALD_HOST: z.string().min(1).default('127.0.0.1'),
  HERALD_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HERALD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HERALD_BODY_LIMIT_BYTES: positiveInt.default(8 * 1024 * 1024),
  HERALD_METRICS_PUBLIC: boolean.default('false'),
  HERALD_REQUEST_TIMEOUT_MS: positiveInt.default(300_000),
  HERALD_ACCESS_TOKEN_TTL_SECONDS: positiveInt.default(3600),
  HERALD_DB_POOL_SIZE: positiveInt.default(10),
  HERALD_WORKER_BATCH_SIZE: positiveInt.default(100),
  HERALD_WORKER_POLL_MS: positiveInt.default(500),
  HERALD_JOB_RETRY_LIMIT: z.coerce.number().int().min(0).default(5),
  HERALD_JOB_RETRY_DELAY_SECONDS: positiveInt.default(5),
  HERALD_SHUTDOWN_TIMEOUT_MS: positiveInt.default(15000),
  HERALD_VAULT_KEYS: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      for (const problem of value ? parseVaultKeys(value).problems : [])
        ctx.addIssue({ code: 'custom', message: problem });
    }),
  HERALD_MAX_RECORDS: positiveInt.default(18000),
  HERALD_MAX_DISPATCHES: positiveInt.default(15),
  HERALD_TOKEN_BATCH_SIZE: positiveInt.default(1000),
  HERALD_TOKEN_FLUSH_MS: z.coerce.number().int().min(0).default(5000),
  HERALD_PUBLIC_URL: z.string().url().optional(),
  HERALD_DELIVERY_BATCH_SIZE: positiveInt.default(400),
  HERALD_DELIVERY_POLL_MS: positiveInt.default(250),
  HERALD_SEND_MAX_ATTEMPTS: positiveInt.default(10),
  HERALD_SEND_RETRY_BASE_MS: positiveInt.default(30_000),
  HERALD_SEND_CLAIM_TIMEOUT_MS: positiveInt.default(300_000),
  HERALD_SEND_WINDOW: positiveInt.default(100),
  HERALD_BULK_BATCH_SIZE: positiveInt.default(500),
  HERALD_BULK_FLUSH_MS: z.coerce.number().int().min(0).default(5000),
  HERALD_EVENTS_BATCH_SIZE: positiveInt.default(1000),
  HERALD_EVENTS_POLL_MS: positiveInt.default(200),
  HERALD_WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
  HERALD_WEBHOOK_CONCURRENCY: positiveInt.default(10),
  HERALD_WEBHOOK_RETRY_BASE_MS: positiveInt.default(10_000),
  HERALD_WEBHOOK_RETRY_HORIZON_SECONDS: positiveInt.default(86_400),
  HERALD_WEBHOOK_DISABLE_AFTER_SECONDS: positiveInt.default(259_200),
  HERALD_REPORTER_TICK_MS: positiveInt.default(1000),
  HERALD_REPORTER_RETRY_BASE_MS: positiveInt.default(5000),
  HERALD_REPORTER_RETRY_HORIZON_SECONDS: positiveInt.default(86_400),
  HERALD_CALLBACK_BODY_LIMIT_BYTES: positiveInt.default(2 * 1024 * 1024),
  HERALD_BOUNCE_SMTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HERALD_BOUNCE_SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  HERALD_UPLOAD_MAX_BYTES: positiveInt.default(150 * 1024 * 1024),
  HERALD_UPLOAD_MAX_UNZIPPED_BYTES: positiveInt.default(1024 * 1024 * 1024),
  HERALD_UPLOAD_DIR: z.string().min(1).optional(),
  HERALD_INITIATOR_DIR: z.string().min(1).optional(),
  HERALD_INITIATOR_POLL_MS: positiveInt.default(1000),
  HERALD_INITIATOR_SETTLE_MS: z.coerce.number().int().min(0).default(2000),
  HERALD_EGRESS_ALLOW: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      for (const problem of value ? parseEgressAllow(value).problems : [])
        ctx.addIssue({ code: 'custom', message: problem });
    }),
  HERALD_EGRESS_ALLOW_PORTS: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      for (const problem of value ? parseEgressPorts(value).problems : [])
        ctx.addIssue({ code: 'custom', message: problem });
    }),
});

/** The names of every environment variable Herald reads. */
export const settingNames: readonly string[] = Object.keys(schema.shape);

/** Each variable's value when the environment leaves it unset (undefined: no default). */
export const settingDefaults: Readonly<Record<string, unknown>> = schema.parse({});

export type Config = Readonly<{
  databaseUrl: string | undefined;
  dataDir: string;
  host: string;
  port: number;
  logLevel: z.infer<typeof schema>['HERALD_LOG_LEVEL'];
  bodyLimitBytes: number;
  metricsPublic: boolean;
  /** A request whose headers and body have not all arrived within this is answered 408 and closed. */
  requestTimeoutMs: number;
  accessTokenTtlSeconds: number;
  dbPoolSize: number;
  workerBatchSize: number;
  workerPollMs: number;
  jobRetryLimit: number;
  jobRetryDelaySeconds: number;
  shutdownTimeoutMs: number;
  /** Unset with the embedded database: Herald then keeps a generated key in the data directory. */
  vaultKeys: readonly VaultKey[] | undefined;
  maxRecords: number;
  maxDispatches: number;
  tokenBatchSize: number;
  tokenFlushMs: number;
  /** Base of survey and unsubscribe links; the API's own address when unset. */
  publicUrl: string | undefined;
  deliveryBatchSize: number;
  deliveryPollMs: number;
  sendMaxAttempts: number;
  sendRetryBaseMs: number;
  /** A message claimed longer ago than this was being sent by a process that died: it is sent again. */
  sendClaimTimeoutMs: number;
  /** Messages handed to vendors whose outcome is not committed yet, at most, per process: what a kill -9 may send twice. */
  sendWindow: number;
  /** Most messages a bulk-send vendor gets in one call; a full batch is sent at once. */
  bulkBatchSize: number;
  /** How long a bulk batch that is not full waits for more messages before it is sent anyway. */
  bulkFlushMs: number;
  /** Timeline events the outbox relay publishes per transaction; webhook deliveries claimed at once. */
  eventsBatchSize: number;
  /** How long the events-out workers wait when idle. */
  eventsPollMs: number;
  /** How long a webhook or campaign-reporter endpoint may take to answer. */
  webhookTimeoutMs: number;
  /** Requests in flight at once per webhook subscription (per process). */
  webhookConcurrency: number;
  webhookRetryBaseMs: number;
  /** After this long without success a webhook delivery is dead-lettered. */
  webhookRetryHorizonSeconds: number;
  /** A subscription whose every delivery has failed for this long is disabled. */
  webhookDisableAfterSeconds: number;
  /** How often the campaign reporter looks for reporters whose interval has elapsed. */
  reporterTickMs: number;
  reporterRetryBaseMs: number;
  reporterRetryHorizonSeconds: number;
  /** Largest vendor callback body (read whole before its signature is checked). */
  callbackBodyLimitBytes: number;
  /** Port of the SMTP endpoint that receives bounces (delivery status notifications); unset: none. */
  bounceSmtpPort: number | undefined;
  bounceSmtpHost: string;
  /** Largest file the initiator takes (upload API, watched folder). */
  uploadMaxBytes: number;
  /** Most bytes an XLSX file may decompress to: more is refused as a zip bomb. */
  uploadMaxUnzippedBytes: number;
  /** Where uploaded files wait while they are processed; shared by API and worker processes. */
  uploadDir: string;
  /** The watched folder: one sub-folder per feed with its config.json; unset: no folder is watched. */
  initiatorDir: string | undefined;
  initiatorPollMs: number;
  /** How long a file in the watched folder must keep its size and time before it is taken. */
  initiatorSettleMs: number;
  /** Non-public addresses, names and ports that outbound connections may reach (none by default). */
  egress: EgressRules;
}>;

/** Command-line options override their environment equivalents. */
export type ConfigOverrides = Partial<Pick<Config, 'port' | 'dataDir' | 'host'>>;

/**
 * Parses the environment once. Empty (or blank) strings count as unset, so `HERALD_PORT=` falls
 * back to the default instead of failing, and `HERALD_PORT=" "` does not become port 0.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = schema.safeParse(present);
  const problems: string[] = [];
  if (present.DATABASE_URL && !present.HERALD_VAULT_KEYS) {
    problems.push(
      'HERALD_VAULT_KEYS: required with DATABASE_URL (the keys that encrypt personal data: "k1:" + 32 random bytes in base64)',
    );
  }
  if (!parsed.success) {
    problems.unshift(
      ...parsed.error.issues.map((issue) => {
        const key = issue.path.join('.');
        const value = present[key];
        const secret = key === 'DATABASE_URL' || key === 'HERALD_VAULT_KEYS';
        const shown = secret || value === undefined ? '' : ` (got "${value}")`;
        return `${key}: ${issue.message}${shown}`;
      }),
    );
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(overrides.dataDir ?? e.HERALD_DATA_DIR),
    host: overrides.host ?? e.HERALD_HOST,
    port: overrides.port ?? e.HERALD_PORT,
    logLevel: e.HERALD_LOG_LEVEL,
    bodyLimitBytes: e.HERALD_BODY_LIMIT_BYTES,
    metricsPublic: e.HERALD_METRICS_PUBLIC,
    requestTimeoutMs: e.HERALD_REQUEST_TIMEOUT_MS,
    accessTokenTtlSeconds: e.HERALD_ACCESS_TOKEN_TTL_SECONDS,
    dbPoolSize: e.HERALD_DB_POOL_SIZE,
    workerBatchSize: e.HERALD_WORKER_BATCH_SIZE,
    workerPollMs: e.HERALD_WORKER_POLL_MS,
    jobRetryLimit: e.HERALD_JOB_RETRY_LIMIT,
    jobRetryDelaySeconds: e.HERALD_JOB_RETRY_DELAY_SECONDS,
    shutdownTimeoutMs: e.HERALD_SHUTDOWN_TIMEOUT_MS,
    vaultKeys: e.HERALD_VAULT_KEYS ? parseVaultKeys(e.HERALD_VAULT_KEYS).keys : undefined,
    maxRecords: e.HERALD_MAX_RECORDS,
    maxDispatches: e.HERALD_MAX_DISPATCHES,
    tokenBatchSize: e.HERALD_TOKEN_BATCH_SIZE,
    tokenFlushMs: e.HERALD_TOKEN_FLUSH_MS,
    publicUrl: e.HERALD_PUBLIC_URL?.replace(/\/+$/, ''),
    deliveryBatchSize: e.HERALD_DELIVERY_BATCH_SIZE,
    deliveryPollMs: e.HERALD_DELIVERY_POLL_MS,
    sendMaxAttempts: e.HERALD_SEND_MAX_ATTEMPTS,
    sendRetryBaseMs: e.HERALD_SEND_RETRY_BASE_MS,
    sendClaimTimeoutMs: e.HERALD_SEND_CLAIM_TIMEOUT_MS,
    sendWindow: e.HERALD_SEND_WINDOW,
    bulkBatchSize: e.HERALD_BULK_BATCH_SIZE,
    bulkFlushMs: e.HERALD_BULK_FLUSH_MS,
    eventsBatchSize: e.HERALD_EVENTS_BATCH_SIZE,
    eventsPollMs: e.HERALD_EVENTS_POLL_MS,
    webhookTimeoutMs: e.HERALD_WEBHOOK_TIMEOUT_MS,
    webhookConcurrency: e.HERALD_WEBHOOK_CONCURRENCY,
    webhookRetryBaseMs: e.HERALD_WEBHOOK_RETRY_BASE_MS,
    webhookRetryHorizonSeconds: e.HERALD_WEBHOOK_RETRY_HORIZON_SECONDS,
    webhookDisableAfterSeconds: e.HERALD_WEBHOOK_DISABLE_AFTER_SECONDS,
    reporterTickMs: e.HERALD_REPORTER_TICK_MS,
    reporterRetryBaseMs: e.HERALD_REPORTER_RETRY_BASE_MS,
    reporterRetryHorizonSeconds: e.HERALD_REPORTER_RETRY_HORIZON_SECONDS,
    callbackBodyLimitBytes: e.HERALD_CALLBACK_BODY_LIMIT_BYTES,
    bounceSmtpPort: e.HERALD_BOUNCE_SMTP_PORT,
    bounceSmtpHost: e.HERALD_BOUNCE_SMTP_HOST,
    uploadMaxBytes: e.HERALD_UPLOAD_MAX_BYTES,
    uploadMaxUnzippedBytes: e.HERALD_UPLOAD_MAX_UNZIPPED_BYTES,
    uploadDir: path.resolve(e.HERALD_UPLOAD_DIR ?? path.join(overrides.dataDir ?? e.HERALD_DATA_DIR, 'uploads')),
    initiatorDir: e.HERALD_INITIATOR_DIR === undefined ? undefined : path.resolve(e.HERALD_INITIATOR_DIR),
    initiatorPollMs: e.HERALD_INITIATOR_POLL_MS,
    initiatorSettleMs: e.HERALD_INITIATOR_SETTLE_MS,
    egress: egressRules(e.HERALD_EGRESS_ALLOW ?? '', e.HERALD_EGRESS_ALLOW_PORTS ?? ''),
  });
}
