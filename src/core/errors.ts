/**
 * Typed errors of the core. Every error has a stable `code` (for JSON output and tests) and a message
 * that says what happened and what to do. Where an error is about a file or a config setting, it names
 * the file and the 1-based line and column.
 */
export type ErrorCode =
  | 'CONFIG'
  | 'MIGRATION_FILE'
  | 'CONNECTION'
  | 'LOCK_HELD'
  | 'MIGRATION_FAILED'
  | 'REFUSED'
  | 'NOT_FOUND'
  | 'USAGE'
  | 'INTERNAL';

export interface SourceLocation {
  file: string;
  /** 1-based */
  line?: number;
  /** 1-based */
  column?: number;
}

export class BulwarkError extends Error {
  readonly code: ErrorCode;
  readonly location?: SourceLocation;
  readonly hint?: string;
  constructor(code: ErrorCode, message: string, opts: { location?: SourceLocation; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.location = opts.location;
    this.hint = opts.hint;
  }

  /** `file:line:col: message` (compiler style), plus the hint on its own line. */
  describe(): string {
    const where = this.location ? formatLocation(this.location) + ': ' : '';
    return where + this.message + (this.hint ? `\n  hint: ${this.hint}` : '');
  }
}

export function formatLocation(loc: SourceLocation): string {
  let s = loc.file;
  if (loc.line !== undefined) {
    s += `:${loc.line}`;
    if (loc.column !== undefined) s += `:${loc.column}`;
  }
  return s;
}

/** A wrong setting in the workspace configuration (names the file, line and the setting's path). */
export class ConfigError extends BulwarkError {
  constructor(message: string, opts: { location?: SourceLocation; hint?: string; cause?: unknown } = {}) {
    super('CONFIG', message, opts);
  }
}

/** A migration file that cannot be used as it is (bad name, markers, encoding…). */
export class MigrationFileError extends BulwarkError {
  constructor(message: string, opts: { location?: SourceLocation; hint?: string; cause?: unknown } = {}) {
    super('MIGRATION_FILE', message, opts);
  }
}

export class ConnectionError extends BulwarkError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super('CONNECTION', message, opts);
  }
}

/** A safety gate said no: protected environment without confirmation, promotion order, irreversible… */
export class RefusedError extends BulwarkError {
  constructor(message: string, opts: { location?: SourceLocation; hint?: string } = {}) {
    super('REFUSED', message, opts);
  }
}

export class UsageError extends BulwarkError {
  constructor(message: string, opts: { hint?: string } = {}) {
    super('USAGE', message, opts);
  }
}

export function isBulwarkError(e: unknown): e is BulwarkError {
  return e instanceof BulwarkError;
}
