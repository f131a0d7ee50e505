import { randomUUID } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { AppError, invalidField, notFound } from '../errors.js';
import { EgressGuard } from '../network/egress-guard.js';
import type { EgressRules } from '../network/egress-rules.js';
import type { Vault } from '../privacy/vault.js';
import type { Database, Db } from '../storage/database.js';
import { assertNoDispatchUses } from '../storage/dispatch-references.js';
import { isUuid } from '../storage/ids.js';
import { dispatches, vendors, type Channel } from '../storage/schema.js';
import { listProblems, type Checked } from '../vendors/support/settings-check.js';
import type { VendorAdapter } from '../vendors/vendor-adapter.js';
import { findVendorAdapter, vendorKindNames } from '../vendors/vendor-registry.js';
import { openVendorSecrets, sealVendorSecrets } from './vendor-secrets.js';

type VendorRow = typeof vendors.$inferSelect;

/** A vendor as the API shows it: the names of its secrets, never their values. */
export interface Vendor {
  id: string;
  name: string;
  kind: string;
  channel: Channel;
  settings: Record<string, unknown>;
  secrets: { set: boolean; fields: string[] };
  createdAt: Date;
}

export interface VendorInput {
  name: string;
  kind: string;
  settings: unknown;
  secrets?: unknown;
}

/** Settings replace the stored ones as a whole; secrets too, and are kept when not given. */
export type VendorChanges = Partial<Omit<VendorInput, 'kind'>>;

function adapterOf(kind: string): VendorAdapter {
  const found = findVendorAdapter(kind);
  if (!found) {
    const known = vendorKindNames().join(', ');
    throw new AppError(
      'VALIDATION_FAILED',
      `The request is invalid: kind "${kind}" is unknown; known kinds: ${known}.`,
      [{ field: 'kind', problem: `must be one of: ${known}` }],
    );
  }
  return found;
}

/** The checked value, or a 400 that names every bad field of the vendor's settings or secrets. */
function accepted<T>(checked: Checked<T>, field: 'settings' | 'secrets'): T {
  if (checked.ok) return checked.value;
  throw new AppError(
    'VALIDATION_FAILED',
    `The vendor ${field} are invalid: ${listProblems(checked.problems)}.`,
    checked.problems,
  );
}

function toVendor(vault: Vault, row: VendorRow): Vendor {
  const fields = Object.keys(openVendorSecrets(vault, row)).sort();
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    channel: row.channel,
    settings: row.settings,
    secrets: { set: fields.length > 0, fields },
    createdAt: row.createdAt,
  };
}

const ownVendor = (accountId: string, id: string) => and(eq(vendors.accountId, accountId), eq(vendors.id, id));

/** Refuses settings that point where the egress rules do not let Herald connect (400 naming the rule). */
function checkDestinations(adapter: VendorAdapter, settings: Record<string, unknown>, egress: EgressRules): void {
  for (const { field, host, port, purpose } of adapter.destinationsOf(settings)) {
    const refusal = EgressGuard.of(egress).refusalOf(host, port, purpose);
    if (refusal) throw invalidField(`settings.${field}`, `is refused: ${refusal}`);
  }
}

/**
 * Where a vendor's secrets are sent: its destinations, URL, security and certificate checking. A change of any of them
 * needs the secrets entered again, so an API key cannot send stored credentials (which it can never
 * read) to a server of its choosing.
 */
function secretsGoTo(adapter: VendorAdapter, settings: Record<string, unknown>): string {
  const { security, rejectUnauthorized, url, baseUrl } = settings;
  return JSON.stringify([adapter.destinationsOf(settings), security, rejectUnauthorized, url, baseUrl]);
}

