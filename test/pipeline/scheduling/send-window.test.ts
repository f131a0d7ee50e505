import { describe, expect, it } from 'vitest';
import { isValidTimeZone, nextOpening } from '../../../src/pipeline/scheduling/send-window.js';
import type { SendWindow } from '../../../src/storage/schema.js';

const EVERY_DAY = [0, 1, 2, 3, 4, 5, 6];
const WEEKDAYS = [1, 2, 3, 4, 5];

function window(overrides: Partial<SendWindow> = {}): SendWindow {
  return { days: WEEKDAYS, start: '09:00', end: '17:00', timezone: 'UTC', recipientTimezone: false, ...overrides };
}

/** The next opening as an ISO string, to compare with literal instants. */
function opening(at: string, sendWindow: SendWindow | null, recipientZone?: string | null): string {
  return nextOpening(new Date(at), sendWindow, recipientZone).toISOString();
}

// Calendar anchors (2026): 21 Nov is a Saturday, 24 Nov a Tuesday, 27 Nov a Friday.

describe('a send window that never holds back', () => {
  it('sends at once without a window', () => {
    expect(opening('2026-11-21T03:00:00.000Z', null)).toBe('2026-11-21T03:00:00.000Z');
  });

  it('sends at once when the window has no days, rather than never', () => {
    expect(opening('2026-11-21T03:00:00.000Z', window({ days: [] }))).toBe('2026-11-21T03:00:00.000Z');
  });
});

describe('a same-day window (weekdays 09:00–17:00 UTC)', () => {
  it('returns the moment itself while the window is open', () => {
    expect(opening('2026-11-24T12:34:56.789Z', window())).toBe('2026-11-24T12:34:56.789Z');
  });

  it('opens at its start (inclusive)', () => {
    expect(opening('2026-11-24T09:00:00.000Z', window())).toBe('2026-11-24T09:00:00.000Z');
  });

  it('waits for the same day’s start when too early', () => {
    expect(opening('2026-11-24T08:59:59.999Z', window())).toBe('2026-11-24T09:00:00.000Z');
  });

  it('is closed at its end (exclusive): the next opening is the following day', () => {
    expect(opening('2026-11-24T17:00:00.000Z', window())).toBe('2026-11-25T09:00:00.000Z');
  });

  it('skips the weekend: Friday evening and Saturday wait for Monday', () => {
    expect(opening('2026-11-27T17:00:00.000Z', window())).toBe('2026-11-30T09:00:00.000Z');
    expect(opening('2026-11-21T10:00:00.000Z', window())).toBe('2026-11-23T09:00:00.000Z');
  });

  it('reads minutes as well as hours', () => {
    const w = window({ start: '08:45', end: '08:50' });
    expect(opening('2026-11-24T08:44:00.000Z', w)).toBe('2026-11-24T08:45:00.000Z');
    expect(opening('2026-11-24T08:49:59.000Z', w)).toBe('2026-11-24T08:49:59.000Z');
    expect(opening('2026-11-24T08:50:00.000Z', w)).toBe('2026-11-25T08:45:00.000Z');
  });

  it('is open all day when start equals end', () => {
    const w = window({ days: [2], start: '00:00', end: '00:00' });
    expect(opening('2026-11-24T23:59:00.000Z', w)).toBe('2026-11-24T23:59:00.000Z');
    expect(opening('2026-11-25T00:00:00.000Z', w)).toBe('2026-12-01T00:00:00.000Z');
  });
});

describe('day lists (0 = Sunday … 6 = Saturday)', () => {
  it('numbers Sunday 0', () => {
    expect(opening('2026-11-21T10:00:00.000Z', window({ days: [0] }))).toBe('2026-11-22T09:00:00.000Z');
  });

  it('numbers Saturday 6', () => {
    expect(opening('2026-11-20T18:00:00.000Z', window({ days: [6] }))).toBe('2026-11-21T09:00:00.000Z');
  });

  it('waits up to a week for a single day', () => {
    // Tuesday after its window: the next Tuesday.
    expect(opening('2026-11-24T17:30:00.000Z', window({ days: [2] }))).toBe('2026-12-01T09:00:00.000Z');
  });

  it('ignores the order of the days', () => {
    expect(opening('2026-11-21T10:00:00.000Z', window({ days: [5, 3, 1] }))).toBe('2026-11-23T09:00:00.000Z');
  });
});

