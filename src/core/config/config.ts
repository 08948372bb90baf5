/**
 * The workspace configuration, `bulwark.json`. Parsing is strict (unknown settings are errors) because
 * a misspelled safety setting such as `"protectd": true` must not silently leave prod unprotected.
 * Every problem is reported with file, line, column and the setting's JSON path, all at once, so a
 * user fixes the file in one pass.
 */
import * as fs from 'fs';
import * as path from 'path';
import { getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { ConfigError, formatLocation } from '../errors';
import { urlPasswordSpan } from '../redact';
import { SSL_MODES } from './connection';
import { DURATION_HINT, parseDuration } from './duration';
import { ENV_NAME_RE, envRefNames, hasEnvRefs, malformedEnvRef, withoutEnvRefs } from './envRefs';
import { suggest } from './suggest';

export { resolveConnection, SSL_MODES, urlWithoutPassword } from './connection';
export type { ResolvedConnection, SslMode } from './connection';

export const CONFIG_FILE_NAME = 'bulwark.json';

export interface ConfigLocation {
  file: string;
  /** 1-based */
  line: number;
  /** 1-based, in UTF-16 code units like editors */
  column: number;
}

/** Where one setting's value was written; kept so that late errors (missing variables) can point at it. */
export interface SettingSource extends ConfigLocation {
  /** JSON path, e.g. `environments[2].url` */
  path: string;
}

export interface ConnectionSettings {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  sslmode?: string;
  passwordEnv?: string;
}

export interface EnvironmentConfig {
  name: string;
  /** raw, may contain ${env:VAR} */
  url?: string;
  connection?: ConnectionSettings;
  /**
   * The embedded PostgreSQL (PGlite, in the Bulwark process) instead of a server: its data directory,
   * absolute. `"embedded": true` in bulwark.json means `.bulwark/<name>` beside the file.
   */
  embedded?: EmbeddedSettings;
  protected: boolean;
  requires?: string;
  /** original text for SET lock_timeout */
  lockTimeoutMs?: number;
  lockTimeout?: string;
  statementTimeoutMs?: number;
  statementTimeout?: string;
  lockWaitTimeoutMs: number;
  color?: string;
  /**
   * A backup (pg_dump) before `apply` and `rollback` change this environment. On by default for protected
   * server environments; undefined = none.
   */
  backup?: BackupSettings;
  /** where this environment is defined, for messages */
  location?: ConfigLocation;
  /**
   * Where each setting of this environment was written, keyed by its path inside the environment
   * (`url`, `connection.host`, `connection.passwordEnv`, `lockTimeout`…). Absent for the DATABASE_URL
   * fallback environment.
   */
  sources?: Record<string, SettingSource>;
}

export interface BackupSettings {
  /** Folder of the backups (absolute once loaded; relative to bulwark.json in the file). */
  dir: string;
  /** The pg_dump to run; default: BULWARK_PG_DUMP, else the newest pg_dump found on PATH or in the usual places. */
  pgDump?: string;
  /**
   * Which tables' rows: `touched` (default) the existing tables the migrations alter, drop, truncate or
   * write; `all` every table. The whole schema is always dumped.
   */
  data: 'touched' | 'all';
  /** Written in bulwark.json (rather than on by default for a protected environment). */
  explicit: boolean;
}

/** Where backups go by default: `<root>/.bulwark/backups`. */
export const DEFAULT_BACKUP_DIR = path.join('.bulwark', 'backups');

export interface EmbeddedSettings {
  /** absolute */
  dataDir: string;
}

export interface HistoryConfig {
  schema: string;
  table: string;
  auditTable: string;
}

export interface BulwarkConfig {
  /** absolute path of the config file, undefined when none was found */
  file?: string;
  /** folder that relative paths are resolved against (config file's folder, else cwd) */
  root: string;
  /** absolute */
  migrationsDir: string;
  /** absolute */
  templateDir: string;
  history: HistoryConfig;
  environments: EnvironmentConfig[];
  /** owned by the linter, which validates it */
  lint?: unknown;
  /**
   * How the environments were defined: 'file', 'DATABASE_URL' (one environment named "default"),
   * 'embedded' (neither a file with environments nor DATABASE_URL: one environment named "local" on the
   * embedded database in `.bulwark/local`), or 'none' (nothing at all; not produced by loadConfig).
   */
  source: 'file' | 'DATABASE_URL' | 'embedded' | 'none';
}

export interface LoadConfigOptions {
  cwd: string;
  /** explicit --config path; if given and missing → ConfigError */
  configPath?: string;
  /** overrides migrationsDir (CLI --migrations-dir), resolved against cwd */
  migrationsDir?: string;
  /** process.env, injected for tests */
  env: Record<string, string | undefined>;
}

/** One wrong setting. `offset`/`length` are for editors (diagnostic ranges). */
export interface ConfigProblem {
  /** JSON path of the setting, '' for the file as a whole */
  path: string;
  /** what is wrong, without location or path */
  message: string;
  hint?: string;
  location: ConfigLocation;
  offset: number;
  length: number;
}

/** A ConfigError that carries every problem found in the file (message: one line per problem). */
export class ConfigValidationError extends ConfigError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    const [first, ...rest] = problems;
    // `describe()` prefixes the first location; the others carry theirs in the message. With several
    // problems each hint stays next to its problem instead of trailing after the last one.
    let message = problemText(first);
    if (rest.length > 0) {
      if (first.hint) message += `\n  hint: ${first.hint}`;
      for (const p of rest) {
        message += `\n${formatLocation(p.location)}: ${problemText(p)}`;
        if (p.hint) message += `\n  hint: ${p.hint}`;
      }
    }
    super(message, { location: first.location, hint: rest.length === 0 ? first.hint : undefined });
    this.problems = problems;
  }
}

