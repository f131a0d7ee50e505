import { DateTime, IANAZone } from 'luxon';
import type { SendWindow } from '../../storage/schema.js';

/** An IANA zone name. Offsets such as "+05:00" are not names, though newer ICU (Node 24) accepts them. */
export const isValidTimeZone = (zone: string): boolean => !/^[+-]/.test(zone) && IANAZone.isValidZone(zone);

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/**
 * The first moment at or after `at` inside the window: `at` itself when the window is open, else
 * its next opening. Wall-clock times are read in the recipient's zone when the policy asks for it
 * and the recipient has a valid one, else in the policy's zone. Never skips: a window that never
 * opens (no days) is treated as always open rather than losing the message.
 *
 * @example nextOpening(new Date('2026-11-21T10:00Z'), { days: [1,2,3,4,5], start: '09:00', end: '17:00', timezone: 'UTC', recipientTimezone: false })
 * // → Monday 2026-11-23T09:00Z
 */
export function nextOpening(at: Date, window: SendWindow | null, recipientZone?: string | null): Date {
  if (!window || window.days.length === 0) return at;
  const zone =
    window.recipientTimezone && recipientZone && isValidTimeZone(recipientZone) ? recipientZone : window.timezone;
  const local = DateTime.fromJSDate(at, { zone });
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  // Yesterday's window may still be open (overnight windows); then the next 7 days' openings.
  for (let offset = -1; offset <= 7; offset++) {
    const day = local.startOf('day').plus({ days: offset });
    if (!window.days.includes(day.weekday % 7)) continue;
    // set() keeps wall-clock time across DST changes, where adding minutes would not: both ends
    // are read on the clock, so a window over a change is an hour shorter or longer, as its clock says.
    const opens = day.set({ hour: Math.floor(start / 60), minute: start % 60 });
    const closingDay = end > start ? day : day.plus({ days: 1 }); // past midnight when end ≤ start
    const closes = closingDay.set({ hour: Math.floor(end / 60), minute: end % 60 });
    if (local < opens) return opens.toJSDate();
    if (local < closes) return at;
  }
  return at;
}