describe('a window past midnight (22:00–06:00 UTC, opening on Fridays)', () => {
  const overnight = window({ days: [5], start: '22:00', end: '06:00' });

  it('waits for Friday’s opening', () => {
    expect(opening('2026-11-27T21:00:00.000Z', overnight)).toBe('2026-11-27T22:00:00.000Z');
  });

  it('is open on Friday night', () => {
    expect(opening('2026-11-27T23:30:00.000Z', overnight)).toBe('2026-11-27T23:30:00.000Z');
  });

  it('is still open on Saturday morning: the window belongs to the day it opens', () => {
    expect(opening('2026-11-28T05:59:00.000Z', overnight)).toBe('2026-11-28T05:59:00.000Z');
  });

  it('closes at its end on Saturday morning and waits a week', () => {
    expect(opening('2026-11-28T06:00:00.000Z', overnight)).toBe('2026-12-04T22:00:00.000Z');
  });

  it('does not open in the early hours of a listed day (they belong to the day before)', () => {
    // Friday 03:00: Thursday is not listed, so Thursday night's window does not exist.
    expect(opening('2026-11-27T03:00:00.000Z', overnight)).toBe('2026-11-27T22:00:00.000Z');
  });
});

describe('the policy’s time zone', () => {
  it('reads the window in the policy’s zone (Tokyo, UTC+9, no DST)', () => {
    const tokyo = window({ timezone: 'Asia/Tokyo' });
    // Monday 23 Nov 23:30 UTC is Tuesday 08:30 in Tokyo: opens at 09:00 JST = 00:00 UTC.
    expect(opening('2026-11-23T23:30:00.000Z', tokyo)).toBe('2026-11-24T00:00:00.000Z');
    // Friday 27 Nov 08:00 UTC is Friday 17:00 in Tokyo: closed until Monday 09:00 JST.
    expect(opening('2026-11-27T08:00:00.000Z', tokyo)).toBe('2026-11-30T00:00:00.000Z');
  });

  it('reads the day of the week in the policy’s zone, not in UTC', () => {
    // Saturday 21 Nov 20:00 UTC is Sunday 05:00 in Tokyo; a Sunday window opens 09:00 JST.
    const sundays = window({ days: [0], timezone: 'Asia/Tokyo' });
    expect(opening('2026-11-21T20:00:00.000Z', sundays)).toBe('2026-11-22T00:00:00.000Z');
  });

  it('uses summer time in summer (London, BST = UTC+1)', () => {
    expect(opening('2026-07-07T07:30:00.000Z', window({ timezone: 'Europe/London' }))).toBe('2026-07-07T08:00:00.000Z');
  });

  it('never holds a message back for a zone it does not know', () => {
    // Policies refuse unknown zones when saved; a stored one is treated as no window at all.
    expect(opening('2026-11-21T10:00:00.000Z', window({ timezone: 'Mars/Olympus_Mons' }))).toBe(
      '2026-11-21T10:00:00.000Z',
    );
  });
});

describe('the recipient’s time zone (cc_timezone)', () => {
  // Tuesday 24 Nov 14:00 UTC: 14:00 in London (open), 23:00 in Tokyo (closed), 09:00 in New York (open).
  const at = '2026-11-24T14:00:00.000Z';

  it('is used when the policy asks for it and the zone is valid', () => {
    const w = window({ timezone: 'Europe/London', recipientTimezone: true });
    expect(opening(at, w, 'Asia/Tokyo')).toBe('2026-11-25T00:00:00.000Z'); // Wednesday 09:00 JST
    expect(opening('2026-11-24T13:59:00.000Z', w, 'America/New_York')).toBe('2026-11-24T14:00:00.000Z');
  });

  it('is ignored when the policy does not ask for it', () => {
    expect(opening(at, window({ timezone: 'Europe/London' }), 'Asia/Tokyo')).toBe(at);
  });

  it('falls back to the policy’s zone when the recipient has none or an unknown one', () => {
    const w = window({ timezone: 'Asia/Tokyo', recipientTimezone: true });
    expect(opening(at, w, null)).toBe('2026-11-25T00:00:00.000Z');
    expect(opening(at, w, undefined)).toBe('2026-11-25T00:00:00.000Z');
    expect(opening(at, w, '')).toBe('2026-11-25T00:00:00.000Z');
    expect(opening(at, w, 'Europe/Atlantis')).toBe('2026-11-25T00:00:00.000Z');
    expect(opening(at, w, '+05:00')).toBe('2026-11-25T00:00:00.000Z');
  });
});