export function problemText(p: ConfigProblem): string {
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

export const DEFAULT_MIGRATIONS_DIR = 'migrations';
export const DEFAULT_TEMPLATE_DIR = 'migrations-template';
export const DEFAULT_HISTORY: Readonly<HistoryConfig> = Object.freeze({ schema: 'bulwark', table: 'migrations', auditTable: 'audit' });
export const DEFAULT_LOCK_WAIT_TIMEOUT_MS = 60_000;
/** Name of the environment made from DATABASE_URL when there is no config file. */
export const DEFAULT_ENVIRONMENT_NAME = 'default';
/** Name of the embedded environment used when nothing is configured. */
export const LOCAL_ENVIRONMENT_NAME = 'local';
/** Where embedded environments keep their data by default: `<root>/.bulwark/<name>`. */
export const EMBEDDED_DATA_FOLDER = '.bulwark';

const TOP_KEYS = ['$schema', 'migrationsDir', 'templateDir', 'history', 'environments', 'lint'] as const;
const HISTORY_KEYS = ['schema', 'table', 'auditTable'] as const;
const ENV_KEYS = ['name', 'url', 'connection', 'protected', 'requires', 'lockTimeout', 'statementTimeout', 'lockWaitTimeout', 'color', 'embedded', 'backup'] as const;
const BACKUP_KEYS = ['enabled', 'dir', 'pgDump', 'data'] as const;
const EMBEDDED_KEYS = ['dataDir'] as const;
const CONNECTION_KEYS = ['host', 'port', 'database', 'user', 'sslmode', 'passwordEnv'] as const;

const ENV_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
const IDENTIFIER_PATTERN = /^[a-z_][a-z0-9_$]{0,62}$/;

/**
 * PostgreSQL keywords that cannot be used as unquoted table or schema names ("reserved" and
 * "reserved (can be function or type)" in the SQL key words appendix). Bulwark writes these names
 * unquoted into SQL, so `"table": "user"` would break every history query.
 */
const RESERVED_WORDS = new Set(
  (
    'all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation column ' +
    'concurrently constraint create cross current_catalog current_date current_role current_schema current_time ' +
    'current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign freeze ' +
    'from full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit ' +
    'localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references ' +
    'returning right select session_user similar some symmetric system_user table tablesample then to trailing true union ' +
    'unique user using variadic verbose when where window with'
  ).split(' '),
);

const PASSWORD_HINT =
  'never write a password in bulwark.json: use ${env:VAR} for the whole URL, PGPASSWORD, ~/.pgpass, or "connection": { …, "passwordEnv": "VAR" }';

const MINIMAL_EXAMPLE = `{
    "environments": [
      { "name": "dev", "url": "\${env:DATABASE_URL}" }
    ]
  }`;

// ---------------------------------------------------------------------------------------------------
// Public entry points

/**
 * Validates `text` as the content of `file` (used as given in locations). Returns every problem; the
 * config only when there are none. Pure: no file system access, for tests and the editor.
 */
export function validateConfig(text: string, file: string, opts: LoadConfigOptions): { config?: BulwarkConfig; problems: ConfigProblem[] } {
  const v = new Validator(text.startsWith('\uFEFF') ? text.slice(1) : text, file);
  const parsed = v.run();
  // In file order, whatever order the checks ran in: that is how people read and fix the file.
  if (v.problems.length > 0) return { problems: [...v.problems].sort((a, b) => a.offset - b.offset) };

  const configFile = path.resolve(opts.cwd, file);
  const root = path.dirname(configFile);
  let environments = (parsed.environments ?? []).map((e) => {
    let out = e.embedded ? { ...e, embedded: { dataDir: path.resolve(root, e.embedded.dataDir) } } : e;
    if (out.backup) out = { ...out, backup: { ...out.backup, dir: path.resolve(root, out.backup.dir), ...(out.backup.pgDump !== undefined && /[\\/]/.test(out.backup.pgDump) ? { pgDump: path.resolve(root, out.backup.pgDump) } : {}) } };
    return out;
  });
  let source: BulwarkConfig['source'] = 'file';
  // A file that only sets directories still lets DATABASE_URL (else the embedded database) define the
  // database, like no file at all.
  if (parsed.environments === undefined) {
    const fallback = defaultEnvironment(opts.env, root);
    environments = [fallback.environment];
    source = fallback.source;
  }
  const config: BulwarkConfig = {
    file: configFile,
    root,
    migrationsDir: opts.migrationsDir !== undefined
      ? path.resolve(opts.cwd, opts.migrationsDir)
      : path.resolve(root, parsed.migrationsDir ?? DEFAULT_MIGRATIONS_DIR),
    templateDir: path.resolve(root, parsed.templateDir ?? DEFAULT_TEMPLATE_DIR),
    history: { ...DEFAULT_HISTORY, ...parsed.history },
    environments,
    source,
  };
  if (parsed.lint !== undefined) config.lint = parsed.lint;
  return { config, problems: [] };
}

/** Like `validateConfig`, but throws one ConfigValidationError (a ConfigError) listing all problems. */
export function parseConfig(text: string, file: string, opts: LoadConfigOptions): BulwarkConfig {
  const { config, problems } = validateConfig(text, file, opts);
  if (problems.length > 0 || !config) throw new ConfigValidationError(problems);
  return config;
}

/**
 * Reads `opts.configPath`, else `bulwark.json` in `opts.cwd` (no walking up: the config of a parent
 * project must not be picked up by accident). Without a file, DATABASE_URL defines one environment.
 */
export function loadConfig(opts: LoadConfigOptions): BulwarkConfig {
  let file: string | undefined;
  if (opts.configPath !== undefined) {
    file = path.resolve(opts.cwd, opts.configPath);
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (!stat) {
      throw new ConfigError(`config file not found: ${file}`, {
        location: { file },
        hint: `check the --config path (relative paths are resolved against ${opts.cwd})`,
      });
    }
    if (stat.isDirectory()) file = path.join(file, CONFIG_FILE_NAME);
  } else {
    const candidate = path.join(opts.cwd, CONFIG_FILE_NAME);
    if (fs.existsSync(candidate)) file = candidate;
  }

  if (file === undefined) return noFileConfig(opts);

  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message;
    throw new ConfigError(`cannot read config file ${file}: ${reason}`, { location: { file }, cause: e });
  }
  return parseConfig(text, file, opts);
}

