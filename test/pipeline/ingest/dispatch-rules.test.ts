import { describe, expect, it } from 'vitest';
import type { DispatchDefinition, PlatformSettings } from '../../../src/platforms/experience-platform.js';
import { checkDispatch } from '../../../src/pipeline/ingest/dispatch-rules.js';

const SETTINGS: PlatformSettings = { hashAlgorithm: 'sha256', defaultPhoneRegion: null, normalizedHashing: false };
type Policy = NonNullable<DispatchDefinition['policy']>;

function dispatchWith(overrides: Partial<DispatchDefinition> = {}, policy: Partial<Policy> = {}): DispatchDefinition {
  return {
    id: 'd-1',
    name: 'Dispatch',
    paused: false,
    defaultLanguage: 'en',
    channelVendors: { email: 'v-email', sms: 'v-sms' },
    staticPrefills: [],
    questions: [
      { id: 'q-email', text: 'Email', tags: ['Email'], pii: 'none', apiPrefill: true },
      { id: 'q-mobile', text: 'Mobile', tags: ['Mobile'], pii: 'none', apiPrefill: true },
      { id: 'q-uuid', text: 'Customer id', tags: [], pii: 'none', apiPrefill: true },
      { id: 'q-lang', text: 'Language', tags: ['cc_language'], pii: 'none', apiPrefill: true },
    ],
    policy: {
      id: 'p-1',
      paused: false,
      channels: ['email', 'sms'],
      uuidQuestionId: 'q-uuid',
      sendWindow: null,
      reminders: [],
      fatigue: null,
      ...policy,
    },
    templates: {},
    surveyUrl: null,
    ...overrides,
  };
}

/** A dispatch whose questionnaire has no question tagged `tag`, with the policy's `channels`. */
function dispatchWithout(tag: string, channels: Policy['channels']): DispatchDefinition {
  const base = dispatchWith({}, { channels });
  return { ...base, questions: base.questions.filter((q) => !q.tags.includes(tag)) };
}

const refusalOf = (dispatch: DispatchDefinition | null) => {
  const checked = checkDispatch('d-1', dispatch, SETTINGS);
  return checked.ok ? null : checked.message;
};

describe('checkDispatch: refusals a person can act on', () => {
  it('refuses a dispatch that does not exist', () => {
    expect(refusalOf(null)).toBe('Dispatch d-1 was not found in this account. Check the dispatchID.');
  });

  it('refuses a paused dispatch', () => {
    expect(refusalOf(dispatchWith({ paused: true }))).toBe('The dispatch is paused: resume it to send invitations.');
  });

  it('refuses a dispatch without a delivery policy', () => {
    expect(refusalOf(dispatchWith({ policy: null }))).toBe(
      "The dispatch's delivery policy no longer exists: give the dispatch a delivery policy.",
    );
  });

  it('refuses a dispatch whose delivery policy is paused', () => {
    expect(refusalOf(dispatchWith({}, { paused: true }))).toBe(
      "The dispatch's delivery policy is paused: resume it to send invitations.",
    );
  });

  it('refuses when no channel of the policy has a question', () => {
    expect(refusalOf(dispatchWithout('Mobile', ['whatsapp']))).toBe(
      "No supported channel: the questionnaire has no question for the delivery policy's channels whatsapp (a question tagged Mobile).",
    );
    expect(refusalOf(dispatchWithout('Email', ['email']))).toBe(
      "No supported channel: the questionnaire has no question for the delivery policy's channels email (a question tagged Email).",
    );
  });

  it('refuses when the primary channel has no vendor', () => {
    expect(refusalOf(dispatchWith({ channelVendors: { sms: 'v-sms' } }))).toBe(
      "No vendor is configured for the email channel of this dispatch: choose one in the dispatch's vendors.",
    );
  });

  it('refuses when the UUID question is not set or not in the questionnaire', () => {
    const message =
      "The delivery policy's UUID question is not set or is not a question of the dispatch's questionnaire: fatigue rules need it.";
    expect(refusalOf(dispatchWith({}, { uuidQuestionId: null }))).toBe(message);
    expect(refusalOf(dispatchWith({}, { uuidQuestionId: 'q-gone' }))).toBe(message);
  });
});

describe('checkDispatch: the rules its records follow', () => {
  it('takes the first policy channel that has a question as the primary one', () => {
    const checked = checkDispatch('d-1', dispatchWithout('Email', ['email', 'sms']), SETTINGS);
    expect(checked.ok && checked.rules.primary).toBe('sms');
    expect(checked.ok && [...checked.rules.channelQuestions]).toEqual([['sms', 'q-mobile']]);
  });

  it('maps each channel to its address question, SMS and WhatsApp both to the Mobile one', () => {
    const withVendor = checkDispatch(
      'd-1',
      dispatchWith({ channelVendors: { whatsapp: 'v-wa' } }, { channels: ['whatsapp', 'email', 'sms'] }),
      SETTINGS,
    );
    if (!withVendor.ok) throw new Error(withVendor.message);
    expect([...withVendor.rules.channelQuestions]).toEqual([
      ['whatsapp', 'q-mobile'],
      ['email', 'q-email'],
      ['sms', 'q-mobile'],
    ]);
  });

  it('finds the language question by its cc_language tag and defaults fallback to off', () => {
    const checked = checkDispatch('d-1', dispatchWith(), SETTINGS);
    if (!checked.ok) throw new Error(checked.message);
    expect(checked.rules.languageQuestionId).toBe('q-lang');
    expect(checked.rules.channelFallback).toBe(false);
    expect(checked.rules.uuidQuestionId).toBe('q-uuid');
  });
});
