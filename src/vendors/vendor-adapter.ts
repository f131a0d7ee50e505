import type { TSchema } from '@sinclair/typebox';
import type { EgressPurpose } from '../network/egress-guard.js';
import type { EgressRules } from '../network/egress-rules.js';
import type { Channel } from '../storage/schema.js';
import { checkAgainst, listProblems, type Checked } from './support/settings-check.js';
import {
  refusal,
  type CallbackHandler,
  type OutgoingMessage,
  type SendOutcome,
  type SingleSendVendor,
  type Vendor,
} from './vendor.js';

/** Where a vendor's settings make Herald connect, and the setting that says so. */
export interface Destination {
  readonly field: string;
  readonly host: string;
  readonly port: number;
  readonly purpose: EgressPurpose;
}

/** A settings or secrets schema whose checked values have the type `Value`. */
type SchemaOf<Value> = TSchema & { static: Value };

/**
 * One kind of vendor as its folder writes it: the channel it serves, the schemas of its settings
 * and secrets, how to build a sender from them, and how to read its callbacks.
 */
export interface VendorKindDefinition<
  Settings extends Record<string, unknown>,
  Secrets extends Record<string, unknown>,
> {
  readonly kind: string;
  readonly channel: Channel;
  /** The channel when the settings choose it (the generic HTTP vendor); else `channel`. */
  channelOf?(settings: Settings): Channel;
  /** `single`: one message per call; `bulk`: many recipients per call. */
  readonly delivery: 'single' | 'bulk';
  /** Settings that are not secret (returned by the API). */
  readonly settings: SchemaOf<Settings>;
  /** Credentials: sealed in the vault, never returned. */
  readonly secrets: SchemaOf<Secrets>;
  /**
   * Builds a sender whose connections go only where `egress` allows; may throw an Error that says
   * what in the configuration cannot work.
   */
  create(settings: Settings, secrets: Secrets, egress: EgressRules): Vendor;
  /** Absent for kinds whose feedback does not come as HTTP callbacks (SMTP bounces arrive as mail). */
  readonly callbacks?: CallbackHandler;
  /** Where the settings make Herald connect; absent: the URL in `baseUrl` or `url`. */
  destinationsOf?(settings: Settings): Destination[];
}

/** What Herald knows of one vendor kind, whatever its settings' types: the registry lists these. */
export interface VendorAdapter {
  readonly kind: string;
  readonly channel: Channel;
  readonly delivery: 'single' | 'bulk';
  readonly settings: TSchema;
  readonly secrets: TSchema;
  readonly callbacks?: CallbackHandler;
  /** The settings with their defaults and the channel they deliver, or each bad field (`settings.…`). */
  checkSettings(value: unknown): Checked<{ settings: Record<string, unknown>; channel: Channel }>;
  /** The secrets with their defaults, or each bad field (`secrets.…`). */
  checkSecrets(value: unknown): Checked<Record<string, unknown>>;
  /** Where checked settings make Herald connect (checked against the egress rules when saved). */
  destinationsOf(settings: Record<string, unknown>): Destination[];
  /**
   * A sender for stored settings and opened secrets, checked again with defaults filled in (rows
   * saved before a setting existed, or written around the API). A configuration that does not pass,
   * or that the kind cannot build, gives a sender that refuses every message as `auth_or_config`
   * with what to fix, instead of failing the whole delivery batch.
   */
  create(settings: Record<string, unknown>, secrets: Record<string, unknown>, egress: EgressRules): Vendor;
}

/** A vendor whose configuration cannot work: every send is refused with what to fix, nothing is thrown. */
class UnusableVendor implements SingleSendVendor {
  readonly delivery = 'single';

  constructor(readonly reason: string) {}

  async send(_message: OutgoingMessage): Promise<SendOutcome> {
    return refusal('auth_or_config', null, this.reason);
  }

  async close(): Promise<void> {}
}

/**
 * Turns a kind's definition into the adapter the registry lists: every value that reaches the
 * definition has passed its schema.
 *
 * @example
 * export const twilioAdapter = vendorAdapter({ kind: 'twilio', channel: 'sms', delivery: 'single',
 *   settings: twilioSettings, secrets: twilioSecrets, create: (s, t) => new TwilioVendor(s, t),
 *   callbacks: twilioCallbacks });
 */
export function vendorAdapter<Settings extends Record<string, unknown>, Secrets extends Record<string, unknown>>(
  definition: VendorKindDefinition<Settings, Secrets>,
): VendorAdapter {
  const { kind, channel, delivery, settings, secrets, callbacks } = definition;
  return {
    kind,
    channel,
    delivery,
    settings,
    secrets,
    ...(callbacks && { callbacks }),
    checkSettings(value) {
      const checked = checkAgainst(settings, value, 'settings');
      if (!checked.ok) return checked;
      return {
        ok: true,
        value: { settings: checked.value, channel: definition.channelOf?.(checked.value) ?? channel },
      };
    },
    checkSecrets: (value) => checkAgainst(secrets, value, 'secrets'),
    destinationsOf: (value) =>
      definition.destinationsOf ? definition.destinationsOf(value as Settings) : urlDestinations(value),
    create(storedSettings, storedSecrets, egress) {
      const checkedSettings = checkAgainst(settings, storedSettings, 'settings');
      const checkedSecrets = checkAgainst(secrets, storedSecrets, 'secrets');
      if (!checkedSettings.ok || !checkedSecrets.ok) {
        const problems = [
          ...(checkedSettings.ok ? [] : checkedSettings.problems),
          ...(checkedSecrets.ok ? [] : checkedSecrets.problems),
        ];
        return new UnusableVendor(
          `The ${kind} vendor's configuration is invalid (${listProblems(problems)}): correct the vendor.`,
        );
      }
      try {
        return definition.create(checkedSettings.value, checkedSecrets.value, egress);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return new UnusableVendor(`The ${kind} vendor's configuration cannot be used: ${reason}`);
      }
    },
  };
}

/** The destination of a `baseUrl` or `url` setting, the way HTTP vendors name their endpoint. */
function urlDestinations(settings: Record<string, unknown>): Destination[] {
  return ['baseUrl', 'url'].flatMap((field) => {
    const value = settings[field];
    if (typeof value !== 'string' || !URL.canParse(value)) return [];
    const url = new URL(value);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return [{ field, host: url.hostname, port, purpose: 'http' as const }];
  });
}