/**
 * The environment to work on: `name`, or the first one (the start of the promotion order, normally a
 * development database) when no name is given.
 */
export function findEnvironment(config: BulwarkConfig, name: string | undefined): EnvironmentConfig {
  const envs = config.environments;
  if (envs.length === 0) {
    const hint = `create ${CONFIG_FILE_NAME} in ${config.root}, for example:\n  ${MINIMAL_EXAMPLE}\n  or set DATABASE_URL=postgres://user@host:5432/dbname`;
    if (config.file) {
      throw new ConfigError(`no database environment configured: ${config.file} defines no environments`, {
        location: { file: config.file },
        hint:
          'add one to "environments", for example { "name": "dev", "url": "${env:DATABASE_URL}" }' +
          ' (a file without any "environments" setting uses DATABASE_URL when it is set)',
      });
    }
    throw new ConfigError(`no database configured: there is no ${CONFIG_FILE_NAME} in ${config.root} and DATABASE_URL is not set`, { hint });
  }
  if (name === undefined) return envs[0];
  const found = envs.find((e) => e.name === name);
  if (found) return found;

  const names = envs.map((e) => e.name);
  const guess = suggest(name, names);
  const didYouMean = guess ? `; did you mean "${guess}"?` : '.';
  if (config.source === 'DATABASE_URL') {
    throw new ConfigError(
      `unknown environment "${name}": the only environment is "${DEFAULT_ENVIRONMENT_NAME}", made from DATABASE_URL`,
      {
        location: config.file ? { file: config.file } : undefined,
        hint: `define named environments in ${CONFIG_FILE_NAME}, for example:\n  ${MINIMAL_EXAMPLE}`,
      },
    );
  }
  throw new ConfigError(`unknown environment "${name}"${didYouMean} The environments are: ${names.join(', ')}`, {
    location: config.file ? { file: config.file } : undefined,
  });
}

// ---------------------------------------------------------------------------------------------------
// Without a file

function noFileConfig(opts: LoadConfigOptions): BulwarkConfig {
  const fallback = defaultEnvironment(opts.env, opts.cwd);
  return {
    root: opts.cwd,
    migrationsDir: path.resolve(opts.cwd, opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR),
    templateDir: path.resolve(opts.cwd, DEFAULT_TEMPLATE_DIR),
    history: { ...DEFAULT_HISTORY },
    environments: [fallback.environment],
    source: fallback.source,
  };
}

/** Without configured environments: DATABASE_URL, else the embedded database in `<root>/.bulwark/local`. */
function defaultEnvironment(env: Record<string, string | undefined>, root: string): { environment: EnvironmentConfig; source: 'DATABASE_URL' | 'embedded' } {
  if (nonEmpty(env.DATABASE_URL)) return { environment: databaseUrlEnvironment(), source: 'DATABASE_URL' };
  return {
    environment: {
      name: LOCAL_ENVIRONMENT_NAME,
      embedded: { dataDir: path.join(root, EMBEDDED_DATA_FOLDER, LOCAL_ENVIRONMENT_NAME) },
      protected: false,
      lockWaitTimeoutMs: DEFAULT_LOCK_WAIT_TIMEOUT_MS,
    },
    source: 'embedded',
  };
}

function databaseUrlEnvironment(): EnvironmentConfig {
  // Kept as a reference, not the value: the URL holds the password and is expanded only to connect.
  return { name: DEFAULT_ENVIRONMENT_NAME, url: '${env:DATABASE_URL}', protected: false, lockWaitTimeoutMs: DEFAULT_LOCK_WAIT_TIMEOUT_MS };
}

function nonEmpty(s: string | undefined): s is string {
  return s !== undefined && s.trim() !== '';
}