export async function createVendor(
  db: Db,
  vault: Vault,
  accountId: string,
  input: VendorInput,
  egress: EgressRules,
): Promise<Vendor> {
  const adapter = adapterOf(input.kind);
  const { settings, channel } = accepted(adapter.checkSettings(input.settings), 'settings');
  checkDestinations(adapter, settings, egress);
  const secrets = accepted(adapter.checkSecrets(input.secrets ?? {}), 'secrets');
  // The id is chosen here because the sealed secrets are bound to it.
  const id = randomUUID();
  const [row] = await db
    .insert(vendors)
    .values({
      id,
      accountId,
      name: input.name,
      kind: adapter.kind,
      channel,
      settings,
      ...sealVendorSecrets(vault, id, secrets),
    })
    .returning();
  if (!row) throw new Error('insert returned no row');
  return toVendor(vault, row);
}

export async function listVendors(db: Db, vault: Vault, accountId: string): Promise<Vendor[]> {
  const rows = await db
    .select()
    .from(vendors)
    .where(eq(vendors.accountId, accountId))
    .orderBy(asc(vendors.name), asc(vendors.id));
  return rows.map((row) => toVendor(vault, row));
}

export async function getVendor(db: Db, vault: Vault, accountId: string, id: string): Promise<Vendor> {
  if (!isUuid(id)) throw notFound('Vendor', id);
  const [row] = await db.select().from(vendors).where(ownVendor(accountId, id));
  if (!row) throw notFound('Vendor', id);
  return toVendor(vault, row);
}

export async function updateVendor(
  db: Db,
  vault: Vault,
  accountId: string,
  id: string,
  changes: VendorChanges,
  egress: EgressRules,
): Promise<Vendor> {
  if (!isUuid(id)) throw notFound('Vendor', id);
  const [current] = await db.select().from(vendors).where(ownVendor(accountId, id));
  if (!current) throw notFound('Vendor', id);
  // A vendor whose kind Herald no longer knows can still be renamed or deleted, not reconfigured.
  const adapter = changes.settings !== undefined || changes.secrets !== undefined ? adapterOf(current.kind) : undefined;
  const configured =
    adapter && changes.settings !== undefined
      ? accepted(adapter.checkSettings(changes.settings), 'settings')
      : undefined;
  if (adapter && configured) checkDestinations(adapter, configured.settings, egress);
  if (
    adapter &&
    configured &&
    current.secrets !== null &&
    changes.secrets === undefined &&
    secretsGoTo(adapter, configured.settings) !== secretsGoTo(adapter, current.settings)
  ) {
    throw invalidField(
      'secrets',
      'must be given again: the vendor now connects to another host, URL, port or security, and its stored secrets do not follow it there',
    );
  }
  const sealed =
    adapter && changes.secrets !== undefined
      ? sealVendorSecrets(vault, current.id, accepted(adapter.checkSecrets(changes.secrets), 'secrets'))
      : {};
  const set = { name: changes.name, settings: configured?.settings, channel: configured?.channel, ...sealed };
  if (Object.values(set).every((value) => value === undefined)) return toVendor(vault, current);
  const [row] = await db.update(vendors).set(set).where(ownVendor(accountId, id)).returning();
  if (!row) throw notFound('Vendor', id);
  return toVendor(vault, row);
}

/** Deletes a vendor unless a dispatch delivers through it (409). */
export async function deleteVendor(database: Database, accountId: string, id: string): Promise<void> {
  if (!isUuid(id)) throw notFound('Vendor', id);
  await database.transaction(async ({ db }) => {
    // Dispatches refer to vendors inside JSON, with no foreign key: the row lock is what keeps a
    // dispatch from starting to use this vendor between the check and the delete.
    const [locked] = await db.select({ id: vendors.id }).from(vendors).where(ownVendor(accountId, id)).for('update');
    if (!locked) throw notFound('Vendor', id);
    await assertNoDispatchUses(
      db,
      accountId,
      `The vendor ${id}`,
      sql`EXISTS (SELECT 1 FROM jsonb_each_text(${dispatches.channelVendors}) AS used WHERE used.value = ${locked.id})`,
    );
    await db.delete(vendors).where(eq(vendors.id, id));
  });
}
