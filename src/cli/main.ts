import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import {
  apply, baseline, BulwarkConfig, BulwarkError, consistency, createMigration, dryRun, EmbeddedLockedError, Engine, EnvironmentStatus, history, loadConfig,
  LockHeldError, markApplied, MigrationState, osUser, plan, Redactor, RefusedError, repair, rollback, RunResult, TOOL_VERSION, unlock,
  UsageError, verify,
} from '../core';
import { firstLine, ms, Out, style, useColor, withInterrupt } from './output';
import { replayCommand } from './replay';

/**
 * Exit codes that scripts and CI rely on:
 *   0  success
 *   1  error: a migration failed, a file or setting is wrong, the database is unreachable, the lock is held
 *   2  findings: `status --exit-code` found pending/failed/drifted migrations; `verify`/`consistency` found problems
 *   3  refused by a safety gate: protected environment without confirmation, promotion order, irreversible…
 *   64 usage: unknown command or option
 *   130 interrupted: Ctrl-C cancelled an apply or rollback (the running migration was rolled back)
 */
export const EXIT = { OK: 0, ERROR: 1, FINDINGS: 2, REFUSED: 3, USAGE: 64, INTERRUPTED: 130 } as const;

const COMMON = `Options for every command:
  --env NAME             environment from bulwark.json (default: the first one)
  --config FILE          configuration file (default: ./bulwark.json)
  --migrations-dir DIR   migrations folder (default: "migrationsDir" of bulwark.json, else ./migrations)
  --json                 print one JSON document on stdout (stable, for CI)
  -h, --help             help for the command`;

