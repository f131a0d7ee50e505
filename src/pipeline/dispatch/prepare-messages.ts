import { inArray } from 'drizzle-orm';
import type { DispatchDefinition, ExperiencePlatform } from '../../platforms/experience-platform.js';
import { openOriginals } from '../../privacy/sealed-originals.js';
import type { Vault } from '../../privacy/vault.js';
import type { Database } from '../../storage/database.js';
import { contentTemplates, type HashAlgorithm, type TemplateVariant } from '../../storage/schema.js';
import { chooseVariant, prefillsByName, renderVariant } from '../../templates/template-engine.js';
import type { ErrorCategory } from '../../vendors/error-categories.js';
import type { OutgoingMessage } from '../../vendors/vendor.js';
import { unsubscribeKeys } from '../../privacy/stored-identifiers.js';
import { surveyLink, unsubscribeLink } from '../feedback/links.js';
import type { ClaimedMessage } from './claim-messages.js';
import { defaultTemplates } from './default-templates.js';

/** What to do with one claimed message. */
export type Preparation =
  | {
      kind: 'send';
      claimed: ClaimedMessage;
      dispatch: DispatchDefinition;
      vendorId: string;
      /** The content template rendered; "built-in" for Herald's own. */
      templateId: string;
      outgoing: OutgoingMessage;
    }
  | { kind: 'cancel'; claimed: ClaimedMessage; reason: string }
  | { kind: 'defer'; claimed: ClaimedMessage; reason: string }
  | { kind: 'fail'; claimed: ClaimedMessage; category: ErrorCategory; detail: string };

export interface PrepareServices {
  readonly database: Database;
  readonly platform: ExperiencePlatform;
  readonly vault: Vault;
  readonly publicUrl: string;
}

/** Identifiers of the batch that are on their account's unsubscribe list now (checked again at send time). */
async function unsubscribedNow(
  services: PrepareServices,
  batch: readonly ClaimedMessage[],
  keysOf: (m: ClaimedMessage) => string[],
): Promise<Set<string>> {
  const pairs = batch.flatMap((m) => keysOf(m).map((hash): [string, string] => [m.account_id, hash]));
  if (pairs.length === 0) return new Set();
  const rows = await services.database.sql.query<{ key: string }>(
    `SELECT u.account_id || ':' || u.identifier_hash AS key FROM unsubscribes u
     JOIN unnest($1::uuid[], $2::text[]) AS w(account_id, identifier_hash)
       ON u.account_id = w.account_id AND u.identifier_hash = w.identifier_hash`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
  );
  return new Set(rows.map((r) => r.key));
}

/**
 * Decides, renders and addresses every message of a claimed batch: one query each for the
 * unsubscribe list and the templates, whatever the batch size.
 */
