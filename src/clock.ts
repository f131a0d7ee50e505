/** The time as Herald sees it: injected, so tests can move it (send windows, reminders, retries). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