const HELP: Record<string, string> = {
  '': `bulwark ${TOOL_VERSION} — safe PostgreSQL migrations

Usage: bulwark <command> [options]

Commands:
  status        state of every migration on an environment, or on all of them (the matrix)
  plan          what apply would run, in order, with its SQL and transaction mode
  apply         apply pending migrations (each in its own transaction, under an advisory lock)
  rollback      run the down section of the last applied migration (or of VERSION)
  dry-run       rehearse pending migrations inside BEGIN … ROLLBACK: timings, rows, locks, rewrites
  verify        check checksums, missing files, out-of-order files and failures (exit 2 on problems);
                --replay: replay every up, down and up again on a shadow database
  consistency   compare environments: what is ready to promote, every mismatch (exit 2 on problems)
  new NAME      create migrations/<timestamp>_<name>.sql from the template
  baseline V    record every migration up to V as applied without running it (adopt a database)
  mark-applied V  record one migration as applied without running it
  repair [V]    explain what needs repair; with V, --resolve applied|rolled-back or --accept-checksum
  history [V]   the audit trail (of one migration)
  unlock --pid N  end the stale session that holds an environment's migration lock (audited)
  lint [PATHS]  lint migration SQL: dangerous locks, rewrites, data loss, non-idempotent statements

Without bulwark.json, DATABASE_URL defines one environment named "default"; without either, the
environment "local" is an embedded PostgreSQL whose data lives in .bulwark/local (nothing to install).

${COMMON}

Exit codes: 0 ok, 1 error, 2 problems found (status --exit-code, verify, consistency), 3 refused by a safety gate, 64 usage,
130 interrupted (Ctrl-C cancels the running migration, which rolls back).`,
  status: `Usage: bulwark status [--env NAME | --all] [--exit-code] [--json]

Shows every migration on one environment (--env) or, with several environments and no --env, the
migration × environment matrix. States: applied, pending, out-of-order, failed, edited (cosmetic or
semantic), missing (applied but no file).
  --all         every environment, even when there is only one
  --exit-code   exit 2 when anything is pending, failed, edited semantically, missing or out of order`,
  plan: `Usage: bulwark plan [--env NAME] [--to VERSION] [--allow-out-of-order] [--json]

Prints what apply would run, in order, with each migration's SQL and transaction mode, and the reasons
apply would refuse. Changes nothing.`,
  apply: `Usage: bulwark apply [--env NAME] [--to VERSION] [--confirm NAME] [--force] [--allow-out-of-order] [--no-backup] [--json]

Applies pending migrations in version order, each in its own transaction (unless its marker says
transaction:false), under a session advisory lock, with the environment's lock_timeout and
statement_timeout. Stops at the first failure, which is rolled back and recorded. On an environment with
"backup" (protected ones by default) pg_dump first saves the schema and the rows of the tables the
migrations change; if that fails, nothing runs.
  --to VERSION          stop after this version
  --confirm NAME        required for a protected environment (or type the name when asked on a TTY)
  --force               apply even if the promotion order is not met (audited)
  --allow-out-of-order  apply pending migrations that sort before applied ones
  --no-backup           do not take the environment's backup (audited)`,
  rollback: `Usage: bulwark rollback [VERSION] [--env NAME] [--confirm NAME] [--no-backup] [--json]

Runs the down section of VERSION, or of the migration applied last (by time, not by file name).
Refuses irreversible migrations (no down section). Takes the environment's backup first, like apply.
  --no-backup           do not take the environment's backup (audited)`,
  'dry-run': `Usage: bulwark dry-run [VERSION] [--env NAME] [--json]

Rehearses the pending migrations (or VERSION) on the real target inside BEGIN … ROLLBACK, statement by
statement: duration, rows affected, locks taken, tables rewritten. Nothing persists. transaction:false
migrations cannot be rehearsed: their plan is shown instead. Uses the environment's lockTimeout (5s by
default) so a rehearsal never queues behind traffic for long.`,
  verify: `Usage: bulwark verify [--env NAME] [--json]
       bulwark verify --replay [--shadow-url URL] [--json]

Checks the files (names, markers, encoding, duplicates) and, on one environment or all of them,
checksums (semantic edits are errors, cosmetic ones warnings), missing files, out-of-order files and
failed migrations. Exit 2 when anything is wrong.

With --replay, no environment is touched: every migration is replayed on an empty shadow database, one
at a time: its up, then its down (the schema must be exactly what it was before the up), then its up
again (it must run again and give the same schema). Problems print as file:line:col. The first up that
fails stops the replay. Statements a shadow cannot run (roles, tablespaces, databases, missing
extensions…) are skipped with the reason. Exit 2 when an up or a down fails, a down does not restore
the schema, or an up cannot run again after its down.
  --replay            replay the migrations on a shadow database
  --shadow-url URL    the shadow is a throwaway database bulwark_shadow_<random> created on this server
                      (its user needs CREATEDB) and dropped afterwards; default: the embedded
                      PostgreSQL, in memory`,
  consistency: `Usage: bulwark consistency [--json]

Compares every environment: for each step of the promotion order, the migrations ready to promote,
and every mismatch: applied on an environment but not on the one before it, applied with different
SQL on two environments, failed or drifted somewhere. Exit 2 when there are mismatches.`,
  new: `Usage: bulwark new NAME [--description TEXT] [--author NAME]

Creates <migrations-dir>/<UTC yyyymmddHHMMSS>_<name>.sql from migrations-template/migration.sql.`,
  baseline: `Usage: bulwark baseline VERSION [--env NAME] [--confirm NAME] [--json]

Adopts an existing database: records every migration up to VERSION as applied, without running it.`,
  'mark-applied': `Usage: bulwark mark-applied VERSION [--env NAME] [--confirm NAME] [--json]

Records one migration as applied without running it (its change was made by hand).`,
  unlock: `Usage: bulwark unlock --pid PID [--env NAME] [--confirm NAME] [--json]

Ends the session that holds the environment's migration lock (pg_terminate_backend), when its run is gone
but its connection stayed open: \`bulwark status\` and lock-wait errors name the pid. Only that pid is ended,
and only while it still holds the lock; its open transaction rolls back. Audited as "unlock".`,
  repair: `Usage: bulwark repair [VERSION] [--resolve applied|rolled-back] [--accept-checksum] [--env NAME] [--confirm NAME] [--json]

Without VERSION: explains each failed, interrupted, edited or missing migration and lists INVALID
indexes. With VERSION:
  --resolve applied       the failed migration's change is complete (you finished it by hand)
  --resolve rolled-back   nothing of it remains (you undid it): it becomes pending again
  --accept-checksum       record the edited file's checksum as the applied one
Only Bulwark's own tables change, and every repair is audited.`,
  history: `Usage: bulwark history [VERSION] [--env NAME] [--json]

The audit trail: every apply, rollback, dry run, failure, baseline, repair, lock wait and backup.`,
};
HELP.lint = `Usage: bulwark lint [PATHS…] [--format text|json|sarif] [--pg-version N] [--rules]

Lints SQL files (default: the migrations folder) with the PostgreSQL 18 parser: statements that take
blocking locks, rewrite tables, lose data, or fail when retried; syntax errors. Findings print like a
compiler (file:line:col: severity rule message). Exit 1 when any finding is an error.
  --format json    one JSON document: { files, errors, warnings, findings: [{ file, line, column, endLine,
                   endColumn, rule, severity, message, fixes? }] }
  --format sarif   SARIF 2.1.0 for code-scanning tools
  --pg-version N   target PostgreSQL major version (default: "lint.pgVersion" of bulwark.json, else 17)
  --rules          list every rule with its default severity
Suppress with \`-- bulwark-ignore rule-id[, …]\` before a statement or \`-- bulwark-ignore-file rule-id\`.
Configure in bulwark.json: "lint": { "pgVersion": 16, "assumeInTransaction": true, "rules": { "rule-id": "off" } }.`;
HELP['promotion'] = HELP.consistency;