describe('daylight saving changes', () => {
  // Europe/London: BST starts Sun 29 Mar 2026 at 01:00 UTC, ends Sun 25 Oct 2026 at 01:00 UTC.
  // America/New_York: EDT starts Sun 8 Mar 2026 at 07:00 UTC, ends Sun 1 Nov 2026 at 06:00 UTC.
  const daily = (timezone: string, start = '09:00', end = '17:00') => window({ days: EVERY_DAY, start, end, timezone });

  it('opens at 09:00 wall-clock on the day London springs forward', () => {
    expect(opening('2026-03-28T18:00:00.000Z', daily('Europe/London'))).toBe('2026-03-29T08:00:00.000Z');
  });

  it('opens at 09:00 wall-clock on the day London falls back', () => {
    expect(opening('2026-10-24T18:00:00.000Z', daily('Europe/London'))).toBe('2026-10-25T09:00:00.000Z');
  });

  it('opens at 09:00 wall-clock on the day New York springs forward', () => {
    expect(opening('2026-03-07T23:00:00.000Z', daily('America/New_York'))).toBe('2026-03-08T13:00:00.000Z');
  });

  it('opens at 09:00 wall-clock on the day New York falls back', () => {
    expect(opening('2026-10-31T22:00:00.000Z', daily('America/New_York'))).toBe('2026-11-01T14:00:00.000Z');
  });

  it('closes at its wall-clock end on the short night London springs forward', () => {
    // 22:00 GMT Saturday to 06:00 BST Sunday: seven hours, closing at 05:00 UTC.
    const overnight = daily('Europe/London', '22:00', '06:00');
    expect(opening('2026-03-29T04:59:00.000Z', overnight)).toBe('2026-03-29T04:59:00.000Z');
    expect(opening('2026-03-29T05:30:00.000Z', overnight)).toBe('2026-03-29T21:00:00.000Z');
  });

  it('stays open to its wall-clock end on the long night London falls back', () => {
    // 22:00 BST Saturday to 06:00 GMT Sunday: nine hours, closing at 06:00 UTC.
    const overnight = daily('Europe/London', '22:00', '06:00');
    expect(opening('2026-10-25T05:30:00.000Z', overnight)).toBe('2026-10-25T05:30:00.000Z');
    expect(opening('2026-10-25T06:00:00.000Z', overnight)).toBe('2026-10-25T22:00:00.000Z');
  });

  it('stays open to its wall-clock end when New York falls back inside a same-day window', () => {
    // 00:00 EDT (04:00 UTC) to 06:00 EST (11:00 UTC): seven hours on 1 Nov 2026.
    const early = daily('America/New_York', '00:00', '06:00');
    expect(opening('2026-11-01T10:30:00.000Z', early)).toBe('2026-11-01T10:30:00.000Z');
    expect(opening('2026-11-01T11:00:00.000Z', early)).toBe('2026-11-02T05:00:00.000Z');
  });

  it('closes at its wall-clock end when New York springs forward inside a same-day window', () => {
    // 00:00 EST (05:00 UTC) to 06:00 EDT (10:00 UTC): five hours on 8 Mar 2026.
    const early = daily('America/New_York', '00:00', '06:00');
    expect(opening('2026-03-08T09:59:00.000Z', early)).toBe('2026-03-08T09:59:00.000Z');
    expect(opening('2026-03-08T10:30:00.000Z', early)).toBe('2026-03-09T04:00:00.000Z');
  });

  it('uses the recipient’s own DST dates, not the policy’s', () => {
    // Sat 14 Mar 2026: New York is already on EDT (UTC−4), London still on GMT.
    const w = window({ days: EVERY_DAY, timezone: 'Europe/London', recipientTimezone: true });
    expect(opening('2026-03-14T12:00:00.000Z', w, 'America/New_York')).toBe('2026-03-14T13:00:00.000Z');
    expect(opening('2026-03-14T08:00:00.000Z', w)).toBe('2026-03-14T09:00:00.000Z');
  });
});

describe('isValidTimeZone', () => {
  it('accepts IANA zone names', () => {
    expect(isValidTimeZone('Europe/London')).toBe(true);
    expect(isValidTimeZone('America/New_York')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
  });

  it('refuses names that are not IANA zones', () => {
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
    expect(isValidTimeZone('London')).toBe(false);
  });
});
