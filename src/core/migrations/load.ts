import * as fs from 'node:fs';
import * as path from 'node:path';
import { BulwarkError, ConfigError, MigrationFileError } from '../errors';
import { decodeUtf8, FILE_NAME_HELP, Migration, parseFileName, parseMigration } from './parse';

export interface MigrationSet {
  dir: string;
  /** Sorted by version. */
  migrations: Migration[];
  /** Files that could not be used; commands that change a database refuse while there are any. */
  errors: BulwarkError[];
}

/** Filesystem access, injectable so the editor can pass unsaved buffers and tests can pass fixtures. */
export interface MigrationFs {
  readdir(dir: string): string[];
  readFile(file: string): Uint8Array;
  exists(dir: string): boolean;
}

export const nodeFs: MigrationFs = {
  readdir: (d) => fs.readdirSync(d),
  readFile: (f) => fs.readFileSync(f),
  exists: (d) => fs.existsSync(d),
};

/** Read every `*.sql` file of `dir`. Files whose name starts with `.` or `_` are ignored (drafts). */
export function loadMigrations(dir: string, io: MigrationFs = nodeFs): MigrationSet {
  if (!io.exists(dir)) {
    throw new ConfigError(`the migrations folder ${dir} does not exist`, {
      hint: 'Create it (`bulwark new <name>` does), or point to yours with "migrationsDir" in bulwark.json or --migrations-dir.',
    });
  }
  const errors: BulwarkError[] = [];
  const migrations: Migration[] = [];
  const byVersion = new Map<string, Migration>();
  for (const entry of io.readdir(dir).sort()) {
    if (!entry.toLowerCase().endsWith('.sql') || entry.startsWith('.') || entry.startsWith('_')) continue;
    const file = path.join(dir, entry);
    if (!parseFileName(entry)) {
      errors.push(new MigrationFileError(`bad migration file name "${entry}"`, { location: { file }, hint: `Name migration files ${FILE_NAME_HELP}; prefix a draft with "_" to have it ignored.` }));
      continue;
    }
    try {
      const m = parseMigration(decodeUtf8(io.readFile(file), file), file, entry);
      const other = byVersion.get(m.version);
      if (other) {
        errors.push(new MigrationFileError(`duplicate version ${m.version}: also used by ${path.basename(other.file)}`, {
          location: { file },
          hint: 'Each migration needs its own version; rename one of the files with a new timestamp (`bulwark new` makes one).',
        }));
        continue;
      }
      byVersion.set(m.version, m);
      migrations.push(m);
    } catch (e) {
      if (e instanceof BulwarkError) errors.push(e);
      else throw e;
    }
  }
  migrations.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  for (const m of migrations) {
    for (const r of m.meta.requires) {
      if (!byVersion.has(r)) {
        errors.push(new MigrationFileError(`requires ${r}, but there is no migration with that version`, { location: { file: m.file, line: requiresLine(m) } }));
      } else if (r > m.version) {
        errors.push(new MigrationFileError(`requires ${r}, which sorts after this migration and so would never be applied before it`, { location: { file: m.file, line: requiresLine(m) } }));
      }
    }
  }
  return { dir, migrations, errors };
}

function requiresLine(m: Migration): number | undefined {
  const i = m.text.split('\n').findIndex((l) => /^\s*--\s*requires\s*:/i.test(l));
  return i >= 0 ? i + 1 : undefined;
}