interface Io {
  stdout?: NodeJS.WritableStream & Partial<NodeJS.WriteStream>;
  stderr?: NodeJS.WritableStream & Partial<NodeJS.WriteStream>;
  stdin?: NodeJS.ReadStream;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export async function main(argv: string[], io: Io = {}): Promise<number> {
  const env = io.env ?? process.env;
  const redactor = new Redactor();
  const stdout = (io.stdout ?? process.stdout) as NodeJS.WriteStream;
  const stderr = (io.stderr ?? process.stderr) as NodeJS.WriteStream;
  const out = new Out(redactor, style(useColor(stdout, env)), stdout, stderr);
  const errStyle = style(useColor(stderr, env));
  let json = argv.includes('--json');

  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      out.print(HELP[rest[0] ?? ''] ?? HELP['']);
      return command === undefined ? EXIT.USAGE : EXIT.OK;
    }
    if (command === '--version' || command === '-v' || command === 'version') {
      out.print(TOOL_VERSION);
      return EXIT.OK;
    }
    if (!(command in HELP)) throw new UsageError(`unknown command "${command}"`, { hint: 'Run `bulwark --help` for the list of commands.' });
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          env: { type: 'string' }, config: { type: 'string' }, 'migrations-dir': { type: 'string' }, json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' }, to: { type: 'string' }, confirm: { type: 'string' }, force: { type: 'boolean' },
          'allow-out-of-order': { type: 'boolean' }, 'exit-code': { type: 'boolean' }, all: { type: 'boolean' },
          resolve: { type: 'string' }, 'accept-checksum': { type: 'boolean' }, description: { type: 'string' }, author: { type: 'string' },
          format: { type: 'string' }, 'pg-version': { type: 'string' }, rules: { type: 'boolean' },
          replay: { type: 'boolean' }, 'shadow-url': { type: 'string' }, pid: { type: 'string' }, 'no-backup': { type: 'boolean' },
        },
      });
    } catch (e) {
      throw new UsageError(`${command}: ${e instanceof Error ? e.message : String(e)}`, { hint: `Run \`bulwark ${command} --help\`.` });
    }
    const o = parsed.values;
    json = o.json === true || o.format === 'json' || o.format === 'sarif';
    if (o.help) {
      out.print(HELP[command] + (command === '' ? '' : `\n\n${COMMON}`));
      return EXIT.OK;
    }
    const cwd = io.cwd ?? process.cwd();
    const config = loadConfig({ cwd, configPath: o.config, migrationsDir: o['migrations-dir'], env });
    // Progress goes to stderr, so it never mixes with --json on stdout.
    const showProgress = !json;
    const engine = new Engine({
      config,
      processEnv: env,
      redactor,
      logger: {
        info: () => {},
        warn: (m) => out.err(errStyle.yellow('warning: ') + m),
        error: (m) => out.err(errStyle.red('error: ') + m),
      },
      onProgress: (e) => {
        if (!showProgress) return;
        if (e.kind === 'migration-start') out.err(errStyle.dim(`[${e.environment}] ${e.direction === 'up' ? 'applying' : 'rolling back'} ${e.version}_${e.name} (${e.index + 1}/${e.total})…`));
        else if (e.kind === 'database') out.err(errStyle.dim(`[${e.environment}] ${e.message}`));
        else if (e.kind === 'lock-wait') out.err(errStyle.yellow(`[${e.environment}] another run holds the migration lock${e.holder ? ` (pid ${e.holder.pid}, ${e.holder.application ?? e.holder.user})` : ''}; waiting…`));
      },
    });
    const positional = parsed.positionals;
    const needOne = (what: string) => {
      if (positional.length !== 1) throw new UsageError(`${command} needs ${what}`, { hint: `Run \`bulwark ${command} --help\`.` });
      return positional[0];
    };
    const noPositional = () => {
      if (positional.length > 0) throw new UsageError(`${command} takes no argument "${positional[0]}"`, { hint: `Run \`bulwark ${command} --help\`.` });
    };
    const confirm = async (action: string): Promise<string | undefined> => {
      if (o.confirm !== undefined) return o.confirm;
      const e = engine.environment(o.env);
      if (!e.protected) return undefined;
      const stdin = io.stdin ?? process.stdin;
      if (!stdin.isTTY || json) return undefined; // the engine refuses with a clear message
      return ask(stdin, stderr, `"${e.name}" is protected. Type its name to ${action}: `);
    };

    switch (command) {
      case 'status': {
        noPositional();
        const all = o.all || (o.env === undefined && config.environments.length > 1);
        // Environments first: with nothing configured, "what to configure" is the useful message.
        const envs = all && config.environments.length > 0 ? config.environments : [engine.environment(o.env)];
        const set = engine.migrations();
        const statuses = await Promise.all(envs.map((e) => engine.statusOf(e, set.migrations)));
        const fileErrors = set.errors.map((e) => ({ code: e.code, message: e.message, ...(e.location ?? {}), ...(e.hint ? { hint: e.hint } : {}) }));
        if (json) out.json({ environments: statuses, fileErrors });
        else printStatus(out, statuses, set.errors.map((e) => e.describe()), set.dir);
        if (statuses.some((s) => !s.reachable) || set.errors.length) return EXIT.ERROR;
        if (o['exit-code'] && statuses.some((s) => s.migrations.some((m) => m.status !== 'applied' && !(m.status === 'edited' && m.edit === 'cosmetic')))) return EXIT.FINDINGS;
        return EXIT.OK;
      }
      case 'plan': {
        noPositional();
        const p = await plan(engine, o.env, { to: o.to, allowOutOfOrder: o['allow-out-of-order'] });
        if (json) out.json({ ...p, problems: p.problems.map(({ fileError: _, ...rest }) => rest) });
        else {
          out.print(out.s.bold(`Plan for ${p.environment}`) + out.s.dim(` (${p.connection})`));
          if (p.steps.length === 0) out.print('  nothing to apply');
          for (const st of p.steps) {
            out.print(`\n${out.s.cyan(`${st.version}_${st.name}`)}  ${st.transaction ? 'in a transaction' : out.s.yellow('outside a transaction (transaction:false)')}${st.reason !== 'pending' ? `  [${st.reason}]` : ''}`);
            out.print(out.s.dim(`  ${path.relative(cwd, st.file)}`));
            for (const x of st.statements) out.print(`  ${out.s.dim(String(x.line).padStart(4) + ' |')} ${x.sql.replace(/\n/g, '\n       | ')};`);
          }
          for (const w of p.warnings) out.print(out.s.yellow(`warning: ${w}`));
          for (const x of p.problems) out.print(out.s.red(`apply would refuse: ${x.message}`) + (x.hint ? `\n  ${x.hint}` : ''));
        }
        return p.problems.length ? EXIT.FINDINGS : EXIT.OK;
      }
      case 'apply': {
        noPositional();
        const c = await confirm('apply');
        const r = await withInterrupt(out, stopMessage(engine, o.env), (signal) => apply(engine, o.env, { to: o.to, confirm: c, force: o.force, allowOutOfOrder: o['allow-out-of-order'], signal, ...(o['no-backup'] ? { backup: false } : {}) }));
        if (json) out.json(r);
        else {
          printRun(out, r, cwd, 'applied');
          // What the database looks like now, so that one command shows the whole result.
          if (r.ok && r.results.some((x) => x.status === 'applied')) {
            const set = engine.migrations();
            out.print('');
            printStatus(out, [await engine.statusOf(engine.environment(o.env), set.migrations)], [], set.dir);
          }
        }
        return r.cancelled ? EXIT.INTERRUPTED : r.ok ? EXIT.OK : EXIT.ERROR;
      }
      case 'rollback': {
        if (positional.length > 1) throw new UsageError('rollback takes at most one VERSION');
        const c = await confirm('roll back');
        const r = await withInterrupt(out, stopMessage(engine, o.env), (signal) => rollback(engine, o.env, { version: positional[0], confirm: c, signal, ...(o['no-backup'] ? { backup: false } : {}) }));
        if (json) out.json(r);
        else printRun(out, r, cwd, 'rolled back');
        return r.cancelled ? EXIT.INTERRUPTED : r.ok ? EXIT.OK : EXIT.ERROR;
      }
      case 'dry-run': {
        if (positional.length > 1) throw new UsageError('dry-run takes at most one VERSION');
        const r = await dryRun(engine, o.env, { version: positional[0] });
        if (json) out.json(r);
        else printDryRun(out, r, cwd);
        return r.ok ? EXIT.OK : EXIT.ERROR;
      }
      case 'verify': {
        noPositional();
        if (o.replay) return await replayCommand(out, engine, { shadowUrl: o['shadow-url'], json, cwd, env, redactor, errStyle });
        if (o['shadow-url'] !== undefined) throw new UsageError('--shadow-url goes with --replay', { hint: 'Run `bulwark verify --help`.' });
        const r = await verify(engine, o.env);
        if (json) out.json(r);
        else {
          for (const f of r.findings) {
            const where = f.file ? `${path.relative(cwd, f.file)}${f.line ? `:${f.line}${f.column ? `:${f.column}` : ''}` : ''}: ` : '';
            out.print(`${where}${f.severity === 'error' ? out.s.red('error') : out.s.yellow('warning')}: ${f.message}`);
          }
          if (r.environments.length === 0) out.print(out.s.dim('no environment configured: only the files were checked'));
          out.print(r.ok ? out.s.green(`verify: ok (${r.environments.join(', ') || 'files'})`) : out.s.red(`verify: ${r.findings.filter((f) => f.severity === 'error').length} problem(s)`));
        }
        return r.ok ? EXIT.OK : EXIT.FINDINGS;
      }
      case 'consistency':
      case 'promotion': {
        noPositional();
        const r = await consistency(engine);
        if (json) out.json(r);
        else {
          printStatus(out, r.environments, [], config.migrationsDir);
          out.print('');
          for (const t of r.transitions) {
            out.print(out.s.bold(`${t.from} → ${t.to}: `) + (t.ready.length ? `${t.ready.length} ready to promote: ${t.ready.map((x) => `${x.version}_${x.name}`).join(', ')}` : 'nothing to promote'));
          }
          for (const m of r.mismatches) out.print(`${m.severity === 'error' ? out.s.red('mismatch') : out.s.yellow('warning')}: ${m.message}`);
          if (r.ok) out.print(out.s.green('consistency: ok'));
        }
        return r.ok ? EXIT.OK : EXIT.FINDINGS;
      }
      case 'new': {
        const name = needOne('a NAME, e.g. `bulwark new add_users_table`');
        const r = createMigration({ dir: config.migrationsDir, templateDir: config.templateDir, name, description: o.description, author: o.author ?? env.BULWARK_AUTHOR ?? osUser() });
        if (json) out.json({ file: r.file, version: r.version });
        else out.print(`created ${path.relative(cwd, r.file)}`);
        return EXIT.OK;
      }
      case 'baseline':
      case 'mark-applied': {
        const v = needOne('a VERSION');
        const fn = command === 'baseline' ? baseline : markApplied;
        const r = await fn(engine, o.env, v, { confirm: await confirm(command) });
        if (json) out.json(r);
        else {
          out.print(r.message);
          for (const c of r.changed) out.print(`  ${c.version}_${c.name}: ${c.action}`);
        }
        return EXIT.OK;
      }
      case 'repair': {
        if (positional.length > 1) throw new UsageError('repair takes at most one VERSION');
        const resolve = o.resolve;
        if (resolve !== undefined && resolve !== 'applied' && resolve !== 'rolled-back') throw new UsageError(`--resolve must be "applied" or "rolled-back", not "${resolve}"`);
        const r = await repair(engine, o.env, positional[0], { resolve, acceptChecksum: o['accept-checksum'], confirm: positional[0] ? await confirm('repair') : undefined });
        if (json) out.json(r);
        else if ('problems' in r) {
          if (r.problems.length === 0 && r.invalidIndexes.length === 0) out.print(out.s.green(`nothing to repair on "${r.environment}"`));
          for (const p of r.problems) {
            out.print(`${out.s.cyan(`${p.version}_${p.name}`)} ${p.status}: ${p.explanation}`);
            for (const c of p.commands) out.print(`    ${c} --env ${r.environment}`);
          }
          for (const i of r.invalidIndexes) out.print(out.s.yellow(`INVALID index ${i}: left by a failed CREATE INDEX CONCURRENTLY? Drop it (DROP INDEX CONCURRENTLY ${i}) before retrying.`));
          return r.problems.length || r.invalidIndexes.length ? EXIT.FINDINGS : EXIT.OK;
        } else {
          out.print(r.message);
        }
        return EXIT.OK;
      }
      case 'unlock': {
        noPositional();
        const pid = Number(o.pid);
        if (o.pid === undefined || !Number.isInteger(pid) || pid <= 0) throw new UsageError('unlock needs --pid PID: the pid that holds the lock (bulwark status names it)');
        const r = await unlock(engine, o.env, { pid, confirm: await confirm('unlock') });
        if (json) out.json(r);
        else out.print(r.message);
        return EXIT.OK;
      }
      case 'lint':
        return await lintCommand(out, config, positional, { format: o.format, pgVersion: o['pg-version'], listRules: o.rules === true, cwd });
      case 'history': {
        if (positional.length > 1) throw new UsageError('history takes at most one VERSION');
        const rows = await history(engine, o.env, positional[0]);
        if (json) out.json(rows);
        else {
          if (rows.length === 0) out.print('no audit rows');
          for (const r of rows) {
            const at = r.at instanceof Date ? r.at.toISOString() : String(r.at);
            out.print(`${at}  ${String(r.action).padEnd(14)} ${r.version ? `${r.version}_${r.name ?? ''}` : ''}  ${r.db_user}/${r.os_user}@${r.hostname}${r.duration_ms !== null ? `  ${ms(Number(r.duration_ms))}` : ''}${auditNote(r, cwd)}`);
          }
        }
        return EXIT.OK;
      }
    }
    return EXIT.USAGE;
  } catch (e) {
    return reportError(e, out, json, errStyle);
  }
}

