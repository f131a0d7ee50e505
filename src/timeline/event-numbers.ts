import { channels, type Channel } from '../storage/schema.js';

/**
 * Numbers of timeline actions and channels. 0–8 and the channels 0–4 are the original module's
 * and never change; Herald's own actions start at 9.
 */
export const EventAction = {
  Requested: 0,
  Rejected: 1,
  TokenCreated: 2,
  Sent: 3,
  Error: 4,
  Suppressed: 5,
  DispatchSuccessful: 6,
  DispatchUnsuccessful: 7,
  Throttled: 8,
  Scheduled: 9,
  RateLimited: 10,
  Delivered: 11,
  Read: 12,
  Bounced: 13,
  Opened: 14,
  Answered: 15,
  Completed: 16,
  Unsubscribed: 17,
  ManualRetry: 18,
  Replied: 19,
  Queued: 20,
} as const;
export type EventAction = (typeof EventAction)[keyof typeof EventAction];

export const EventChannel = { Email: 0, SMS: 1, DispatchAPI: 2, Unknown: 3, Invalid: 4, WhatsApp: 5 } as const;
export type EventChannel = (typeof EventChannel)[keyof typeof EventChannel];

/** The timeline channel of each message channel: the one mapping, read both ways. */
const eventChannels: Record<Channel, EventChannel> = {
  email: EventChannel.Email,
  sms: EventChannel.SMS,
  whatsapp: EventChannel.WhatsApp,
};
const messageChannels = new Map<number, Channel>(channels.map((channel) => [eventChannels[channel], channel]));

/** The timeline channel of a message channel: `eventChannelOf('sms')` is 1. */
export function eventChannelOf(channel: Channel): EventChannel {
  return eventChannels[channel];
}

/**
 * The message channel a timeline channel stands for, or null for those that are not a message's
 * (DispatchAPI, Unknown, Invalid).
 */
export function messageChannelOf(channel: number): Channel | null {
  return messageChannels.get(channel) ?? null;
}
