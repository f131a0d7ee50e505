import { EventAction, EventChannel, messageChannelOf } from '../../timeline/event-numbers.js';

/** The status names subscribers see as `eventSubType` and filter on: EventAction's names, e.g. "Sent". */
export type EventSubType = keyof typeof EventAction;
export const eventSubTypes = Object.keys(EventAction) as EventSubType[];

const subTypeByAction = new Map<number, EventSubType>(eventSubTypes.map((name) => [EventAction[name], name]));

/** "Sent" for 3; an action Herald does not know (a newer writer) is named by its number. */
export function eventSubTypeOf(action: number): string {
  return subTypeByAction.get(action) ?? `Action${action}`;
}

/** Names of the timeline channels that are not a message's. */
const stepChannelNames: Record<number, string> = {
  [EventChannel.DispatchAPI]: 'dispatchApi',
  [EventChannel.Unknown]: 'unknown',
  [EventChannel.Invalid]: 'invalid',
};

/** A message channel's own name (email, sms, whatsapp), else that of the step's channel. */
export function channelNameOf(channel: number): string {
  return messageChannelOf(channel) ?? stepChannelNames[channel] ?? 'unknown';
}

/** What one timeline event says about its invitation (after whatsapp-activity-logs.txt's `response_data`). */
export interface EnvelopeData {
  invitationId: string;
  /** The survey token, once created. */
  token: string | null;
  dispatchId: string;
  batchId: string;
  /** email, sms, whatsapp, or dispatchApi for steps before any message. */
  channel: string;
  /** The original module's action number (Sent = 3). */
  action: number;
  status: string;
  /** Herald's id of the message (one channel, one reminder level) the event is about, if any. */
  messageId: string | null;
  vendorMessageId: string | null;
  /** True for the first message, false for reminders and replies; null when no message is concerned. */
  isRootMessage: boolean | null;
  reminderLevel: number | null;
  errorCategory: string | null;
  errorMessage: string | null;
  /** The vendor kind that sent the message (e.g. smtp). */
  vendor: string | null;
  /** The record's UUID and address: hashes, unless the subscription may receive personal data. */
  uuid: string | null;
  target: string | null;
  identifiers: 'hashed' | 'original';
}

/**
 * The body of every webhook delivery.
 *
 * @example
 * { "id": "5b0c…", "resource": "invitation", "eventType": "invitation.status", "eventSubType": "Sent",
 *   "accountSlug": "acme", "version": "1", "occurredAt": "2024-06-10T09:00:00.000Z",
 *   "data": { "token": "…", "dispatchId": "…", "channel": "email", "isRootMessage": true, … } }
 */
export interface EventEnvelope {
  /** The idempotency id: the same across retries and replays of this event. */
  id: string;
  resource: 'invitation';
  eventType: 'invitation.status';
  eventSubType: string;
  accountSlug: string;
  version: '1';
  occurredAt: string;
  data: EnvelopeData;
}

const envelopeKeys: (keyof EventEnvelope)[] = [
  'id',
  'resource',
  'eventType',
  'eventSubType',
  'accountSlug',
  'version',
  'occurredAt',
  'data',
];
const dataKeys: (keyof EnvelopeData)[] = [
  'invitationId',
  'token',
  'dispatchId',
  'batchId',
  'channel',
  'action',
  'status',
  'messageId',
  'vendorMessageId',
  'isRootMessage',
  'reminderLevel',
  'errorCategory',
  'errorMessage',
  'vendor',
  'uuid',
  'target',
  'identifiers',
];

function ordered(value: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (key in value) out[key] = value[key];
  for (const [key, v] of Object.entries(value)) if (!(key in out)) out[key] = v;
  return out;
}

/**
 * The exact bytes sent and signed. Envelopes are stored as jsonb, which reorders keys; this puts
 * them back in the documented order so receivers read them as the example above.
 */
export function serializeEnvelope(envelope: EventEnvelope): string {
  const record = envelope as unknown as Record<string, unknown>;
  return JSON.stringify({
    ...ordered(record, envelopeKeys),
    data: ordered(envelope.data as unknown as Record<string, unknown>, dataKeys),
  });
}

const EMAIL = /[\w.+-]+@[\w-]+(\.[\w-]+)+/g;
const PHONE = /\+\d[\d ().-]{6,}\d|\b\d{8,15}\b/g;

/**
 * Vendor error texts sometimes quote the address they refused: events carry them with addresses
 * and phone numbers masked (only `uuid` and `target` may be originals, and only where allowed).
 */
export function maskContacts(text: string): string {
  return text.replace(EMAIL, '[address]').replace(PHONE, '[number]');
}