/** What an audit row's details add for a reader (where a backup is, why it failed). */
function auditNote(r: Record<string, unknown>, cwd: string): string {
  const d = (typeof r.details === 'string' ? JSON.parse(r.details) : r.details) as Record<string, unknown> | null;
  if (!d) return '';
  if (r.action === 'backup') {
    if (d.ok === false) return `  failed: ${String(d.error ?? '')}`;
    return typeof d.dir === 'string' ? `  ${path.relative(cwd, d.dir) || d.dir}` : '';
  }
  if (r.action === 'backup-skipped') return `  ${String(d.reason ?? '')}`;
  return '';
}

async function lintCommand(
  out: Out,
  config: BulwarkConfig,
  paths: string[],
  o: { format?: string; pgVersion?: string; listRules: boolean; cwd: string },
): Promise<number> {
  // Loaded on demand: the parser's WASM costs nothing to commands that do not lint.
  const { ALL_RULES, lintSettingsFrom, loadParser } = await import('../core/lint');
  const { collectSqlFiles, lintFile } = await import('../core/lint/files');
  const { formatJson, formatSarif, formatText } = await import('./lint');
  if (o.listRules) {
    for (const r of ALL_RULES) out.print(`${r.id.padEnd(36)} ${String(r.defaultSeverity).padEnd(8)} ${r.category.padEnd(13)} ${r.summary}`);
    return EXIT.OK;
  }
  const format = o.format ?? 'text';
  if (!['text', 'json', 'sarif'].includes(format)) throw new UsageError(`--format must be text, json or sarif, not "${format}"`);
  const overrides: { pgVersion?: number; lockTimeoutByRunner: boolean } = {
    lockTimeoutByRunner: config.environments.length > 0 && config.environments.every((e) => e.lockTimeoutMs !== undefined && e.lockTimeoutMs > 0),
  };
  if (o.pgVersion !== undefined) {
    const v = Number(o.pgVersion);
    if (!Number.isInteger(v) || v < 9 || v > 30) throw new UsageError(`--pg-version must be a PostgreSQL major version such as 16, not "${o.pgVersion}"`);
    overrides.pgVersion = v;
  }
  const settings = lintSettingsFrom(config.lint, overrides, config.file ?? 'bulwark.json');
  const files = collectSqlFiles(paths.length ? paths.map((p) => path.resolve(o.cwd, p)) : [config.migrationsDir]);
  await loadParser();
  const results = files.map((f) => lintFile(f, ALL_RULES, settings));
  if (format === 'json') formatJson(out, results, o.cwd);
  else if (format === 'sarif') formatSarif(out, results, ALL_RULES, o.cwd);
  else formatText(out, results, o.cwd);
  return results.some((r) => r.findings.some((f) => f.severity === 'error')) ? EXIT.ERROR : EXIT.OK;
}

