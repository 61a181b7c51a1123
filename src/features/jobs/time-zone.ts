/**
 * Wall-clock arithmetic in an IANA time zone with nothing but Intl: the nightly job runs at `HH:MM` local time,
 * and the grace period ends at a local midnight.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The local wall time of instant `ms` in `timeZone`. */
export function wallTime(ms: number, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24, minute: parts.minute!, second: parts.second! };
}

/** Offset of `timeZone` from UTC at instant `ms`, in ms (positive east of Greenwich). */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallTime(ms, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant at which the local wall time in `timeZone` reads the given date and time. In a DST gap (a time that
 * does not exist locally) it lands just after the gap; in an overlap, on the first occurrence.
 */
export function instantOf(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  // Two rounds: the offset at the guess may differ from the offset at the answer when a DST change lies between.
  return guess - offsetAt(guess - offsetAt(guess, timeZone), timeZone);
}

/** Adds `days` calendar days to a local date (month and year roll over). */
function addDays(year: number, month: number, day: number, days: number): { year: number; month: number; day: number } {
  const d = new Date(Date.UTC(year, month - 1, day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** The first instant strictly after `after` at which it is `HH:MM` in `timeZone`. */
export function nextDailyAt(after: number, at: string, timeZone: string): number {
  const [hour, minute] = at.split(':').map(Number) as [number, number];
  const w = wallTime(after, timeZone);
  for (let i = 0; i < 3; i++) {
    const d = addDays(w.year, w.month, w.day, i);
    const t = instantOf(d.year, d.month, d.day, hour, minute, timeZone);
    if (t > after) return t;
  }
  throw new Error('no next run found'); // unreachable: one of three consecutive days has the time after `after`
}

/** The latest instant at or before `at` at which it is `HH:MM` in `timeZone`. */
export function previousDailyAt(atOrBefore: number, at: string, timeZone: string): number {
  // A local day lasts 23 to 25 hours, so (x - 26 h, x] holds one or two occurrences: take the last.
  let p = nextDailyAt(atOrBefore - 26 * 3600_000, at, timeZone);
  for (let n = nextDailyAt(p, at, timeZone); n <= atOrBefore; n = nextDailyAt(p, at, timeZone)) p = n;
  return p;
}

/** Local midnight that starts the day of `ms` in `timeZone`, minus `days` days. */
export function startOfDay(ms: number, timeZone: string, days = 0): number {
  const w = wallTime(ms, timeZone);
  const d = addDays(w.year, w.month, w.day, -days);
  return instantOf(d.year, d.month, d.day, 0, 0, timeZone);
}
