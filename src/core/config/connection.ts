/**
 * Turns an environment's settings into `pg` client options. Kept apart from parsing because it reads
 * secrets from the process environment: it runs only when Bulwark is about to connect to THAT
 * environment, so nobody working on dev needs prod's variables set.
 */
import { ConfigError, type SourceLocation } from '../errors';
import { redact, urlPasswordSpan } from '../redact';
import type { EnvironmentConfig } from './config';
import { expandEnvRefs } from './envRefs';

/** libpq's sslmode values. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface ResolvedConnection {
  /** pg.ClientConfig-compatible fields; password only if it came from passwordEnv or the URL expanded from the environment */
  pg: {
    connectionString?: string;
    host?: string;
    port?: number;
    database?: string;
    user?: string;
    password?: string;
    ssl?: boolean | { rejectUnauthorized: boolean };
  };
  /** the connection described WITHOUT any password, e.g. `postgres://deploy@db-prod:5432/app` — safe to print */
  display: string;
  /**
   * The same connection for libpq tools (pg_dump): a URL without any password (the password goes in their
   * environment, never on a command line that `ps` shows).
   */
  libpq: string;
  /** every secret value that must never be printed (passwords found), for the redactor */
  secrets: string[];
}

const QUERY_PASSWORD_RE = /([?&])(?:ssl)?password=([^&#]*)(&?)/gi;

export function resolveConnection(env: EnvironmentConfig, processEnv: Record<string, string | undefined>): ResolvedConnection {
  const expand = (value: string, setting: string): string =>
    expandEnvRefs(value, processEnv, (name) => {
      throw missingVariable(env, setting, name, 'used by');
    });

  if (env.url !== undefined) {
    const url = expand(env.url, 'url').trim();
    if (!/^postgres(?:ql)?:\/\//i.test(url)) {
      // The expanded value comes from a variable and may be anything, credentials included: describe
      // it, never echo it.
      const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
      throw new ConfigError(
        `${settingPath(env, 'url')} of environment "${env.name}" does not expand to a postgres:// or postgresql:// URL` +
          (scheme ? ` (it starts with "${scheme[1]}://")` : ''),
        { location: settingLocation(env, 'url'), hint: 'check the variables referenced by the url' },
      );
    }
    const secrets = urlSecrets(url);
    return { pg: { connectionString: libpqSslSemantics(url) }, display: redact(urlWithoutPassword(url), secrets), libpq: urlWithoutPassword(url), secrets };
  }

  const c = env.connection ?? {};
  const host = c.host !== undefined ? expand(c.host, 'connection.host') : undefined;
  const database = c.database !== undefined ? expand(c.database, 'connection.database') : undefined;
  const user = c.user !== undefined ? expand(c.user, 'connection.user') : undefined;
  const sslmode = c.sslmode !== undefined ? expand(c.sslmode, 'connection.sslmode') : undefined;
  if (sslmode !== undefined && !(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw new ConfigError(
      `${settingPath(env, 'connection.sslmode')} of environment "${env.name}" expands to "${sslmode}", which is not an sslmode`,
      { location: settingLocation(env, 'connection.sslmode'), hint: `use one of ${SSL_MODES.join(', ')}` },
    );
  }

  const secrets: string[] = [];
  let password: string | undefined;
  if (c.passwordEnv !== undefined) {
    const value = processEnv[c.passwordEnv];
    // An explicitly configured variable that is missing is an error rather than a silent fallback to
    // PGPASSWORD/~/.pgpass: the fallback would end in a confusing "password authentication failed".
    if (value === undefined || value === '') throw missingVariable(env, 'connection.passwordEnv', c.passwordEnv, 'named by');
    password = value;
    secrets.push(value);
  }

  const pg: ResolvedConnection['pg'] = {};
  if (host !== undefined) pg.host = host;
  if (c.port !== undefined) pg.port = c.port;
  if (database !== undefined) pg.database = database;
  if (user !== undefined) pg.user = user;
  if (password !== undefined) pg.password = password;
  const ssl = sslOption(sslmode as SslMode | undefined);
  if (ssl !== undefined) pg.ssl = ssl;

  const described = describeConnection(host, c.port, database, user, sslmode);
  return { pg, display: redact(described, secrets), libpq: described, secrets };
}

/** The password a libpq tool needs for this connection (from passwordEnv, the URL or the editor), if any. */
export function connectionPassword(resolved: ResolvedConnection): string | undefined {
  if (resolved.pg.password !== undefined) return resolved.pg.password;
  const url = resolved.pg.connectionString;
  if (url === undefined) return undefined;
  const p = rawUrlPasswords(url);
  const raw = p.userinfo ?? p.query.find((q) => !q.ssl)?.raw;
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * pg has no sslmode of its own for object configs. `allow`/`prefer` become "TLS without verification"
 * (pg cannot fall back to plain text like libpq does), the verify modes check the certificate.
 */
function sslOption(mode: SslMode | undefined): ResolvedConnection['pg']['ssl'] | undefined {
  switch (mode) {
    case undefined:
      return undefined;
    case 'disable':
      return false;
    case 'allow':
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

function describeConnection(host?: string, port?: number, database?: string, user?: string, sslmode?: string): string {
  let s = 'postgres://';
  if (user !== undefined && user !== '') s += encodeURIComponent(user) + '@';
  // A Unix socket directory must be encoded to be read back as a host, as libpq does.
  if (host !== undefined) s += host.startsWith('/') ? encodeURIComponent(host) : host;
  if (port !== undefined) s += ':' + port;
  if (database !== undefined && database !== '') s += '/' + encodeURIComponent(database);
  if (sslmode !== undefined) s += '?sslmode=' + sslmode;
  return s;
}

/** The passwords written in a URL, as written (percent-encoded): in its userinfo and in `(ssl)password=` parameters. */
function rawUrlPasswords(url: string): { userinfo?: string; query: { raw: string; ssl: boolean }[] } {
  const query = [...url.matchAll(QUERY_PASSWORD_RE)].map((m) => ({ raw: m[2], ssl: /^.ssl/i.test(m[0]) }));
  // Query passwords go first: an unencoded `@` in them would otherwise be taken for the end of the
  // userinfo and split both secrets.
  const rest = withoutQueryPasswords(url);
  const span = urlPasswordSpan(rest);
  return { ...(span ? { userinfo: rest.slice(span.start, span.end) } : {}), query };
}

/** Passwords in a URL, raw and percent-decoded, since either form may show up in a message. */
function urlSecrets(url: string): string[] {
  const found = new Set<string>();
  const addBoth = (raw: string): void => {
    if (raw === '') return;
    found.add(raw);
    try {
      found.add(decodeURIComponent(raw));
    } catch {
      // Not valid percent-encoding: the raw form is the only one that can appear.
    }
  };
  const p = rawUrlPasswords(url);
  for (const q of p.query) addBoth(q.raw);
  if (p.userinfo !== undefined) addBoth(p.userinfo);
  return [...found];
}

/** The URL with password query parameters dropped and the password (and its `:`) removed from the userinfo. */
export function urlWithoutPassword(url: string): string {
  const rest = withoutQueryPasswords(url);
  const span = urlPasswordSpan(rest);
  return span ? rest.slice(0, span.start - 1) + rest.slice(span.end) : rest;
}

function withoutQueryPasswords(url: string): string {
  return url.replace(QUERY_PASSWORD_RE, (_m, sep: string, _v: string, amp: string) => (amp ? sep : ''));
}

function settingPath(env: EnvironmentConfig, setting: string): string {
  return env.sources?.[setting]?.path ?? setting;
}

function settingLocation(env: EnvironmentConfig, setting: string): SourceLocation | undefined {
  const s = env.sources?.[setting];
  return s ? { file: s.file, line: s.line, column: s.column } : env.location;
}

function missingVariable(env: EnvironmentConfig, setting: string, name: string, verb: 'used by' | 'named by'): ConfigError {
  const where = env.sources?.[setting]
    ? `${verb} ${settingPath(env, setting)} of environment "${env.name}"`
    : `needed by environment "${env.name}"`;
  const hint = setting === 'connection.passwordEnv'
    ? `set ${name} to the password before connecting to "${env.name}", or remove passwordEnv to let libpq use PGPASSWORD or ~/.pgpass`
    : `set ${name} before connecting to "${env.name}" (other environments do not need it)`;
  return new ConfigError(`environment variable ${name} is not set (${where})`, { location: settingLocation(env, setting), hint });
}

/**
 * pg reads `sslmode=require` in a URL as verify-full, unlike libpq and unlike our `connection.sslmode`.
 * Users copy URLs from libpq tools, so give them libpq's meaning (pg's own opt-in flag).
 */
function libpqSslSemantics(url: string): string {
  if (!/[?&]sslmode=/i.test(url) || /[?&]uselibpqcompat=/i.test(url)) return url;
  return url + '&uselibpqcompat=true';
}