/** What Ctrl-C does: a server cancels the running statement; the embedded database can only stop between migrations. */
function stopMessage(engine: Engine, envName: string | undefined): string {
  return engine.environment(envName).embedded ? 'stopping after the running migration' : 'cancelling the running migration';
}

function reportError(e: unknown, out: Out, json: boolean, s: ReturnType<typeof style>): number {
  const code = e instanceof UsageError ? EXIT.USAGE : e instanceof RefusedError ? EXIT.REFUSED : EXIT.ERROR;
  if (e instanceof BulwarkError) {
    if (json) {
      out.json({
        error: {
          code: e.code, message: e.message, ...(e.location ?? {}), ...(e.hint ? { hint: e.hint } : {}),
          ...((e instanceof LockHeldError || e instanceof EmbeddedLockedError) && e.holder ? { holder: e.holder } : {}),
        },
      });
    }
    out.err(`${s.red(e instanceof RefusedError ? 'refused' : 'error')}: ${e.describe()}`);
    return code;
  }
  const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (json) out.json({ error: { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) } });
  out.err(`${s.red('error')}: ${msg}`);
  return EXIT.ERROR;
}


function ask(stdin: NodeJS.ReadStream, stderr: NodeJS.WritableStream, question: string): Promise<string> {
  const rl = readline.createInterface({ input: stdin, output: stderr });
  return new Promise((resolve) => rl.question(question, (a) => { rl.close(); resolve(a.trim()); }));
}

