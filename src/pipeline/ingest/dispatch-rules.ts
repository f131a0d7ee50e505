import type { DispatchDefinition, PlatformSettings } from '../../platforms/experience-platform.js';
import type { Channel } from '../../storage/schema.js';
import { dispatchRequestLog, type CatalogueEntry } from './dispatch-request-log.js';
import { channelTag, LANGUAGE_TAG, type DispatchRules } from './record-rules.js';

/** A refusal says what to fix (`message`) and which line of the original's log catalogue it is. */
export type DispatchCheck = { ok: true; rules: DispatchRules } | { ok: false; message: string; logged: CatalogueEntry };

/**
 * Decides whether a dispatch can take records at all, and prepares the lookups its records need.
 * Each refusal says what to fix.
 */
export function checkDispatch(
  dispatchId: string,
  dispatch: DispatchDefinition | null,
  settings: PlatformSettings,
): DispatchCheck {
  const refuse = (message: string, logged: CatalogueEntry): DispatchCheck => ({ ok: false, message, logged });
  if (!dispatch)
    return refuse(
      `Dispatch ${dispatchId} was not found in this account. Check the dispatchID.`,
      dispatchRequestLog.dispatchNotValid(),
    );
  if (dispatch.paused)
    return refuse('The dispatch is paused: resume it to send invitations.', dispatchRequestLog.dispatchPaused());
  const { policy } = dispatch;
  if (!policy)
    return refuse(
      "The dispatch's delivery policy no longer exists: give the dispatch a delivery policy.",
      dispatchRequestLog.invalidChannels(),
    );
  if (policy.paused)
    return refuse(
      "The dispatch's delivery policy is paused: resume it to send invitations.",
      dispatchRequestLog.policyPaused(),
    );

  const questions = new Map(dispatch.questions.map((q) => [q.id, q]));
  const channelQuestions = new Map<Channel, string>();
  for (const channel of policy.channels) {
    const question = dispatch.questions.find((q) => q.tags.includes(channelTag[channel]));
    if (question) channelQuestions.set(channel, question.id);
  }
  const [primary] = channelQuestions.keys();
  if (!primary) {
    const wanted = policy.channels.map((c) => `${c} (a question tagged ${channelTag[c]})`).join(', ');
    return refuse(
      `No supported channel: the questionnaire has no question for the delivery policy's channels ${wanted}.`,
      dispatchRequestLog.invalidChannels(),
    );
  }
  if (!dispatch.channelVendors[primary]) {
    return refuse(
      `No vendor is configured for the ${primary} channel of this dispatch: choose one in the dispatch's vendors.`,
      dispatchRequestLog.invalidChannels(),
    );
  }
  if (!policy.uuidQuestionId || !questions.has(policy.uuidQuestionId)) {
    return refuse(
      "The delivery policy's UUID question is not set or is not a question of the dispatch's questionnaire: fatigue rules need it.",
      dispatchRequestLog.uuidQuestionMissing(),
    );
  }
  return {
    ok: true,
    rules: {
      dispatch,
      settings,
      questions,
      primary,
      uuidQuestionId: policy.uuidQuestionId,
      channelQuestions,
      languageQuestionId: dispatch.questions.find((q) => q.tags.includes(LANGUAGE_TAG))?.id,
      channelFallback: policy.channelFallback ?? false,
    },
  };
}
