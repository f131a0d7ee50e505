import { refusal, type OutgoingMessage, type SendOutcome, type SingleSendVendor } from '../vendor.js';
import { checkAgainst, type VendorKind } from '../vendor-kinds.js';

/** A vendor whose configuration cannot work: every send is refused with what to fix, nothing is thrown. */
export class UnusableVendor implements SingleSendVendor {
  readonly delivery = 'single';

  constructor(readonly reason: string) {}

  async send(_message: OutgoingMessage): Promise<SendOutcome> {
    return refusal('auth_or_config', null, this.reason);
  }

  async close(): Promise<void> {}
}

/**
 * Builds a vendor from stored settings and secrets, checked again against the kind's schemas with
 * defaults filled in (rows saved before a setting existed, or written around the API). A
 * configuration that does not pass, or that `build` rejects, gives a vendor that refuses every send
 * as `auth_or_config` with the problems named, instead of failing the whole delivery batch.
 */
export function configuredVendor<Settings, Secrets>(
  kind: VendorKind,
  settings: Record<string, unknown>,
  secrets: Record<string, unknown>,
  build: (settings: Settings, secrets: Secrets) => SingleSendVendor,
): SingleSendVendor {
  const checkedSettings = checkAgainst(kind.settings, settings, 'settings');
  const checkedSecrets = checkAgainst(kind.secrets, secrets, 'secrets');
  if (!checkedSettings.ok || !checkedSecrets.ok) {
    const problems = [
      ...(checkedSettings.ok ? [] : checkedSettings.problems),
      ...(checkedSecrets.ok ? [] : checkedSecrets.problems),
    ];
    const list = problems.map((p) => `${p.field} ${p.problem}`).join('; ');
    return new UnusableVendor(`The ${kind.kind} vendor's configuration is invalid (${list}): correct the vendor.`);
  }
  try {
    return build(checkedSettings.value as Settings, checkedSecrets.value as Secrets);
  } catch (error) {
    return new UnusableVendor(`The ${kind.kind} vendor's configuration cannot be used: ${(error as Error).message}`);
  }
}
