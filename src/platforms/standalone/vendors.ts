import { randomUUID } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { AppError, notFound } from '../../errors.js';
import type { Vault } from '../../privacy/vault.js';
import type { Database, Db } from '../../storage/database.js';
import { isUuid } from '../../storage/ids.js';
import { dispatches, vendors, type Channel } from '../../storage/schema.js';
import { checkAgainst, vendorKinds, type VendorKind } from '../../vendors/vendor-kinds.js';
import { assertNoDispatchUses } from './problems.js';

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

const sealContext = (vendorId: string) => `vendor:${vendorId}`;

/** The vendor's credentials, for the dispatcher. An empty object when it has none. */
export function openVendorSecrets(
  vault: Vault,
  row: Pick<VendorRow, 'id' | 'secrets' | 'secretsKeyId'>,
): Record<string, unknown> {
  if (!row.secrets || !row.secretsKeyId) return {};
  // PGlite hands bytea back as a plain Uint8Array, whatever the column's declared type says.
  const sealed = Buffer.from(row.secrets);
  return JSON.parse(vault.open(sealed, row.secretsKeyId, sealContext(row.id))) as Record<string, unknown>;
}

function kindOf(kind: string): VendorKind {
  const found = vendorKinds.get(kind);
  if (!found) {
    const known = [...vendorKinds.keys()].join(', ');
    throw new AppError(
      'VALIDATION_FAILED',
      `The request is invalid: kind "${kind}" is unknown; known kinds: ${known}.`,
      [{ field: 'kind', problem: `must be one of: ${known}` }],
    );
  }
  return found;
}

function checked(schema: VendorKind['settings'], value: unknown, field: 'settings' | 'secrets') {
  const result = checkAgainst(schema, value, field);
  if (result.ok) return result.value;
  const list = result.problems.map((p) => `${p.field} ${p.problem}`).join('; ');
  throw new AppError('VALIDATION_FAILED', `The vendor ${field} are invalid: ${list}.`, result.problems);
}

/** Seals the secrets for this vendor id; none (or an empty object) is stored as no secrets. */
function sealSecrets(vault: Vault, vendorId: string, secrets: Record<string, unknown>) {
  if (Object.keys(secrets).length === 0) return { secrets: null, secretsKeyId: null };
  const { sealed, keyId } = vault.seal(JSON.stringify(secrets), sealContext(vendorId));
  return { secrets: sealed, secretsKeyId: keyId };
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

export async function createVendor(db: Db, vault: Vault, accountId: string, input: VendorInput): Promise<Vendor> {
  const kind = kindOf(input.kind);
  const settings = checked(kind.settings, input.settings, 'settings');
  const secrets = checked(kind.secrets, input.secrets ?? {}, 'secrets');
  // The id is chosen here because the sealed secrets are bound to it.
  const id = randomUUID();
  const [row] = await db
    .insert(vendors)
    .values({
      id,
      accountId,
      name: input.name,
      kind: kind.kind,
      channel: kind.channelOf?.(settings) ?? kind.channel,
      settings,
      ...sealSecrets(vault, id, secrets),
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
): Promise<Vendor> {
  if (!isUuid(id)) throw notFound('Vendor', id);
  const [current] = await db.select().from(vendors).where(ownVendor(accountId, id));
  if (!current) throw notFound('Vendor', id);
  // A vendor whose kind Herald no longer knows can still be renamed or deleted, not reconfigured.
  const kind = changes.settings !== undefined || changes.secrets !== undefined ? kindOf(current.kind) : undefined;
  const settings =
    kind && changes.settings !== undefined ? checked(kind.settings, changes.settings, 'settings') : undefined;
  const sealed =
    kind && changes.secrets !== undefined
      ? sealSecrets(vault, current.id, checked(kind.secrets, changes.secrets, 'secrets'))
      : {};
  const channel = kind && settings !== undefined ? kind.channelOf?.(settings) : undefined;
  const set = { name: changes.name, settings, channel, ...sealed };
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
