import type { Clock } from '../../clock.js';
import type { Config } from '../../config/config.js';
import type { SendOutcome } from '../../vendors/vendor.js';
import { recipientZone } from '../scheduling/schedule-first-messages.js';
import { nextOpening } from '../scheduling/send-window.js';
import type { Preparation } from './prepare-messages.js';
import type { Outcome } from './record-outcomes.js';

/** A message ready to go to its vendor. */
export type SendPreparation = Extract<Preparation, { kind: 'send' }>;

const PAUSED_RECHECK_MS = 60_000;

/** Exponential backoff with jitter: base·2^(n−1), between half and all of it, at most a day. */
export function retryDelayMs(baseMs: number, attempt: number, vendorAskedMs?: number): number {
  const exponential = Math.min(86_400_000, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(vendorAskedMs ?? 0, Math.round(exponential * (0.5 + Math.random() / 2)));
}

/** The outcome of a message that is not sent: cancelled, deferred (paused), or failed before its vendor. */
export function unsentOutcome(preparation: Exclude<Preparation, SendPreparation>, now: Date): Outcome {
  const { claimed } = preparation;
  switch (preparation.kind) {
    case 'cancel':
      return { kind: 'cancel', claimed, reason: preparation.reason };
    case 'defer':
      return { kind: 'defer', claimed, dueAt: new Date(now.getTime() + PAUSED_RECHECK_MS) };
    case 'fail':
      return {
        kind: 'error',
        claimed,
        vendorId: null,
        category: preparation.category,
        code: null,
        detail: preparation.detail,
        beforeVendor: true,
      };
  }
}

/** The outcome of a message whose vendor cannot be used (gone, or of a kind this Herald cannot send with). */
export function vendorProblemOutcome(preparation: SendPreparation, problem: string): Outcome {
  return {
    kind: 'error',
    claimed: preparation.claimed,
    vendorId: preparation.vendorId,
    category: 'auth_or_config',
    code: null,
    detail: problem,
    beforeVendor: true,
  };
}

/**
 * What a vendor's answer for one message means: sent (with its next reminder), retried later
 * (retryable and attempts left), or an error.
 */
export function answeredOutcome(
  services: { readonly config: Config; readonly clock: Clock },
  preparation: SendPreparation,
  via: string,
  result: SendOutcome,
): Outcome {
  const { claimed } = preparation;
  const now = services.clock.now();
  if (result.ok) {
    const policy = preparation.dispatch.policy;
    const reminder = policy?.reminders[claimed.reminder_level];
    return {
      kind: 'sent',
      claimed,
      vendorId: preparation.vendorId,
      via,
      vendorMessageId: result.vendorMessageId,
      templateId: preparation.templateId,
      nextReminderAt: reminder
        ? nextOpening(
            new Date(now.getTime() + reminder.afterMinutes * 60_000),
            policy?.sendWindow ?? null,
            recipientZone(preparation.dispatch, claimed.prefills),
          )
        : null,
    };
  }
  const { category, code, detail } = result;
  if (result.retryable && claimed.attempts < services.config.sendMaxAttempts) {
    const delay = retryDelayMs(services.config.sendRetryBaseMs, claimed.attempts, result.retryAfterMs);
    return { kind: 'retry', claimed, dueAt: new Date(now.getTime() + delay), category, code, detail };
  }
  return { kind: 'error', claimed, vendorId: preparation.vendorId, category, code, detail, gaveUp: result.retryable };
}
