/**
 * `${env:NAME}` references in configuration strings. They are checked for syntax when the file is
 * parsed, but expanded only when a connection is made, so that working on dev never requires the
 * variables of prod to be set.
 */

/** Same rule as POSIX shells; anything else could not be exported from a shell anyway. */
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A new regex each time: a shared global regex carries `lastIndex` from one call into the next. */
function refRe(): RegExp {
  return /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;
}

/** Names referenced by `s`, in order of appearance, without duplicates. */
export function envRefNames(s: string): string[] {
  const names: string[] = [];
  for (const m of s.matchAll(refRe())) if (!names.includes(m[1])) names.push(m[1]);
  return names;
}

export function hasEnvRefs(s: string): boolean {
  return envRefNames(s).length > 0;
}

/**
 * Returns a description of the first malformed `${…}` in `s`, or undefined. Only the reference itself
 * is quoted back (never the rest of the string, which may be a URL with credentials).
 */
export function malformedEnvRef(s: string): { index: number; text: string; hint: string } | undefined {
  const re = refRe();
  let from = 0;
  for (;;) {
    const i = s.indexOf('${', from);
    if (i < 0) return undefined;
    re.lastIndex = i;
    const m = re.exec(s);
    if (m && m.index === i) {
      from = i + m[0].length;
      continue;
    }
    const close = s.indexOf('}', i);
    const raw = close >= 0 && close - i <= 60 ? s.slice(i, close + 1) : s.slice(i, i + 2) + '…';
    const inner = close >= 0 ? s.slice(i + 2, close) : '';
    const name = inner.startsWith('env:') ? inner.slice(4) : inner;
    const hint = close < 0
      ? 'the reference is not closed with "}"; write ${env:NAME}'
      : ENV_NAME_RE.test(name)
        ? `write \${env:${name}} (only environment variables can be referenced)`
        : 'write ${env:NAME}, where NAME is an environment variable name (letters, digits, _)';
    return { index: i, text: raw, hint };
  }
}

/** Replaces every reference with the variable's value; `missing` is called for unset or empty ones. */
export function expandEnvRefs(
  s: string,
  env: Record<string, string | undefined>,
  missing: (name: string) => never,
): string {
  return s.replace(refRe(), (_m, name: string) => {
    const v = env[name];
    // An empty value is treated as unset: an empty URL or host would fail later with a far less
    // helpful message ("connect ECONNREFUSED 127.0.0.1").
    if (v === undefined || v === '') missing(name);
    return v as string;
  });
}

/** `s` with each reference replaced by `placeholder`, for syntax checks on the literal parts. */
export function withoutEnvRefs(s: string, placeholder: string): string {
  return s.replace(refRe(), placeholder);
}