const ICON: Record<string, string> = { applied: '✔', pending: '·', 'out-of-order': '↯', failed: '✘', edited: '✎', missing: '?' };

function describeState(out: Out, m: MigrationState): string {
  const s = out.s;
  switch (m.status) {
    case 'applied':
      return s.green('applied') + s.dim(` ${m.appliedAt?.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} by ${m.appliedBy}${m.osUser ? ` (${m.osUser}@${m.hostname})` : ''}${m.durationMs !== undefined ? `, ${ms(m.durationMs)}` : ''}${m.recordedOnly ? ', recorded without running' : ''}`);
    case 'pending':
      return s.cyan('pending');
    case 'out-of-order':
      return s.yellow('out of order') + s.dim(' (pending, sorts before applied migrations)');
    case 'failed':
      return s.red(m.interrupted ? 'interrupted' : 'failed') + (m.error ? `: ${m.error.message}${m.error.line ? ` (line ${m.error.line})` : ''}` : '') + (m.transaction === false ? s.dim(` — ${m.statementsDone ?? 0} statement(s) persist`) : '');
    case 'edited':
      return m.edit === 'semantic' ? s.red('edited after apply (semantic: drift)') : s.yellow('edited after apply (cosmetic)');
    case 'missing':
      return s.red('missing file') + s.dim(` (applied ${m.appliedAt?.slice(0, 10)}${m.reversible ? '; `rollback ' + m.version + '` runs the down section kept in the history' : ''})`);
  }
}

