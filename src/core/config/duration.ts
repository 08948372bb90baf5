/**
 * Durations in PostgreSQL's own syntax (`500ms`, `2s`, `5min`, `1h`, `1d`, or a bare number of
 * milliseconds), because the original text is passed to `SET lock_timeout` / `SET statement_timeout`
 * and users already know these units from postgresql.conf.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** PostgreSQL stores these settings as a 32-bit int of milliseconds and rejects anything larger. */
export const MAX_DURATION_MS = 2_147_483_647;

/** Spellings people reach for out of habit, mapped to PostgreSQL's unit. */
const UNIT_ALIASES: Record<string, string> = {
  m: 'min', mins: 'min', minute: 'min', minutes: 'min', M: 'min',
  sec: 's', secs: 's', second: 's', seconds: 's', S: 's',
  msec: 'ms', msecs: 'ms', millisecond: 'ms', milliseconds: 'ms', MS: 'ms', Ms: 'ms',
  hr: 'h', hrs: 'h', hour: 'h', hours: 'h', H: 'h',
  day: 'd', days: 'd', D: 'd',
  MIN: 'min', Min: 'min',
};

export type DurationResult = { ok: true; ms: number; text: string } | { ok: false; message: string; hint?: string };

export const DURATION_HINT = 'use a PostgreSQL duration such as "500ms", "2s", "5min", "1h", or a whole number of milliseconds';

/** Parses a JSON value (string or number) as a duration. */
export function parseDuration(value: unknown): DurationResult {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) {
      return { ok: false, message: `${value} is not a valid duration: a number must be a whole, non-negative count of milliseconds`, hint: DURATION_HINT };
    }
    if (value > MAX_DURATION_MS) return tooLarge(String(value));
    return { ok: true, ms: value, text: String(value) };
  }
  if (typeof value !== 'string') return { ok: false, message: 'expected a duration string such as "2s"', hint: DURATION_HINT };
  const text = value.trim();
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(text);
  if (!m) {
    const negative = /^-\s*\d/.test(text);
    return {
      ok: false,
      message: negative ? `"${value}" is negative; durations must be 0 or more` : `"${value}" is not a duration`,
      hint: DURATION_HINT,
    };
  }
  const amount = Number(m[1]);
  const unit = m[2] === '' ? 'ms' : m[2];
  const factor = UNIT_MS[unit];
  if (factor === undefined) {
    const alias = UNIT_ALIASES[unit];
    return {
      ok: false,
      message: alias
        ? `"${value}": "${unit}" is not a PostgreSQL unit; did you mean "${m[1]}${alias}"?`
        : `"${value}": unknown unit "${unit}"`,
      hint: 'units are ms, s, min, h and d (case-sensitive, as in postgresql.conf)',
    };
  }
  const ms = amount * factor;
  // Sub-millisecond values would be rounded by PostgreSQL, possibly to 0, which means "no timeout":
  // the opposite of what the user asked for.
  if (!Number.isInteger(ms)) {
    return { ok: false, message: `"${value}" is not a whole number of milliseconds`, hint: DURATION_HINT };
  }
  if (ms > MAX_DURATION_MS) return tooLarge(value);
  return { ok: true, ms, text };
}

function tooLarge(value: string): DurationResult {
  return {
    ok: false,
    message: `"${value}" is too long; PostgreSQL accepts at most ${MAX_DURATION_MS}ms (about 24 days)`,
    hint: 'use 0 to disable the timeout',
  };
}
