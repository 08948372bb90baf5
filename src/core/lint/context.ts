import { byteOffsetToIndex } from '../sql/text';
import { as, RangeVar, relationName, walk } from './ast';
import type { AstNode } from './parser';
import type { StatementTokens } from './tokens';
import type { Finding, Fix, RuleSetting, Severity, StatementInfo } from './types';

export interface SectionInfo {
  kind: 'up' | 'down' | 'file';
  /** Runs in a transaction (Bulwark's marker option, or the assumption for other tools' files). */
  transaction: boolean;
  /** UTF-16 offsets of the section's SQL in the file. */
  start: number;
  end: number;
  /** The marker line (`-- migrate:up …`), for fixes that change the transaction mode. */
  marker?: { start: number; end: number; text: string };
}

export interface LintSettings {
  /** Target PostgreSQL major version. */
  pgVersion: number;
  /** For files without Bulwark markers: does the runner wrap each file in a transaction? */
  assumeInTransaction: boolean;
  /** The runner sets lock_timeout itself (every Bulwark environment has "lockTimeout"). */
  lockTimeoutByRunner: boolean;
  rules: Record<string, RuleSetting>;
}

/**
 * What the file has done so far (statements before the current one), so rules judge a statement in its
 * context: objects created earlier are new (nobody else can be blocked by their locks), a lock_timeout
 * set earlier protects later DDL, an ACCESS EXCLUSIVE lock taken earlier in the transaction is still held.
 */
export class FileState {
  /** Relations created earlier in the section (bare and schema-qualified names). */
  readonly created = new Set<string>();
  /** Constraints added NOT VALID earlier in the current transaction: `table/constraint`. */
  readonly notValidInTx = new Set<string>();
  /** Columns with a validated `CHECK (col IS NOT NULL)` added earlier: `table/column`. */
  readonly notNullChecks = new Set<string>();
  /** `CHECK (col IS NOT NULL) NOT VALID` constraints awaiting VALIDATE: `table/constraint` → column. */
  readonly pendingNotNull = new Map<string, string>();
  /** Existing tables locked ACCESS EXCLUSIVE earlier in the current transaction (with the statement that did). */
  readonly exclusiveInTx = new Map<string, number>();
  lockTimeoutSet = false;
  /** The runner sets lock_timeout for every migration (from the environment configuration). */
  lockTimeoutByRunner = false;
  /** The lock_timeout was set with SET LOCAL inside an explicit transaction: it ends with it. */
  lockTimeoutLocal = false;
  /** Inside an explicit BEGIN … COMMIT of the file. */
  explicitTx = false;
  /** Offset of the explicit BEGIN, if any. */
  explicitTxStart?: number;

  isNew(rv: RangeVar | string | undefined): boolean {
    if (!rv) return false;
    const name = typeof rv === 'string' ? rv : relationName(rv);
    if (this.created.has(name)) return true;
    const bare = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : name;
    return this.created.has(bare);
  }

  markCreated(rv: RangeVar | string | undefined): void {
    if (!rv) return;
    const name = typeof rv === 'string' ? rv : relationName(rv);
    this.created.add(name);
    if (name.includes('.')) this.created.add(name.slice(name.lastIndexOf('.') + 1));
  }

  /** Called at COMMIT/ROLLBACK (or between sections): transaction-scoped facts end. */
  endTransaction(): void {
    this.notValidInTx.clear();
    this.exclusiveInTx.clear();
    if (this.lockTimeoutLocal) {
      this.lockTimeoutSet = this.lockTimeoutByRunner;
      this.lockTimeoutLocal = false;
    }
  }
}

/** What a rule sees: the statement, the file so far, and a way to report. */
export class RuleContext {
  ruleId = '';
  severity: Severity = 'warning';
  constructor(
    readonly text: string,
    readonly settings: LintSettings,
    readonly section: SectionInfo,
    readonly state: FileState,
    readonly findingsSink: (f: Finding) => void,
    /** Whether parses go through the shared parse cache (LintOptions.cache). */
    readonly cacheParses = true,
  ) {}