function printStatus(out: Out, statuses: EnvironmentStatus[], fileErrors: string[], dir: string): void {
  for (const e of fileErrors) out.print(out.s.red('error: ') + e);
  if (statuses.length === 1) {
    const st = statuses[0];
    out.print(out.s.bold(`${st.environment}`) + (st.protected ? out.s.red(' [protected]') : '') + out.s.dim(` ${st.connection}`));
    if (!st.reachable) out.print(out.s.red(`  unreachable: ${st.error}`));
    if (st.lockHolder) out.print(out.s.yellow(`  migration lock held by pid ${st.lockHolder.pid} (${st.lockHolder.application ?? st.lockHolder.user}); if that run is gone: bulwark unlock --pid ${st.lockHolder.pid} --env ${st.environment}`));
    if (st.migrations.length === 0) out.print(out.s.dim(`  no migrations in ${dir}`));
    for (const m of st.migrations) out.print(`  ${ICON[m.status]} ${m.version}_${m.name}  ${st.reachable ? describeState(out, m) : out.s.dim('unknown')}`);
    const counts = countBy(st.migrations.map((m) => m.status));
    if (st.reachable) out.print(out.s.dim(`  ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ') || 'nothing'}`));
    return;
  }
  // The matrix: one row per migration, one column per environment.
  const versions = [...new Map(statuses.flatMap((st) => st.migrations.map((m) => [m.version, m.name] as const))).entries()].sort();
  const width = Math.max(12, ...versions.map(([v, n]) => v.length + n.length + 1));
  const col = (t: string) => t.padEnd(14);
  out.print(out.s.bold(''.padEnd(width) + '  ' + statuses.map((s) => col(s.environment + (s.protected ? '*' : ''))).join('')));
  for (const [v, n] of versions) {
    const cells = statuses.map((st) => {
      if (!st.reachable) return col('unreachable');
      const m = st.migrations.find((x) => x.version === v);
      const label = m ? (m.status === 'edited' ? `edited(${m.edit === 'semantic' ? 'sem' : 'cos'})` : m.status) : '-';
      return col(label);
    });
    out.print(`${`${v}_${n}`.padEnd(width)}  ${cells.join('')}`);
  }
  for (const st of statuses) if (!st.reachable) out.print(out.s.red(`${st.environment}: ${st.error}`));
  if (statuses.some((s) => s.protected)) out.print(out.s.dim('* protected'));
}

function countBy(xs: string[]): Record<string, number> {
  const r: Record<string, number> = {};
  for (const x of xs) r[x] = (r[x] ?? 0) + 1;
  return r;
}

