import { eq } from 'drizzle-orm';
import { AppError, invalidField } from '../../errors.js';
import type { Vault } from '../../privacy/vault.js';
import type { Database, Db, SqlExecutor } from '../../storage/database.js';
import { campaignReporters } from '../../storage/schema.js';
import type { EgressRules } from '../../network/egress-rules.js';
import { checkOutboundUrl } from '../../network/outbound-url.js';

type ReporterRow = typeof campaignReporters.$inferSelect;
export type ReporterFormat = ReporterRow['format'];
export const reporterFormats = ['json', 'elasticsearch'] as const satisfies readonly ReporterFormat[];

/** An account's campaign reporter as the API shows it: never its Authorization header. */
export interface CampaignReporter {
  uri: string;
  authHeader: { set: boolean };
  intervalSeconds: number;
  format: ReporterFormat;
  indexName: string;
  enabled: boolean;
  lastReportAt: Date | null;
  /** Posts waiting or retrying, posts given up on, and the last failure. */
  posts: { pending: number; dead: number; lastError: string | null };
}

export interface CampaignReporterInput {
  uri: string;
  /** An Authorization header value (e.g. "ApiKey …"); absent: kept as it is; null: removed. */
  authHeader?: string | null;
  intervalSeconds?: number;
  format?: ReporterFormat;
  indexName?: string;
  enabled?: boolean;
}

const sealContext = (accountId: string) => `campaign-reporter:${accountId}`;

/** The Authorization header to send, if one is set. */
export function openAuthHeader(
  vault: Vault,
  accountId: string,
  row: { authHeader: Uint8Array | null; authHeaderKeyId: string | null },
): string | undefined {
  if (!row.authHeader || !row.authHeaderKeyId) return undefined;
  return vault.open(Buffer.from(row.authHeader), row.authHeaderKeyId, sealContext(accountId));
}

function sealAuthHeader(vault: Vault, accountId: string, header: string | null) {
  if (header === null) return { authHeader: null, authHeaderKeyId: null };
  const { sealed, keyId } = vault.seal(header, sealContext(accountId));
  return { authHeader: sealed, authHeaderKeyId: keyId };
}

async function view(sql: SqlExecutor, row: ReporterRow): Promise<CampaignReporter> {
  const [posts] = await sql.query<{ pending: string | number; dead: string | number; last_error: string | null }>(
    `SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'dead') AS dead,
            (SELECT last_error FROM reporter_posts WHERE account_id = $1 AND last_error IS NOT NULL
             ORDER BY id DESC LIMIT 1) AS last_error
     FROM reporter_posts WHERE account_id = $1`,
    [row.accountId],
  );
  return {
    uri: row.uri,
    authHeader: { set: row.authHeader !== null },
    intervalSeconds: row.intervalSeconds,
    format: row.format,
    indexName: row.indexName,
    enabled: row.enabled,
    lastReportAt: row.lastReportAt,
    posts: {
      pending: Number(posts?.pending ?? 0),
      dead: Number(posts?.dead ?? 0),
      lastError: posts?.last_error ?? null,
    },
  };
}

export async function getCampaignReporter(database: Database, accountId: string): Promise<CampaignReporter> {
  const [row] = await database.db.select().from(campaignReporters).where(eq(campaignReporters.accountId, accountId));
  if (!row) {
    throw new AppError(
      'NOT_FOUND',
      'This account has no campaign reporter; create one with PUT /api/campaign-reporter.',
    );
  }
  return view(database.sql, row);
}

/** Creates or replaces the account's campaign reporter (the Authorization header is kept unless given). */
export async function putCampaignReporter(
  database: Database,
  vault: Vault,
  accountId: string,
  input: CampaignReporterInput,
  egress: EgressRules,
): Promise<CampaignReporter> {
  const auth = input.authHeader === undefined ? {} : sealAuthHeader(vault, accountId, input.authHeader);
  const uri = checkOutboundUrl('uri', input.uri, egress);
  if (input.authHeader === undefined) {
    // The stored header goes only to the URI it was given for: a new URI needs it again (or null).
    const [current] = await database.db
      .select({ uri: campaignReporters.uri, authHeader: campaignReporters.authHeader })
      .from(campaignReporters)
      .where(eq(campaignReporters.accountId, accountId));
    if (current?.authHeader && current.uri !== uri)
      throw invalidField(
        'authHeader',
        'must be given again (or null) when the uri changes: the stored one is not sent to a new address',
      );
  }
  const values = {
    uri,
    intervalSeconds: input.intervalSeconds ?? 10,
    format: input.format ?? 'json',
    indexName: input.indexName ?? 'herald-campaigns',
    enabled: input.enabled ?? true,
    ...auth,
  };
  const db: Db = database.db;
  const [row] = await db
    .insert(campaignReporters)
    .values({ accountId, ...values })
    .onConflictDoUpdate({ target: campaignReporters.accountId, set: values })
    .returning();
  if (!row) throw new Error('upsert returned no row');
  return view(database.sql, row);
}

/**
 * Deletes the reporter, its unsent posts and what it remembered of each dispatch's state (a new
 * reporter starts by posting every dispatch's state).
 */
export async function deleteCampaignReporter(database: Database, accountId: string): Promise<void> {
  await database.transaction(async ({ sql }) => {
    const deleted = await sql.query('DELETE FROM campaign_reporters WHERE account_id = $1 RETURNING account_id', [
      accountId,
    ]);
    if (deleted.length === 0) throw new AppError('NOT_FOUND', 'This account has no campaign reporter.');
    await sql.query('DELETE FROM reporter_posts WHERE account_id = $1', [accountId]);
    await sql.query('DELETE FROM dispatch_states WHERE account_id = $1', [accountId]);
  });
}