  /** End of the word at `at`, not beyond `limit`. */
  wordAtIn(at: number, limit: number): number {
    let e = at;
    while (e < limit && /[\p{L}\p{N}_$"]/u.test(this.text[e])) e++;
    return e;
  }

  private _stmt!: StatementInfo;
  private _nodes?: Map<string, AstNode[]>;
  /** The current statement's tokens (see tokens.ts: lexerOf() and the views), made on first use. */
  tokenCache: StatementTokens | undefined = undefined;

  get stmt(): StatementInfo {
    return this._stmt;
  }
  set stmt(s: StatementInfo) {
    this._stmt = s;
    this._nodes = undefined;
    this.tokenCache = undefined;
  }

  /**
   * Every node of a type inside the current statement (the statement node included), from one shared
   * walk per statement, so rules do not each traverse the tree.
   */
  nodes(type: string): AstNode[] {
    if (!this._nodes) {
      const m = new Map<string, AstNode[]>();
      walk(this._stmt.node, (t, v) => {
        let l = m.get(t);
        if (!l) m.set(t, (l = []));
        l.push(v);
      });
      this._nodes = m;
    }
    return this._nodes.get(type) ?? [];
  }
  /** Where the current statement's text began in what the parser was given: AST locations count from there. */
  locationBase = 0;
  /** The parsed text of the current statement (psql variables masked, same length as the original). */
  private _parsedText = '';
  private _ascii: boolean | undefined = true;
  get parsedText(): string {
    return this._parsedText;
  }
  set parsedText(t: string) {
    this._parsedText = t;
    this.tokenCache = undefined;
    // Byte offsets equal string indexes in ASCII text: the common case needs no conversion (checked on
    // the first offset asked: most statements never ask).
    this._ascii = undefined;
  }

  get pgVersion(): number {
    return this.settings.pgVersion;
  }

  /** File offset of an AST `location` (a UTF-8 byte offset in the statement). */
  offset(location: number | undefined): number {
    if (location === undefined || location < 0) return this.stmt.start;
    const local = location - this.locationBase;
    this._ascii ??= !NON_ASCII.test(this._parsedText);
    return this.stmt.start + (this._ascii ? local : byteOffsetToIndex(this._parsedText, local));
  }

  /** The range of a word (identifier/keyword) starting at a file offset. */
  wordAt(offset: number): { start: number; end: number } {
    let end = offset;
    const t = this.text;
    if (t[end] === '"') {
      end = t.indexOf('"', end + 1) + 1 || end + 1;
    } else {
      while (end < this.stmt.end && /[\p{L}\p{N}_$.]/u.test(t[end])) end++;
    }
    return { start: offset, end: Math.max(end, offset + 1) };
  }

  /** Find `re` in the current statement's text (a plain regex: it also matches inside comments and strings), returning a file range. */
  find(re: RegExp, from = 0): { start: number; end: number } | undefined {
    const src = this.stmt.text.slice(from);
    const m = re.exec(src);
    if (!m) return undefined;
    return { start: this.stmt.start + from + m.index, end: this.stmt.start + from + m.index + m[0].length };
  }

  report(f: { message: string; start?: number; end?: number; fixes?: Fix[]; severity?: Severity }): void {
    const start = f.start ?? this.stmt.start;
    const end = f.end ?? (f.start !== undefined ? this.wordAt(f.start).end : firstLineEnd(this.text, this.stmt.start, this.stmt.end));
    this.findingsSink({ rule: this.ruleId, severity: f.severity ?? this.severity, message: f.message, start, end, ...(f.fixes?.length ? { fixes: f.fixes } : {}) });
  }

  /** Insert `text` at a file offset (a one-edit fix). */
  insert(title: string, at: number, text: string): Fix {
    return { title, edits: [{ start: at, end: at, text }] };
  }

  /** A fix that turns the section's marker into `transaction:false` (Bulwark files only). */
  markerNoTransactionEdit(): Fix['edits'] {
    const m = this.section.marker;
    if (!m) return [];
    const opt = /\btransaction:(true|false)\b/.exec(m.text);
    if (opt) return [{ start: m.start + opt.index, end: m.start + opt.index + opt[0].length, text: 'transaction:false' }];
    return [{ start: m.end, end: m.end, text: ' transaction:false' }];
  }
}

const NON_ASCII = /[^\x00-\x7f]/;

function firstLineEnd(text: string, start: number, end: number): number {
  const nl = text.indexOf('\n', start);
  return nl < 0 || nl > end ? end : nl;
}

export { as };
