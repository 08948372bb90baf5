/**
 * Secret redaction for everything Bulwark prints or logs: error messages from `pg`, connection strings,
 * configuration dumps. The rule of thumb is "mask too much rather than too little": when a text is
 * ambiguous (an unencoded `@` or `/` inside a password), the masked span is widened, never narrowed.
 */

const MASK = '***';

/** Shorter secrets would mask ordinary words and numbers all over the output, making it useless. */
const MIN_SECRET_LENGTH = 3;

/**
 * `password=…` in libpq keyword strings (`host=h password='a b'`) and URL query strings
 * (`?sslmode=require&password=x`); also `PGPASSWORD=` (shell/env dumps) and `sslpassword=` (libpq's
 * client-key passphrase). The lookbehind keeps `passwordEnv=` and words like `nopassword` out; `\s*=`
 * follows libpq, which allows blanks around `=`.
 */
const KEYWORD_RE = /(?<![A-Za-z0-9])((?:pg|ssl)?password)(\s*=\s*)(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\S+))/gi;

/**
 * `"password": "…"` (JSON) and `password: '…'` (util.inspect of a pg config object). A quoted value is
 * required so that prose such as "password: authentication failed" stays readable.
 */
const PROPERTY_RE = /(?<![A-Za-z0-9])(["']?)((?:pg|ssl)?password)\1(\s*:\s*)(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/gi;

/** Position of the password inside `s` for a URL whose `://` ends at `authorityStart`; `tokenEnd` exclusive. */
export interface Span {
  start: number;
  end: number;
}

/**
 * Finds the password of the URL `s` (the whole string is the URL): everything between `scheme://user:`
 * and the LAST `@`. The last `@` is used because generated passwords often contain unencoded `@`, `:`,
 * `/` or `#`; the price is over-masking when a query parameter contains `@`, which is the safe side.
 * Returns undefined when there is no userinfo or the password is empty.
 */
export function urlPasswordSpan(s: string): Span | undefined {
  const m = /^\s*[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(s);
  if (!m) return undefined;
  return passwordSpan(s, m[0].length, s.length);
}

function passwordSpan(s: string, authorityStart: number, tokenEnd: number): Span | undefined {
  const at = s.lastIndexOf('@', tokenEnd - 1);
  if (at < authorityStart) return undefined;
  // The user name ends at the first `:`; a user name with an unencoded `@` (Azure's `user@server`)
  // still works because the password only starts after that colon.
  const colon = s.indexOf(':', authorityStart);
  if (colon < 0 || colon >= at) return undefined;
  if (colon + 1 === at) return undefined;
  return { start: colon + 1, end: at };
}

/** Where a URL that starts at `start` (its scheme) ends inside free text. */
function urlTokenEnd(text: string, start: number, authorityStart: number): number {
  // Passwords may legally (if sloppily) contain most punctuation, so only blanks end a URL, plus the
  // closing quote when the URL is itself quoted (JSON, `'…'` in SQL or shell output), plus a `,` or
  // `;` that starts another URL (lists of URLs).
  const quote = start > 0 ? text[start - 1] : '';
  const quoted = quote === '"' || quote === "'" || quote === '`';
  let i = authorityStart;
  for (; i < text.length; i++) {
    const c = text[i];
    if (/\s/.test(c)) break;
    if (quoted && c === quote && text[i - 1] !== '\\') break;
    if ((c === ',' || c === ';') && /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text.slice(i + 1, i + 40))) break;
  }
  return i;
}

/**
 * Masks the password of every `scheme://user:password@…` in the text: any scheme, not only postgres (a
 * password in a proxy or other service URL quoted inside an error message must not leak either, and
 * masking `user:pass@` is harmless for URLs that have none).
 */
function maskUrls(text: string): string {
  let out = '';
  let cursor = 0;
  // Found from each `://` backwards (a regex for the scheme would retry at every letter of the text:
  // quadratic in long words, and slow on big outputs such as `bulwark lint --format json`).
  for (let sep = text.indexOf('://'); sep >= 0; sep = text.indexOf('://', sep + 3)) {
    // The scheme: from the first letter of the run of scheme characters before `://` (what the leftmost
    // match of /[A-Za-z][A-Za-z0-9+.-]*:\/\// gives), not reaching back into an already masked span.
    let start = sep;
    while (start > cursor && isSchemeChar(text.charCodeAt(start - 1))) start--;
    while (start < sep && !isLetter(text.charCodeAt(start))) start++;
    if (start === sep) continue;
    const authorityStart = sep + 3;
    const end = urlTokenEnd(text, start, authorityStart);
    const span = passwordSpan(text, authorityStart, end);
    if (!span) continue;
    out += text.slice(cursor, span.start) + MASK;
    cursor = span.end;
    // A scheme inside the masked span (e.g. `a://` in a password) is part of that secret.
    if (span.end - 3 > sep) sep = span.end - 3;
  }
  return out + text.slice(cursor);
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** [A-Za-z0-9+.-] */
function isSchemeChar(c: number): boolean {
  return isLetter(c) || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46;
}

function maskKeywords(text: string): string {
  const keyword = text.replace(
    KEYWORD_RE,
    (whole: string, key: string, eq: string, sq: string | undefined, dq: string | undefined, bare: string | undefined, offset: number) => {
      if (sq !== undefined) return `${key}${eq}'${MASK}'`;
      if (dq !== undefined) return `${key}${eq}"${MASK}"`;
      if (bare === undefined || bare === MASK) return whole;
      // In a URL query string the value ends at the next parameter; keep the rest readable.
      const prev = offset > 0 ? text[offset - 1] : '';
      if (prev === '?' || prev === '&') {
        const stop = bare.search(/[&#]/);
        if (stop >= 0) return `${key}${eq}${MASK}${bare.slice(stop)}`;
      }
      return `${key}${eq}${MASK}`;
    },
  );
  return keyword.replace(
    PROPERTY_RE,
    (_whole: string, q: string, key: string, colon: string, sq: string | undefined) =>
      sq !== undefined ? `${q}${key}${q}${colon}'${MASK}'` : `${q}${key}${q}${colon}"${MASK}"`,
  );
}

function maskSecrets(text: string, secrets: Iterable<string>): string {
  const variants = new Set<string>();
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length < MIN_SECRET_LENGTH) continue;
    variants.add(s);
    // The same password often shows up percent-encoded, inside a connection URL.
    const encoded = encodeURIComponent(s);
    if (encoded !== s) variants.add(encoded);
  }
  // Longest first, so that a secret containing a shorter one is masked as a whole.
  const sorted = [...variants].sort((a, b) => b.length - a.length);
  let out = text;
  for (const s of sorted) {
    if (out.includes(s)) out = out.split(s).join(MASK);
  }
  return out;
}

/**
 * Replace the password in every postgres:// or postgresql:// URL inside `text` with `***` (keep user,
 * host, db), mask `password=...` key/value pairs (libpq keyword form, quoted or not), and replace every
 * literal occurrence of each given secret (length ≥ 3) with `***`.
 */
export function redact(text: string, secrets?: readonly string[]): string {
  let out = maskUrls(text);
  out = maskKeywords(out);
  if (secrets && secrets.length > 0) out = maskSecrets(out, secrets);
  return out;
}

/**
 * Masks the password of one URL. Unlike `redact`, the whole string is the URL (blanks included), so an
 * unencoded blank inside the password cannot cut the masked span short.
 */
export function redactUrl(url: string): string {
  const span = urlPasswordSpan(url);
  const masked = span ? url.slice(0, span.start) + MASK + url.slice(span.end) : url;
  return maskKeywords(masked);
}

/** A redactor that remembers secrets as connections are resolved; used by loggers/printers. */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(...secrets: string[]): void {
    for (const s of secrets) {
      if (typeof s === 'string' && s.length >= MIN_SECRET_LENGTH) this.secrets.add(s);
    }
  }

  redact(text: string): string {
    return redact(text, [...this.secrets]);
  }
}
