import type { Rule } from '../lint';

/** Rules implemented by the linter itself (parsing and suppression); listed here for configuration and docs. */
export const metaRules: Rule[] = [
  {
    id: 'syntax-error',
    category: 'syntax',
    defaultSeverity: 'error',
    summary: 'The statement does not parse with the PostgreSQL 18 grammar.',
    details:
      'The migration would fail at this statement. Each statement is parsed on its own, so one error does not hide problems in the rest of the file. The position is where PostgreSQL\'s parser stopped.',
    bad: 'CREATE TABEL users (id bigint);',
    good: 'CREATE TABLE users (id bigint);',
  },
  {
    id: 'unused-ignore',
    category: 'syntax',
    defaultSeverity: 'warning',
    summary: 'A `-- bulwark-ignore` comment that suppresses nothing, or names an unknown rule.',
    details:
      'Stale ignore comments hide the next real problem. `-- bulwark-ignore rule-a, rule-b` applies to the next statement; `-- bulwark-ignore-file rule-a` to the whole file. Remove the comment, or fix the rule name.',
    bad: '-- bulwark-ignore ban-drop-table\nCREATE TABLE t (id bigint);',
  },
];
