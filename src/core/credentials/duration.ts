/** `90d`, `12h`, `30m`, `3600s` (or a bare number of seconds) -> milliseconds; null when it is not a duration. */
export function durationMs(text: string): number | null {
  const m = /^(\d{1,6})([smhdw]?)$/.exec(text.trim());
  if (!m) return null;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit * 1000;
}
