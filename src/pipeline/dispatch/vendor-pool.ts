import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { EgressRules } from '../../network/egress-rules.js';
import type { Vault } from '../../privacy/vault.js';
import type { Db } from '../../storage/database.js';
import { vendors } from '../../storage/schema.js';
import { openVendorSecrets } from '../../vendor-config/vendor-secrets.js';
import type { Vendor } from '../../vendors/vendor.js';
import { findVendorAdapter } from '../../vendors/vendor-registry.js';

interface Pooled {
  version: string;
  vendor: Vendor;
}

type VendorRow = typeof vendors.$inferSelect;

/**
 * Live vendor clients (connection pools), one per configured vendor, rebuilt when the vendor's
 * settings or secrets change. Each account's vendors are separate clients: no shared SDK state.
 */
export class VendorPool {
  readonly #pool = new Map<string, Pooled>();
  /** Reads of a vendor's row in flight: callers that ask meanwhile share them. */
  readonly #reading = new Map<string, Promise<{ row: VendorRow; version: string } | undefined>>();

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly egress: EgressRules,
  ) {}

  /**
   * The vendor's row and a fingerprint of its settings and secrets. A delivery batch asks for every
   * message at once; they share one read instead of a query each, and see the row as it is now.
   */
  #read(accountId: string, vendorId: string): Promise<{ row: VendorRow; version: string } | undefined> {
    const key = `${accountId}:${vendorId}`;
    let reading = this.#reading.get(key);
    if (!reading) {
      reading = (async () => {
        const [row] = await this.db
          .select()
          .from(vendors)
          .where(and(eq(vendors.accountId, accountId), eq(vendors.id, vendorId)));
        if (!row) return undefined;
        const version = createHash('sha256')
          .update(JSON.stringify(row.settings))
          .update(row.secrets ? Buffer.from(row.secrets) : Buffer.alloc(0))
          .digest('hex');
        return { row, version };
      })().finally(() => this.#reading.delete(key));
      this.#reading.set(key, reading);
    }
    return reading;
  }

  /** The vendor, or a reason a person can act on when there is none to use. */
  async get(accountId: string, vendorId: string): Promise<{ vendor: Vendor; kind: string } | { problem: string }> {
    const read = await this.#read(accountId, vendorId);
    if (!read)
      return { problem: `The dispatch's vendor ${vendorId} no longer exists: choose another in the dispatch.` };
    const { row, version } = read;
    const adapter = findVendorAdapter(row.kind);
    if (!adapter) return { problem: `Vendor kind "${row.kind}" cannot send messages in this version of Herald.` };
    const pooled = this.#pool.get(vendorId);
    if (pooled?.version === version) return { vendor: pooled.vendor, kind: row.kind };
    // Replaced before anything is awaited, so callers sharing a read build one client, not one each.
    let secrets: Record<string, unknown>;
    try {
      secrets = openVendorSecrets(this.vault, row);
    } catch {
      return {
        problem: `The secrets of vendor ${vendorId} do not open with vault key "${row.secretsKeyId}" (missing from HERALD_VAULT_KEYS, or another key under that id): put the key back and restart Herald, or enter the secrets again (PUT /api/vendors/${vendorId}); then retry the message.`,
      };
    }
    const vendor = adapter.create(row.settings, secrets, this.egress);
    this.#pool.set(vendorId, { version, vendor });
    await pooled?.vendor.close();
    return { vendor, kind: row.kind };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pool.values()].map((p) => p.vendor.close()));
    this.#pool.clear();
  }
}