// ---------------------------------------------------------------------------------------------------
// Validation

interface ParsedFile {
  migrationsDir?: string;
  templateDir?: string;
  history?: Partial<HistoryConfig>;
  environments?: EnvironmentConfig[];
  lint?: unknown;
}

interface Entry {
  key: Node;
  value: Node;
}

const SYNTAX_MESSAGES: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected ","',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected content after the end of the JSON object',
  InvalidCommentToken: 'invalid comment',
  UnexpectedEndOfComment: 'comment is not closed with */',
  UnexpectedEndOfString: 'string is not closed with "',
  UnexpectedEndOfNumber: 'number is incomplete',
  InvalidUnicode: 'invalid \\u escape',
  InvalidEscapeCharacter: 'invalid escape character in string',
  InvalidCharacter: 'invalid character in string (control characters must be escaped)',
};

/** Syntax errors after the first few are mostly consequences of the first. */
const MAX_SYNTAX_ERRORS = 5;

class Validator {
  readonly problems: ConfigProblem[] = [];
  /** Embedded data directories seen so far (normalised, relative to the file) → environment index. */
  private readonly embeddedDirs = new Map<string, number>();
  private readonly lineStarts: number[] = [0];

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 /* \n */) this.lineStarts.push(i + 1);
      else if (c === 13 /* \r */) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.lineStarts.push(i + 1);
      }
    }
  }

  run(): ParsedFile {
    const errors: ParseError[] = [];
    const root = parseTree(this.text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
    if (errors.length > 0) {
      for (const e of errors.slice(0, MAX_SYNTAX_ERRORS)) {
        const code = printParseErrorCode(e.error);
        this.reportAt(e.offset, e.length, '', `JSON syntax error: ${SYNTAX_MESSAGES[code] ?? code}`);
      }
      return {};
    }
    if (!root) {
      this.reportAt(0, 0, '', 'the file is empty; expected a JSON object', `for example:\n  ${MINIMAL_EXAMPLE}`);
      return {};
    }
    if (root.type !== 'object') {
      this.report(root, '', `the top level must be a JSON object { … }, not ${describeValue(root)}`, `for example:\n  ${MINIMAL_EXAMPLE}`);
      return {};
    }

    const entries = this.entries(root, '', TOP_KEYS, 'at the top level');
    const parsed: ParsedFile = {};
    const schema = entries.get('$schema');
    if (schema) this.string(schema.value, '$schema');
    const migrationsDir = entries.get('migrationsDir');
    if (migrationsDir) parsed.migrationsDir = this.directory(migrationsDir.value, 'migrationsDir');
    const templateDir = entries.get('templateDir');
    if (templateDir) parsed.templateDir = this.directory(templateDir.value, 'templateDir');
    const history = entries.get('history');
    if (history) parsed.history = this.history(history.value);
    const environments = entries.get('environments');
    if (environments) parsed.environments = this.environments(environments.value);
    const lint = entries.get('lint');
    if (lint) {
      if (lint.value.type !== 'object') this.report(lint.value, 'lint', `expected an object, got ${describeValue(lint.value)}`);
      else parsed.lint = plainValue(getNodeValue(lint.value));
    }
    return parsed;
  }

  // --- sections --------------------------------------------------------------------------------------

  private history(node: Node): Partial<HistoryConfig> | undefined {
    if (!this.object(node, 'history', 'an object like { "schema": "bulwark", "table": "migrations", "auditTable": "audit" }')) return undefined;
    const entries = this.entries(node, 'history', HISTORY_KEYS, 'in "history"');
    const out: Partial<HistoryConfig> = {};
    for (const key of HISTORY_KEYS) {
      const e = entries.get(key);
      if (!e) continue;
      const p = `history.${key}`;
      const s = this.string(e.value, p);
      if (s === undefined) continue;
      if (!IDENTIFIER_PATTERN.test(s)) {
        const lower = s.toLowerCase();
        this.report(
          e.value,
          p,
          `"${s}" is not a valid unquoted PostgreSQL identifier`,
          IDENTIFIER_PATTERN.test(lower) && !RESERVED_WORDS.has(lower)
            ? `did you mean "${lower}"? Unquoted identifiers are lower case`
            : 'use lower-case letters, digits, _ and $, starting with a letter or _, at most 63 characters',
        );
      } else if (RESERVED_WORDS.has(s)) {
        this.report(e.value, p, `"${s}" is a reserved word in PostgreSQL and cannot be used as an unquoted name`, `choose another name, e.g. "bulwark_${s}"`);
      } else {
        out[key] = s;
      }
    }
    const table = out.table ?? DEFAULT_HISTORY.table;
    const audit = entries.get('auditTable');
    if (audit && out.auditTable !== undefined && out.auditTable === table) {
      this.report(audit.value, 'history.auditTable', `must differ from history.table ("${table}"): they are two different tables`);
    }
    return out;
  }

  private environments(node: Node): EnvironmentConfig[] | undefined {
    if (node.type !== 'array') {
      this.report(
        node,
        'environments',
        `expected an array of environments in promotion order, got ${describeValue(node)}`,
        'write "environments": [ { "name": "dev", "url": "${env:DEV_DATABASE_URL}" }, { "name": "prod", … } ]',
      );
      return undefined;
    }
    const items = node.children ?? [];
    // All names, for messages about the promotion order.
    const allNames = items.map((item) => {
      if (item.type !== 'object') return undefined;
      const nameProp = (item.children ?? []).find((p) => p.children?.[0]?.value === 'name');
      const v = nameProp?.children?.[1];
      return v?.type === 'string' ? (v.value as string) : undefined;
    });
    const seen = new Map<string, { index: number; line: number }>();
    const out: EnvironmentConfig[] = [];
    items.forEach((item, index) => {
      const env = this.environment(item, index, seen, allNames);
      if (env) out.push(env);
    });
    return out;
  }

  private environment(
    node: Node,
    index: number,
    seen: Map<string, { index: number; line: number }>,
    allNames: (string | undefined)[],
  ): EnvironmentConfig | undefined {
    const base = `environments[${index}]`;
    if (!this.object(node, base, 'an environment object like { "name": "dev", "url": "${env:DATABASE_URL}" }')) return undefined;
    const entries = this.entries(node, base, ENV_KEYS, 'in an environment', (key) =>
      (CONNECTION_KEYS as readonly string[]).includes(key) ? `"${key}" belongs inside "connection": { "${key}": … }` : undefined,
    );
    const sources: Record<string, SettingSource> = {};
    const track = (setting: string, value: Node): void => {
      sources[setting] = { path: `${base}.${setting}`, ...this.loc(value.offset) };
    };
    for (const [key, e] of entries) if (key !== 'connection') track(key, e.value);

    let ok = true;
    const fail = (): undefined => {
      ok = false;
      return undefined;
    };

    // name
    let name: string | undefined;
    const nameEntry = entries.get('name');
    if (!nameEntry) {
      this.report(node, base, 'missing "name"', 'every environment needs a name, e.g. "dev" or "prod"');
      fail();
    } else {
      name = this.string(nameEntry.value, `${base}.name`);
      if (name === undefined) fail();
      else if (!ENV_NAME_PATTERN.test(name)) {
        this.report(
          nameEntry.value,
          `${base}.name`,
          `"${name}" is not a valid environment name`,
          'use 1 to 32 characters: lower-case letters, digits, _ and -, starting with a letter' +
            (ENV_NAME_PATTERN.test(name.toLowerCase()) ? ` (e.g. "${name.toLowerCase()}")` : ''),
        );
        name = fail();
      } else {
        const previous = seen.get(name);
        if (previous) {
          this.report(nameEntry.value, `${base}.name`, `"${name}" is already the name of environments[${previous.index}] (line ${previous.line})`, 'environment names must be unique');
          name = fail();
        } else {
          seen.set(name, { index, line: this.loc(nameEntry.value.offset).line });
        }
      }
    }
    const label = name ?? base;

    // url / connection / embedded
    const urlEntry = entries.get('url');
    const connEntry = entries.get('connection');
    const embeddedEntry = entries.get('embedded');
    let url: string | undefined;
    let connection: ConnectionSettings | undefined;
    let embedded: EmbeddedSettings | undefined;
    if (embeddedEntry) {
      const e = this.embedded(embeddedEntry.value, `${base}.embedded`, name);
      if (e === null) fail();
      else embedded = e;
    }
    if (urlEntry && connEntry) {
      this.report(connEntry.key, `${base}.connection`, 'an environment has either "url" or "connection", not both', 'keep one of them');
      fail();
    } else if (embedded && (urlEntry || connEntry)) {
      const other = urlEntry ? 'url' : 'connection';
      this.report(embeddedEntry!.key, `${base}.embedded`, `an environment is either embedded or has "${other}", not both`, `remove "embedded" or "${other}"`);
      fail();
    } else if (!urlEntry && !connEntry && !embedded && !(embeddedEntry && !ok)) {
      this.report(
        node,
        base,
        `environment "${label}" needs "url" or "connection" (or "embedded": true for the embedded PostgreSQL)`,
        'e.g. "url": "${env:DATABASE_URL}" or "connection": { "host": "localhost", "database": "app", "user": "me" }',
      );
      fail();
    }
    if (embedded && embeddedEntry) {
      const key = path.posix.normalize(embedded.dataDir.replace(/\\/g, '/')).replace(/(.)\/+$/, '$1');
      const previous = this.embeddedDirs.get(key);
      if (previous !== undefined) {
        this.report(embeddedEntry.value, `${base}.embedded`, `environments[${previous}] uses the same embedded data directory ("${embedded.dataDir}")`, 'give each embedded environment its own "dataDir"');
        fail();
      } else this.embeddedDirs.set(key, index);
    }
    if (urlEntry) {
      url = this.url(urlEntry.value, `${base}.url`);
      if (url === undefined) fail();
    }
    if (connEntry) {
      connection = this.connection(connEntry.value, `${base}.connection`, (setting, value) => track(`connection.${setting}`, value));
      if (connection === undefined) fail();
    }

    // protected
    let isProtected = false;
    const prot = entries.get('protected');
    if (prot) {
      if (prot.value.type !== 'boolean') {
        this.report(prot.value, `${base}.protected`, `expected true or false, got ${describeValue(prot.value)}`);
        fail();
      } else isProtected = prot.value.value === true;
    }

    // requires
    let requires: string | undefined;
    const req = entries.get('requires');
    if (req) {
      requires = this.string(req.value, `${base}.requires`);
      if (requires === undefined) fail();
      else if (requires === name) {
        this.report(req.value, `${base}.requires`, `"${name}" cannot require itself`, 'name the environment that must be migrated before this one');
        requires = fail();
      } else if (!seen.has(requires) || seen.get(requires)!.index >= index) {
        const order = [...new Set(allNames.filter((n): n is string => n !== undefined))].join(', ');
        const later = allNames.indexOf(requires) > index;
        this.report(
          req.value,
          `${base}.requires`,
          `"${requires}" is not an environment defined before "${label}"; the promotion order is the order of "environments" (${order})`,
          later
            ? `move "${requires}" above "${label}" in "environments", or fix "requires"`
            : `"requires" names the environment that must be migrated before this one` +
                (suggest(requires, [...seen.keys()]) ? `; did you mean "${suggest(requires, [...seen.keys()])}"?` : ''),
        );
        requires = fail();
      }
    }

    // timeouts
    const lockTimeout = this.duration(entries.get('lockTimeout'), `${base}.lockTimeout`);
    const statementTimeout = this.duration(entries.get('statementTimeout'), `${base}.statementTimeout`);
    const lockWaitTimeout = this.duration(entries.get('lockWaitTimeout'), `${base}.lockWaitTimeout`);
    if (lockTimeout === null || statementTimeout === null || lockWaitTimeout === null) fail();

    // color
    let color: string | undefined;
    const colorEntry = entries.get('color');
    if (colorEntry) {
      color = this.string(colorEntry.value, `${base}.color`);
      if (color === undefined) fail();
    }

    // backup: on by default for protected server environments
    let backup: BackupSettings | undefined;
    const backupEntry = entries.get('backup');
    if (backupEntry) {
      const b = this.backup(backupEntry.value, `${base}.backup`);
      if (b === null) fail();
      else if (b && embedded) {
        this.report(backupEntry.value, `${base}.backup`, 'backups use pg_dump, which cannot reach the embedded PostgreSQL', 'remove "backup" (copy the embedded data directory to keep a copy)');
        fail();
      } else backup = b;
    } else if (isProtected && !embedded) {
      backup = { dir: DEFAULT_BACKUP_DIR, data: 'touched', explicit: false };
    }

    if (!ok || name === undefined) return undefined;
    const env: EnvironmentConfig = {
      name,
      protected: isProtected,
      lockWaitTimeoutMs: lockWaitTimeout ? lockWaitTimeout.ms : DEFAULT_LOCK_WAIT_TIMEOUT_MS,
      location: this.loc(node.offset),
      sources,
    };
    if (url !== undefined) env.url = url;
    if (connection !== undefined) env.connection = connection;
    if (embedded !== undefined) env.embedded = embedded;
    if (requires !== undefined) env.requires = requires;
    if (lockTimeout) {
      env.lockTimeoutMs = lockTimeout.ms;
      env.lockTimeout = lockTimeout.text;
    }
    if (statementTimeout) {
      env.statementTimeoutMs = statementTimeout.ms;
      env.statementTimeout = statementTimeout.text;
    }
    if (color !== undefined) env.color = color;
    if (backup !== undefined) env.backup = backup;
    return env;
  }

  /**
   * `"backup": true | false` or `{ "enabled": true, "dir": ".bulwark/backups", "pgDump": "/usr/lib/postgresql/16/bin/pg_dump",
   * "data": "touched" | "all" }`. undefined = no backups; null = invalid (reported).
   */
  private backup(node: Node, p: string): BackupSettings | undefined | null {
    if (node.type === 'boolean') return node.value === true ? { dir: DEFAULT_BACKUP_DIR, data: 'touched', explicit: true } : undefined;
    if (node.type !== 'object') {
      this.report(node, p, `expected true, false or an object like { "dir": ".bulwark/backups", "data": "touched" }, got ${describeValue(node)}`);
      return null;
    }
    const entries = this.entries(node, p, BACKUP_KEYS, 'in "backup"');
    if ((node.children ?? []).length !== entries.size) return null;
    let ok = true;
    const out: BackupSettings = { dir: DEFAULT_BACKUP_DIR, data: 'touched', explicit: true };
    let enabled = true;
    const en = entries.get('enabled');
    if (en) {
      if (en.value.type !== 'boolean') {
        this.report(en.value, `${p}.enabled`, `expected true or false, got ${describeValue(en.value)}`);
        ok = false;
      } else enabled = en.value.value === true;
    }
    for (const key of ['dir', 'pgDump'] as const) {
      const e = entries.get(key);
      if (!e) continue;
      const s = this.string(e.value, `${p}.${key}`);
      if (s === undefined) ok = false;
      else if (s.trim() === '') {
        this.report(e.value, `${p}.${key}`, 'must not be empty');
        ok = false;
      } else out[key] = s;
    }
    const data = entries.get('data');
    if (data) {
      const s = this.string(data.value, `${p}.data`);
      if (s === undefined) ok = false;
      else if (s !== 'touched' && s !== 'all') {
        this.report(data.value, `${p}.data`, `expected "touched" (the rows of the tables the migrations change) or "all", got "${s}"`);
        ok = false;
      } else out.data = s;
    }
    if (!ok) return null;
    return enabled ? out : undefined;
  }

  /**
   * `"embedded": true` (data in `.bulwark/<name>`), `false` (not embedded), or `{ "dataDir": "…" }`
   * (relative to bulwark.json). The dataDir returned is still relative; null when invalid (reported).
   */
  private embedded(node: Node, p: string, name: string | undefined): EmbeddedSettings | undefined | null {
    const defaultDir = path.join(EMBEDDED_DATA_FOLDER, name ?? LOCAL_ENVIRONMENT_NAME);
    if (node.type === 'boolean') return node.value === true ? { dataDir: defaultDir } : undefined;
    if (node.type !== 'object') {
      this.report(node, p, `expected true or an object like { "dataDir": ".bulwark/${name ?? 'local'}" }, got ${describeValue(node)}`);
      return null;
    }
    const entries = this.entries(node, p, EMBEDDED_KEYS, 'in "embedded"');
    if ((node.children ?? []).length !== entries.size) return null;
    const dir = entries.get('dataDir');
    if (!dir) return { dataDir: defaultDir };
    const s = this.string(dir.value, `${p}.dataDir`);
    if (s === undefined) return null;
    if (s.trim() === '') {
      this.report(dir.value, `${p}.dataDir`, 'is empty', `use a folder path relative to bulwark.json, e.g. ".bulwark/${name ?? 'local'}", or remove it for that default`);
      return null;
    }
    if (hasEnvRefs(s)) {
      this.report(dir.value, `${p}.dataDir`, '${env:…} references are not expanded here', 'write the folder path itself, relative to bulwark.json');
      return null;
    }
    return { dataDir: s };
  }

  private url(node: Node, p: string): string | undefined {
    // Never quote the value back: it may contain a password.
    const url = this.string(node, p, { sensitive: true });
    if (url === undefined) return undefined;
    if (url.trim() === '') {
      this.report(node, p, 'is empty', 'use a postgres:// URL or ${env:VAR}');
      return undefined;
    }
    if (!this.envRefSyntax(node, p, url)) return undefined;
    // Placeholders contain neither ':' nor '@', so references cannot confuse the userinfo parsing.
    const literal = withoutEnvRefs(url, '\u0001').trim();
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(literal);
    if (scheme ? !/^postgres(?:ql)?$/i.test(scheme[1]) : !hasEnvRefs(url)) {
      this.report(
        node,
        p,
        'must be a postgres:// or postgresql:// URL, or contain ${env:VAR} references' + (scheme ? ` (found "${scheme[1]}://")` : ''),
        'e.g. "postgres://deploy@db.example.com:5432/app" or "${env:DATABASE_URL}"',
      );
      return undefined;
    }
    const span = urlPasswordSpan(literal);
    const literalPassword = span !== undefined && literal.slice(span.start, span.end).replace(/\u0001/g, '') !== '';
    const queryPassword = [...literal.matchAll(/[?&](?:ssl)?password=([^&#]*)/gi)].some((m) => m[1].replace(/\u0001/g, '') !== '');
    if (literalPassword || queryPassword) {
      this.report(
        node,
        p,
        'the URL contains a password; passwords must not be written in bulwark.json',
        PASSWORD_HINT + (literalPassword && !queryPassword ? ` (if there is no password, encode any "@" after the host as %40)` : ''),
      );
      return undefined;
    }
    return url;
  }

  private connection(node: Node, p: string, track: (setting: string, value: Node) => void): ConnectionSettings | undefined {
    if (!this.object(node, p, 'an object like { "host": "localhost", "port": 5432, "database": "app", "user": "me" }')) return undefined;
    const entries = this.entries(node, p, CONNECTION_KEYS, 'in "connection"');
    const out: ConnectionSettings = {};
    let ok = true;
    for (const [key, e] of entries) {
      track(key, e.value);
      const kp = `${p}.${key}`;
      switch (key) {
        case 'host':
        case 'database':
        case 'user': {
          const s = this.string(e.value, kp);
          if (s === undefined || !this.envRefSyntax(e.value, kp, s)) ok = false;
          else if (s === '') {
            this.report(e.value, kp, 'is empty', 'remove the setting to use the libpq default');
            ok = false;
          } else out[key] = s;
          break;
        }
        case 'port': {
          const n = e.value.value as unknown;
          if (e.value.type !== 'number' || !Number.isInteger(n) || (n as number) < 1 || (n as number) > 65535) {
            this.report(
              e.value,
              kp,
              `expected an integer from 1 to 65535, got ${describeValue(e.value)}`,
              e.value.type === 'string' && /^\d+$/.test(String(n)) ? `write ${String(n)} without quotes` : 'the PostgreSQL default is 5432',
            );
            ok = false;
          } else out.port = n as number;
          break;
        }
        case 'sslmode': {
          const s = this.string(e.value, kp);
          if (s === undefined || !this.envRefSyntax(e.value, kp, s)) ok = false;
          else if (!hasEnvRefs(s) && !(SSL_MODES as readonly string[]).includes(s)) {
            const guess = suggest(s, SSL_MODES);
            this.report(e.value, kp, `"${s}" is not an sslmode${guess ? `; did you mean "${guess}"?` : ''}`, `use one of ${SSL_MODES.join(', ')}`);
            ok = false;
          } else out.sslmode = s;
          break;
        }
        case 'passwordEnv': {
          // Not quoted back: someone may have put the password itself here.
          const s = this.string(e.value, kp, { sensitive: true });
          if (s === undefined) ok = false;
          else if (!ENV_NAME_RE.test(s)) {
            const refs = envRefNames(s);
            this.report(
              e.value,
              kp,
              'must be the name of an environment variable (letters, digits and _), not a value',
              refs.length === 1 ? `write "${refs[0]}": passwordEnv takes the variable's name, not a \${env:…} reference` : `e.g. "passwordEnv": "PGPASSWORD_PROD"; ${PASSWORD_HINT}`,
            );
            ok = false;
          } else out.passwordEnv = s;
          break;
        }
      }
    }
    return ok ? out : undefined;
  }

  /** A duration setting: undefined when absent, null when invalid (already reported). */
  private duration(entry: Entry | undefined, p: string): { ms: number; text: string } | undefined | null {
    if (!entry) return undefined;
    const node = entry.value;
    if (node.type !== 'string' && node.type !== 'number') {
      this.report(node, p, `expected a duration such as "2s", got ${describeValue(node)}`, DURATION_HINT);
      return null;
    }
    const r = parseDuration(node.value);
    if (!r.ok) {
      this.report(node, p, r.message, r.hint);
      return null;
    }
    return { ms: r.ms, text: r.text };
  }

  private directory(node: Node, p: string): string | undefined {
    const s = this.string(node, p);
    if (s === undefined) return undefined;
    if (s.trim() === '') {
      this.report(node, p, 'is empty', 'use a folder path relative to bulwark.json, e.g. "migrations"');
      return undefined;
    }
    return s;
  }

  // --- helpers ---------------------------------------------------------------------------------------

  private envRefSyntax(node: Node, p: string, s: string): boolean {
    const bad = malformedEnvRef(s);
    if (!bad) return true;
    this.report(node, p, `invalid reference "${bad.text}"`, bad.hint);
    return false;
  }

  private object(node: Node, p: string, expected: string): boolean {
    if (node.type === 'object') return true;
    this.report(node, p, `expected ${expected}, got ${describeValue(node)}`);
    return false;
  }

  private string(node: Node, p: string, opts: { sensitive?: boolean } = {}): string | undefined {
    if (node.type === 'string') return node.value as string;
    this.report(node, p, `expected a string, got ${describeValue(node, opts.sensitive)}`);
    return undefined;
  }

  /**
   * The properties of `obj`, keyed by name. Reports unknown names (with a likely correction and the
   * allowed names), duplicates, and a `password` anywhere (with the hint where passwords go instead).
   */
  private entries(
    obj: Node,
    p: string,
    allowed: readonly string[],
    where: string,
    misplaced?: (key: string) => string | undefined,
  ): Map<string, Entry> {
    const out = new Map<string, Entry>();
    for (const prop of obj.children ?? []) {
      const [key, value] = prop.children ?? [];
      if (!key || !value) continue;
      const name = key.value as string;
      const kp = joinPath(p, name);
      if (/^(?:pg|ssl)?password$/i.test(name)) {
        this.report(key, kp, 'passwords must not be written in bulwark.json', PASSWORD_HINT);
        continue;
      }
      if (!allowed.includes(name)) {
        const guess = suggest(name, allowed);
        this.report(
          key,
          kp,
          `unknown setting "${name}" ${where}${guess ? `; did you mean "${guess}"?` : '.'} Allowed: ${allowed.join(', ')}`,
          misplaced?.(name),
        );
        continue;
      }
      const previous = out.get(name);
      if (previous) {
        this.report(key, kp, `"${name}" is set twice (also on line ${this.loc(previous.key.offset).line})`, 'remove one of them');
        continue;
      }
      out.set(name, { key, value });
    }
    return out;
  }

  private loc(offset: number): ConfigLocation {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, column: offset - this.lineStarts[lo] + 1 };
  }

  private report(node: Node, p: string, message: string, hint?: string): void {
    this.reportAt(node.offset, node.length, p, message, hint);
  }

  private reportAt(offset: number, length: number, p: string, message: string, hint?: string): void {
    const problem: ConfigProblem = { path: p, message, location: this.loc(offset), offset, length };
    if (hint !== undefined) problem.hint = hint;
    this.problems.push(problem);
  }
}

/**
 * jsonc-parser builds objects without a prototype; the linter gets ordinary ones (`Object.fromEntries`
 * defines a `__proto__` key as a plain property, so a hostile file cannot change a prototype).
 */
function plainValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainValue);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainValue(x)]));
  return v;
}

function joinPath(parent: string, key: string): string {
  const part = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
  if (!parent) return part;
  return part.startsWith('"') ? `${parent}[${part}]` : `${parent}.${part}`;
}

/** "the string "x"", "the number 5"… for type errors; `sensitive` values are not quoted back. */
function describeValue(node: Node, sensitive = false): string {
  switch (node.type) {
    case 'string': {
      if (sensitive) return 'a string';
      const s = node.value as string;
      return `the string ${JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s)}`;
    }
    case 'number':
      return sensitive ? 'a number' : `the number ${String(node.value)}`;
    case 'boolean':
      return String(node.value);
    case 'null':
      return 'null';
    case 'array':
      return 'an array';
    case 'object':
      return 'an object';
    default:
      return node.type;
  }
}