function printRun(out: Out, r: RunResult, cwd: string, verb: string): void {
  for (const w of r.warnings) out.print(out.s.yellow(`warning: ${w}`));
  if (r.backup) {
    const b = r.backup;
    const bytes = b.files.reduce((n, f) => n + f.bytes, 0);
    const what = b.data === 'all' ? 'the whole database' : `the schema + ${b.tables.length} table${b.tables.length === 1 ? '' : 's'}${b.tables.length ? ` (${b.tables.slice(0, 5).join(', ')}${b.tables.length > 5 ? ', …' : ''})` : ''}`;
    out.print(`${out.s.green('✔')} backup of ${what}: ${path.relative(cwd, b.dir) || b.dir} ${out.s.dim(`${bytes < 1e6 ? `${Math.max(1, Math.round(bytes / 1e3))} kB` : `${(bytes / 1e6).toFixed(1)} MB`}, ${ms(b.durationMs)}, pg_dump ${b.pgDump.version}`)}`);
    for (const x of b.opaque) out.print(out.s.yellow(`warning: the backup may miss rows changed by ${x.what} (${x.version}_${x.name}, line ${x.line}): set "backup": { "data": "all" } to dump every table`));
  }
  if (r.results.length === 0) out.print(`nothing to do on ${r.environment}: every migration is applied`);
  for (const x of r.results) {
    if (x.status === 'failed') {
      const e = x.error;
      out.print(`${out.s.red('✘')} ${x.version}_${x.name} ${out.s.red('failed')}`);
      out.print(`${path.relative(cwd, e.file)}:${e.line}:${e.column}: ${out.s.red('error')}: ${e.message}${e.code ? out.s.dim(` [${e.code}]`) : ''}`);
      if (e.detail) out.print(`  detail: ${e.detail}`);
      if (e.hint) out.print(`  hint: ${e.hint}`);
      out.print(`  ${e.outcome}`);
    } else if (x.status === 'not-executed') {
      out.print(`${out.s.dim('·')} ${x.version}_${x.name} ${out.s.dim('not executed')}`);
    } else {
      out.print(`${out.s.green('✔')} ${x.version}_${x.name} ${verb} ${out.s.dim(ms(x.durationMs))}`);
    }
  }
  if (r.lockWaitedMs > 0) out.print(out.s.dim(`waited ${ms(r.lockWaitedMs)} for the migration lock`));
  if (r.cancelled) out.print(out.s.yellow('cancelled: the migrations marked "not executed" did not run'));
}

function printDryRun(out: Out, r: Awaited<ReturnType<typeof dryRun>>, cwd: string): void {
  const s = out.s;
  out.print(s.bold(`Dry run on ${r.environment}`) + s.dim(` (${r.connection}) — rehearsed inside BEGIN … ROLLBACK; nothing persists`));
  for (const w of r.warnings) out.print(s.yellow(`warning: ${w}`));
  if (r.migrations.length === 0) out.print('  nothing pending');
  for (const m of r.migrations) {
    out.print(`\n${s.cyan(`${m.version}_${m.name}`)} ${m.rehearsed ? (m.ok ? s.green('ok') : s.red('fails')) : s.yellow('not rehearsed')}`);
    if (!m.rehearsed) {
      out.print(`  ${m.reason}`);
      for (const p of m.planned ?? []) out.print(`  ${s.dim(String(p.line).padStart(4) + ' |')} ${firstLine(p.sql)}`);
      continue;
    }
    for (const st of m.statements) {
      out.print(`  ${s.dim(String(st.line).padStart(4) + ' |')} ${firstLine(st.sql)}`);
      if (st.error) {
        out.print(`       ${path.relative(cwd, m.file)}:${st.error.line}:${st.error.column}: ${s.red('error')}: ${st.error.message}`);
        continue;
      }
      const facts = [ms(st.durationMs), st.rowCount !== null && st.rowCount !== undefined && /INSERT|UPDATE|DELETE|MERGE|COPY|SELECT/.test(st.command ?? '') ? `${st.rowCount} row(s)` : ''];
      const locks = st.locks.filter((l) => !l.newObject);
      if (locks.length) facts.push('locks: ' + locks.map((l) => `${l.mode.replace(/Lock$/, '')} on ${l.relation}`).join(', '));
      if (st.rewritten.length) facts.push(s.red(`REWRITES ${st.rewritten.join(', ')}`));
      out.print(`       ${s.dim(facts.filter(Boolean).join(' · '))}`);
    }
  }
  out.print(r.ok ? s.green('\ndry run: ok') : s.red('\ndry run: a migration fails'));
}


export type { BulwarkConfig };

if (require.main === module) {
  // WASM runs here (the SQL parser, the embedded PostgreSQL) as baseline (Liftoff) code only. By default
  // V8 also recompiles hot WASM functions with its optimizing compiler on background threads, and a process
  // cannot exit before those compilations end: measured on this project, that added ~100 ms to every
  // `bulwark lint` (0.28 s → 0.14 s for one file) and 0.2–0.5 s to embedded-database commands, while the
  // optimized code did not make even 4 MB lints or 40-migration embedded applies faster.
  v8.setFlagsFromString('--liftoff-only');
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(String(e) + '\n');
      process.exitCode = 1;
    },
  );
}
