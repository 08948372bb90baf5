import type { AstNode } from './parser';

export type Severity = 'error' | 'warning' | 'info';
export type RuleSetting = Severity | 'off';

/** A replacement in the linted text; offsets are UTF-16 indexes into the whole file. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

export interface Fix {
  title: string;
  edits: TextEdit[];
}

/** One problem; offsets (UTF-16, into the whole file) so editors map them with positionAt. */
export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  start: number;
  end: number;
  fixes?: Fix[];
}

export type RuleCategory = 'idempotency' | 'locking' | 'data-loss' | 'transactions' | 'style' | 'syntax';

export interface RuleDoc {
  id: string;
  category: RuleCategory;
  defaultSeverity: RuleSetting;
  /** One line: what the rule flags. */
  summary: string;
  /** Why it matters in production and what to do instead (markdown). */
  details: string;
  /** A statement that is flagged and its safe alternative. */
  bad?: string;
  good?: string;
}

/** Facts about a relation the file already touched, for "new object" exemptions and cross-statement rules. */
export interface StatementInfo {
  /** The statement node, e.g. `{ CreateStmt: {...} }`; undefined for psql meta-commands and unparsable text. */
  node?: AstNode;
  /** The node's type name, e.g. 'CreateStmt'. */
  type?: string;
  /** The statement's text as in the file (psql variables NOT masked). */
  text: string;
  /** UTF-16 offsets in the file. */
  start: number;
  end: number;
  /** Offset just past its terminating ';' (where an appended clause would go is `end`). */
  terminatorEnd: number;
  /** Runs inside a transaction (the section's mode, or an explicit BEGIN … COMMIT). */
  inTransaction: boolean;
  /** 0-based index among the section's statements. */
  index: number;
  /** Statement is inside a PL/pgSQL body (DO / function) rather than top level. */
  embedded?: boolean;
}
