import { eq } from 'drizzle-orm';
import { AppError } from '../../errors.js';
import type { Vault } from '../../privacy/vault.js';
import { isUuid } from '../../storage/ids.js';
import { vendors } from '../../storage/schema.js';
import { openVendorSecrets } from '../../vendor-config/vendor-secrets.js';
import type { CallbackHandler, CallbackRequest } from '../../vendors/vendor.js';
import { findVendorAdapter } from '../../vendors/vendor-registry.js';
import { applyVendorReports, type FeedbackServices, type FeedbackSummary } from './delivery-status.js';

export interface CallbackServices extends FeedbackServices {
  readonly vault: Vault;
}

interface CallbackVendor {
  id: string;
  accountId: string;
  handler: CallbackHandler;
  settings: Record<string, unknown>;
  secrets: Record<string, unknown>;
}

const noCallbackVendor = (kind: string, vendorId: string) =>
  new AppError('NOT_FOUND', `No ${kind} vendor ${vendorId} takes callbacks here.`);

/**
 * 404 unless a vendor of `kind` with this id takes callbacks: checked before a callback's body is
 * read, so a made-up URL cannot make Herald read megabytes.
 */
export async function assertCallbackVendor(services: CallbackServices, kind: string, vendorId: string): Promise<void> {
  if (!findVendorAdapter(kind)?.callbacks || !isUuid(vendorId)) throw noCallbackVendor(kind, vendorId);
  const [row] = await services.database.db.select({ kind: vendors.kind }).from(vendors).where(eq(vendors.id, vendorId));
  if (row?.kind !== kind) throw noCallbackVendor(kind, vendorId);
}

/**
 * The vendor a callback URL names, in any account: the id is unguessable, and the caller must
 * still prove it is the vendor. 404 for an unknown id, a kind that does not match the vendor's, or
 * a kind without callbacks.
 */
async function callbackVendor(services: CallbackServices, kind: string, vendorId: string): Promise<CallbackVendor> {
  const handler = findVendorAdapter(kind)?.callbacks;
  if (!handler || !isUuid(vendorId)) throw noCallbackVendor(kind, vendorId);
  const [row] = await services.database.db.select().from(vendors).where(eq(vendors.id, vendorId));
  if (row?.kind !== kind) throw noCallbackVendor(kind, vendorId);
  return {
    id: row.id,
    accountId: row.accountId,
    handler,
    settings: row.settings,
    secrets: openVendorSecrets(services.vault, row),
  };
}

/**
 * A vendor callback (`POST /hooks/{kind}/{vendorId}`): 401 unless the vendor's handler verifies
 * it, 400 for a body the handler cannot read, else its reports are applied (idempotently).
 */
export async function receiveVendorCallback(
  services: CallbackServices,
  kind: string,
  vendorId: string,
  request: CallbackRequest,
): Promise<FeedbackSummary> {
  const vendor = await callbackVendor(services, kind, vendorId);
  let verified = false;
  try {
    verified = vendor.handler.verify(request, vendor.settings, vendor.secrets);
  } catch {
    // A handler that chokes on a malformed signature header has not verified anything.
  }
  if (!verified) {
    throw new AppError(
      'UNAUTHORIZED',
      "The callback's signature (or token) is missing or does not match this vendor's credentials.",
    );
  }
  let reports: ReturnType<CallbackHandler['parse']>;
  try {
    reports = vendor.handler.parse(request);
  } catch (error) {
    throw new AppError('BAD_REQUEST', `The callback body cannot be read: ${(error as Error).message}`);
  }
  return applyVendorReports(services, { id: vendor.id, accountId: vendor.accountId }, reports);
}

/**
 * A subscription handshake (`GET /hooks/{kind}/{vendorId}`): the text the vendor expects back, or
 * 403 when the handler refuses it (what WhatsApp expects); 404 for a kind without one.
 */
export async function answerHandshake(
  services: CallbackServices,
  kind: string,
  vendorId: string,
  query: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  const vendor = await callbackVendor(services, kind, vendorId);
  if (!vendor.handler.handshake) throw new AppError('NOT_FOUND', `${kind} vendors have no subscription handshake.`);
  const answer = vendor.handler.handshake(query, vendor.settings, vendor.secrets);
  if (answer === null) throw new AppError('FORBIDDEN', "The handshake's token does not match this vendor's.");
  return answer;
}
