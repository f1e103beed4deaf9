/**
 * The one lexical format the device-management documents use for both times and durations, `YYYY-MM-DD hh:mm:ss`;
 * ConfigMgr writes its client settings' intervals the same way (`0000-00-00 01:00:00`).
 */
const DATE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** An absolute time as `YYYY-MM-DD hh:mm:ss` (UTC; the documents name no zone except StartTime's UTC flag). */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

export function parseDate(text: string): number {
  const m = DATE.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a time in the form YYYY-MM-DD hh:mm:ss`);
  const [year, month, day, hours, minutes, seconds] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hours, minutes, seconds);
  // Date.UTC rolls over out-of-range fields (month 13, minute 60): a real time reads back field for field.
  const d = new Date(ms);
  const same = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  if (same.some((field, i) => field !== [year, month, day, hours, minutes, seconds][i])) throw new Error(`"${text}" is not a valid date`);
  return ms;
}

/**
 * A duration in the same format, its fields counts: one week is `0000-00-07 00:00:00`. Months count 30 days and
 * years 365, both ways; days are written as days up to 99, past that as years, months and days.
 */
export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  let days = Math.floor(total / 86_400);
  const years = days > 99 ? Math.floor(days / 365) : 0;
  days -= years * 365;
  const months = days > 99 ? Math.floor(days / 30) : 0;
  days -= months * 30;
  return `${pad(years, 4)}-${pad(months)}-${pad(days)} ${pad(Math.floor(total / 3600) % 24)}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}`;
}

export function parseDuration(text: string): number {
  const m = DATE.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration in the form YYYY-MM-DD hh:mm:ss`);
  const [years, months, days, hours, minutes, seconds] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return ((((years * 365 + months * 30 + days) * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000;
}
