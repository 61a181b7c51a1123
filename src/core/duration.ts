/** A duration that does not parse (or is not positive). */
export class InvalidDuration extends Error {}

/** `90d`, `12h`, `30m`, `3600s` (or a bare number of seconds) -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})([smhdw]?)$/.exec(text.trim());
  if (!m) throw new InvalidDuration(`"${text}" is not a duration (e.g. 90d, 12h, 30m)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  const ms = Number(m[1]) * unit * 1000;
  if (ms <= 0) throw new InvalidDuration('must be positive');
  return ms;
}
