import type { Database } from '../../storage/database.js';
import type { HashAlgorithm, StoredPrefill } from '../../storage/schema.js';
import { EventAction } from '../../timeline/event-numbers.js';
import { unsubscribeKeys } from '../../privacy/stored-identifiers.js';
import { openOriginals } from '../../privacy/sealed-originals.js';
import type { Vault } from '../../privacy/vault.js';
import { isSurveyToken } from './links.js';
import { writeTimelineEntries } from '../../timeline/timeline-writer.js';
import { linkChannel } from './link-channel.js';

export type LinkUnsubscribeOutcome =
  { kind: 'unknown' } | { kind: 'unsubscribed'; firstTime: boolean; cancelledMessages: number };

/** Whether an unsubscribe link's token belongs to an invitation (the confirmation page shows nothing else). */
export async function unsubscribeLinkExists(database: Database, token: string): Promise<boolean> {
  if (!isSurveyToken(token)) return false;
  const rows = await database.sql.query(`SELECT 1 FROM invitations WHERE token = $1`, [token]);
  return rows.length > 0;
}

interface UnsubscribingInvitation {
  id: string;
  account_id: string;
  target: string | null;
  uuid: string | null;
  prefills: StoredPrefill[];
  sealed_originals: string | null;
  sealed_key_id: string | null;
  unsubscribed_at: Date | null;
  hash_algorithm: HashAlgorithm;
}

/**
 * The recipient of `token` asked to hear no more (the unsubscribe page or RFC 8058 one-click): the
 * hashes of the invitation's address and UUID join the account's unsubscribe list (source "link"),
 * so later requests for them are Suppressed; the invitation's scheduled messages are cancelled and
 * its timeline gets one Unsubscribed entry. Repeating it changes nothing.
 */
export async function unsubscribeByLink(
  database: Database,
  vault: Vault,
  token: string,
): Promise<LinkUnsubscribeOutcome> {
  if (!isSurveyToken(token)) return { kind: 'unknown' };
  return database.transaction(async ({ sql }) => {
    const [invitation] = await sql.query<UnsubscribingInvitation>(
      `SELECT i.id, i.account_id, i.target, i.uuid, i.prefills, i.sealed_originals, i.sealed_key_id,
         i.unsubscribed_at, a.hash_algorithm
       FROM invitations i JOIN accounts a ON a.id = i.account_id
       WHERE i.token = $1 FOR UPDATE OF i`,
      [token],
    );
    if (!invitation) return { kind: 'unknown' };
    // Added again on a repeated click too: if the entry was removed meanwhile, the recipient's
    // latest word wins. ON CONFLICT keeps the first entry's source and time otherwise.
    await sql.query(
      `INSERT INTO unsubscribes (account_id, identifier_hash, source)
       SELECT $1, identifier_hash, 'link' FROM unnest($2::text[]) AS x(identifier_hash)
       ON CONFLICT (account_id, identifier_hash) DO NOTHING`,
      [invitation.account_id, unsubscribeKeys(invitation, openOriginals(vault, invitation), invitation.hash_algorithm)],
    );
    const cancelled = await sql.query(
      `UPDATE messages SET status = 'cancelled', updated_at = now()
       WHERE invitation_id = $1 AND status IN ('scheduled', 'rate_limited', 'manual_retry', 'queued') RETURNING id`,
      [invitation.id],
    );
    const firstTime = invitation.unsubscribed_at === null;
    if (firstTime) {
      await sql.query(`UPDATE invitations SET unsubscribed_at = now(), updated_at = now() WHERE id = $1`, [
        invitation.id,
      ]);
      await writeTimelineEntries(sql, [
        {
          accountId: invitation.account_id,
          invitationId: invitation.id,
          action: EventAction.Unsubscribed,
          channel: await linkChannel(sql, invitation.id),
          message: 'Unsubscribed through the link',
        },
      ]);
    }
    return { kind: 'unsubscribed', firstTime, cancelledMessages: cancelled.length };
  });
}