export async function prepareMessages(
  services: PrepareServices,
  batch: readonly ClaimedMessage[],
): Promise<Preparation[]> {
  const dispatches = new Map<string, DispatchDefinition | null>();
  const algorithms = new Map<string, HashAlgorithm>();
  for (const m of batch) {
    if (!algorithms.has(m.account_id))
      algorithms.set(m.account_id, (await services.platform.settings(m.account_id)).hashAlgorithm);
    if (!dispatches.has(m.dispatch_id))
      dispatches.set(m.dispatch_id, await services.platform.dispatch(m.account_id, m.dispatch_id));
  }
  const templateIds = [...dispatches.values()].flatMap((d) =>
    Object.values(d?.templates ?? {}).flatMap((t) => [t.initial, ...(t.reminders ?? [])]),
  );
  const templates = new Map(
    templateIds.length === 0
      ? []
      : (
          await services.database.db
            .select({ id: contentTemplates.id, variants: contentTemplates.variants })
            .from(contentTemplates)
            .where(inArray(contentTemplates.id, templateIds))
        ).map((t) => [t.id, t.variants]),
  );
  // Each message's sealed originals, opened once; null when they do not open (that message fails alone).
  const opened = new Map(
    batch.map((claimed) => {
      try {
        const row = {
          id: claimed.invitation_id,
          account_id: claimed.account_id,
          prefills: claimed.prefills,
          sealed_originals: claimed.sealed_originals,
          sealed_key_id: claimed.sealed_key_id,
        };
        return [claimed, openOriginals(services.vault, row)] as const;
      } catch {
        return [claimed, null] as const;
      }
    }),
  );
  const keysOf = (m: ClaimedMessage) =>
    unsubscribeKeys(m, opened.get(m) ?? new Map<string, string>(), algorithms.get(m.account_id) ?? 'sha512');
  const unsubscribed = await unsubscribedNow(services, batch, keysOf);

  return Promise.all(
    batch.map(async (claimed): Promise<Preparation> => {
      try {
        return prepareOne(claimed);
      } catch (error) {
        // One message that cannot be prepared fails alone: the rest of its batch goes on.
        return {
          kind: 'fail',
          claimed,
          category: 'auth_or_config',
          detail: `Herald could not prepare this message: ${(error as Error).message}. Check the dispatch, its templates and vendor, then retry the message.`,
        };
      }
    }),
  );

  function prepareOne(claimed: ClaimedMessage): Preparation {
    const dispatch = dispatches.get(claimed.dispatch_id);
    if (!dispatch) return { kind: 'cancel', claimed, reason: 'The dispatch no longer exists' };
    if (dispatch.paused || dispatch.policy?.paused)
      return { kind: 'defer', claimed, reason: 'The dispatch or its policy is paused' };
    if (claimed.unsubscribed_at) return { kind: 'cancel', claimed, reason: 'The recipient has unsubscribed' };
    if (keysOf(claimed).some((h) => unsubscribed.has(`${claimed.account_id}:${h}`))) {
      return { kind: 'cancel', claimed, reason: 'The recipient has unsubscribed' };
    }
    if (claimed.reminder_level > 0 && claimed.answered_at)
      return { kind: 'cancel', claimed, reason: 'The survey has been answered' };
    if (!claimed.token)
      return { kind: 'fail', claimed, category: 'unknown', detail: 'The invitation has no survey token' };

    const originals = opened.get(claimed);
    if (!originals) {
      return { kind: 'fail', claimed, category: 'auth_or_config', detail: sealedProblem(services.vault, claimed) };
    }
    const plain = (value: string, hashed: boolean) => (hashed ? originals.get(value) : value);
    const storedTarget = claimed.prefills.find((p) => p.input === claimed.target);
    const to = claimed.target ? plain(claimed.target, storedTarget?.hashed ?? false) : undefined;
    if (!to)
      return {
        kind: 'fail',
        claimed,
        category: 'invalid_recipient',
        detail: 'The original address is no longer kept (purged)',
      };
    const vendorId = claimed.vendor_id ?? dispatch.channelVendors[claimed.channel];
    if (!vendorId)
      return {
        kind: 'fail',
        claimed,
        category: 'auth_or_config',
        detail: `No vendor is configured for the ${claimed.channel} channel`,
      };

    const choice = dispatch.templates[claimed.channel];
    const templateId =
      claimed.reminder_level === 0
        ? choice?.initial
        : (choice?.reminders?.[claimed.reminder_level - 1] ?? choice?.initial);
    const chosen = templateId ? templates.get(templateId) : undefined;
    const variants: TemplateVariant[] = chosen ?? defaultTemplates[claimed.channel];
    const language = claimed.language ?? dispatch.defaultLanguage;
    const prefills = claimed.prefills.flatMap((p) => {
      const input = plain(p.input, p.hashed);
      return input === undefined ? [] : [{ questionId: p.questionId, input }];
    });
    const links = {
      survey: surveyLink(services.publicUrl, claimed.token),
      unsubscribe: unsubscribeLink(services.publicUrl, claimed.token),
    };
    try {
      const rendered = renderVariant(chooseVariant(variants, language, dispatch.defaultLanguage), {
        surveyLink: links.survey,
        unsubscribeLink: links.unsubscribe,
        language,
        dispatchName: dispatch.name,
        prefills: prefillsByName(prefills, dispatch.questions),
      });
      return {
        kind: 'send',
        claimed,
        dispatch,
        vendorId,
        templateId: chosen && templateId ? templateId : 'built-in',
        outgoing: {
          id: claimed.id,
          to,
          ...rendered,
          links,
          // RFC 8058 one-click unsubscribe: mail clients show an unsubscribe button that POSTs here.
          headers: {
            'List-Unsubscribe': `<${links.unsubscribe}>`,
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          },
        },
      };
    } catch (error) {
      return {
        kind: 'fail',
        claimed,
        category: 'auth_or_config',
        detail: `The content template ${templateId ?? `(Herald's default for ${claimed.channel})`} failed to render for this recipient: ${(error as Error).message}. Correct the template (PUT /api/templates/{id}, POST …/preview to try it), then retry the message.`,
      };
    }
  }
}

/** Why an invitation's sealed originals do not open, and what to do about it. */
function sealedProblem(vault: Vault, claimed: ClaimedMessage): string {
  const keyId = claimed.sealed_key_id ?? '';
  return vault.has(keyId)
    ? `The invitation's sealed personal data does not open with vault key "${keyId}" (another key under that id, or damaged data): put the key that sealed it back in HERALD_VAULT_KEYS, restart Herald, then retry the message.`
    : `The invitation's personal data is sealed with vault key "${keyId}", which this Herald does not have: add that key to HERALD_VAULT_KEYS (after the sealing key), restart Herald, then retry the message.`;
}
