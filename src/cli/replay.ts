import * as path from 'node:path';
import { Db, Engine, fileErrors, MigrationReplay, openEmbedded, Redactor, replay, ReplayResult, serverShadow, UsageError } from '../core';
import { firstLine, ms, Out, Style, withInterrupt } from './output';

/** `bulwark verify --replay`: see src/core/engine/replay.ts. */
export async function replayCommand(
  out: Out,
  engine: Engine,
  o: { shadowUrl?: string; json: boolean; cwd: string; env: Record<string, string | undefined>; redactor: Redactor; errStyle: Style },
): Promise<number> {
  const set = engine.migrations();
  // Replaying only the files that parse would prove nothing about the chain: refuse, naming every broken file.
  if (set.errors.length > 0) throw fileErrors(set.errors);

  let shadow: { display: string; open: () => Promise<Db> };
  if (o.shadowUrl !== undefined) {
    if (!/^postgres(?:ql)?:\/\//i.test(o.shadowUrl.trim())) {
      throw new UsageError('--shadow-url must be a postgres:// URL of a server where Bulwark may create and drop a throwaway database', {
        hint: 'For example --shadow-url postgres://postgres@127.0.0.1:5432/postgres (password in PGPASSWORD or ~/.pgpass).',
      });
    }
    const s = serverShadow(o.shadowUrl.trim(), { applicationName: engine.applicationName(), processEnv: o.env });
    o.redactor.add(...s.secrets);
    shadow = { display: `a throwaway database on ${s.display}`, open: () => s.open() };
  } else {
    // The embedded PostgreSQL (PGlite), in memory: nothing to install, nothing left behind. PGlite
    // itself (its JavaScript and WASM) is loaded only here, by openEmbedded.
    shadow = {
      display: 'the embedded PostgreSQL (in memory)',
      open: () => openEmbedded(undefined, { onProgress: (m) => (!o.json ? out.err(o.errStyle.dim(m)) : undefined), env: o.env }),
    };
  }

  if (!o.json) out.err(o.errStyle.dim(`replaying ${set.migrations.length} migration(s) on ${shadow.display}…`));
  const r = await withInterrupt(out, 'stopping the replay', (signal) =>
    replay(set.migrations, shadow.open, {
      historySchema: engine.config.history.schema,
      signal,
      onProgress: (e) => {
        if (o.json) return;
        if (e.kind === 'migration') out.err(o.errStyle.dim(`[shadow] ${e.version}_${e.name} (${e.index + 1}/${e.total})…`));
        else if (e.kind === 'rebuild') out.err(o.errStyle.dim(`[shadow] ${e.reason}: replaying the ups again on a fresh shadow…`));
      },
    }),
  );
  if (o.json) out.json({ shadow: shadow.display, ...r });
  else printReplay(out, r, o.cwd, shadow.display);
  return r.cancelled ? 130 : r.ok ? 0 : 2;
}

function serverVersion(v: number | undefined): string {
  if (!v) return 'PostgreSQL';
  return v >= 100000 ? `PostgreSQL ${Math.floor(v / 10000)}.${v % 10000}` : `PostgreSQL ${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;
}

const STATUS_WORDS: Record<MigrationReplay['status'], string> = {
  replayed: 'replayed',
  'replayed-with-skips': 'replayed with skipped statements',
  failed: 'FAILED',
  'not-replayed': 'not replayed',
  'down-mismatch': 'down does not restore the schema',
  'down-failed': 'down FAILED',
  'reup-failed': 'up cannot run again after down',
};

/** Compiler-style lines (file:line:col: error: …), then a summary. */
export function printReplay(out: Out, r: ReplayResult, cwd: string, shadow: string): void {
  const s = out.s;
  const rel = (f: string) => path.relative(cwd, f) || f;
  for (const m of r.migrations) {
    const id = `${m.version}_${m.name}`;
    if (m.status === 'not-replayed') {
      out.print(`${s.dim('·')} ${id} ${s.dim(m.reason ?? 'not replayed')}`);
      continue;
    }
    const bad = m.problems.length > 0;
    const what = m.status === 'failed' ? 'up' : m.reversible ? 'up, down, up again' : 'up only: no down section';
    const icon = bad ? s.red('✘') : m.status === 'replayed-with-skips' ? s.yellow('~') : s.green('✔');
    const words = bad ? s.red(STATUS_WORDS[m.status]) : m.status === 'replayed-with-skips' ? s.yellow(STATUS_WORDS[m.status]) : STATUS_WORDS[m.status];
    out.print(`${icon} ${id} ${words} ${s.dim(`(${what}${m.durationMs !== undefined ? ', ' + ms(m.durationMs) : ''})`)}`);
    for (const p of m.problems) {
      out.print(`${rel(p.file)}:${p.line}:${p.column}: ${s.red('error')}: ${p.message}${p.code ? s.dim(` [${p.code}]`) : ''}`);
      if (p.detail) out.print(`  detail: ${p.detail}`);
      if (p.hint) out.print(`  hint: ${p.hint}`);
      for (const d of p.differences ?? []) out.print(`  - ${d.message}`);
    }
    // A statement skipped by the up is skipped again when the up runs a second time: show it once.
    const shown = new Set<string>();
    for (const k of m.skipped) {
      const key = `${k.line}:${k.column}`;
      if (k.phase === 'reup' && shown.has(key)) continue;
      shown.add(key);
      const phase = k.phase === 'up' ? '' : k.phase === 'down' ? ' (down)' : ' (up again)';
      out.print(`${rel(k.file)}:${k.line}:${k.column}: ${s.yellow('warning')}: skipped${phase}: ${k.reason}`);
      out.print(s.dim(`  ${firstLine(k.statement)}`));
    }
  }
  const sm = r.summary;
  const parts = [
    `${sm.replayed} replayed`,
    sm['replayed-with-skips'] ? `${sm['replayed-with-skips']} with skipped statements` : '',
    sm.failed ? `${sm.failed} failed` : '',
    sm['down-mismatch'] ? `${sm['down-mismatch']} with a down that does not restore the schema` : '',
    sm['down-failed'] ? `${sm['down-failed']} with a failing down` : '',
    sm['reup-failed'] ? `${sm['reup-failed']} whose up cannot run again after its down` : '',
    sm['not-replayed'] ? `${sm['not-replayed']} not replayed` : '',
    sm.irreversible ? `${sm.irreversible} irreversible (up only)` : '',
  ].filter(Boolean);
  const line = `replay: ${sm.total} migration(s) on ${shadow} (${serverVersion(r.shadowServerVersion)}): ${parts.join(', ')}`;
  out.print('');
  out.print(r.cancelled ? s.yellow(line + ' — cancelled') : r.ok ? s.green(line) : s.red(line));
}


