import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { BulwarkError, decodeUtf8, loadMigrations, MigrationFs, parseFileName, parseMigration } from '../../src/core';

const F = '20261121093000_add_users.sql';
const parse = (text: string, name = F) => parseMigration(text, `/m/${name}`, name);

function throwsAt(fn: () => unknown, line: number | undefined, re: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BulwarkError, String(e));
    assert.match(e.message, re);
    assert.equal(e.location?.line, line, `line of: ${e.describe()}`);
    return true;
  });
}

describe('migration files', () => {
  it('parses header metadata, sections and transaction options', () => {
    const m = parse(`-- description: add users
-- author: alice
-- risk: HIGH
-- requires: 20261120000000, 20261119000000_other.sql
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY a ON t (x);
-- migrate:down
DROP INDEX a;
`);
    assert.equal(m.version, '20261121093000');
    assert.equal(m.name, 'add_users');
    assert.deepEqual(m.meta, { description: 'add users', author: 'alice', risk: 'high', requires: ['20261120000000', '20261119000000'] });
    assert.equal(m.up.transaction, false);
    assert.equal(m.up.markerLine, 5);
    assert.equal(m.up.sql, 'CREATE INDEX CONCURRENTLY a ON t (x);\n');
    assert.equal(m.text.slice(m.up.offset, m.up.offset + 6), 'CREATE');
    assert.equal(m.down?.transaction, true);
    assert.equal(m.down?.sql, 'DROP INDEX a;\n');
  });

  it('treats a missing or empty down section as irreversible', () => {
    assert.equal(parse('-- migrate:up\nSELECT 1;\n').down, undefined);
    assert.equal(parse('-- migrate:up\nSELECT 1;\n-- migrate:down\n-- nothing\n\n').down, undefined);
  });

  it('checksums: a cosmetic edit keeps the normalised checksum, a semantic edit changes it', () => {
    const a = parse('-- migrate:up\nCREATE TABLE t (id int);\n');
    const cosmetic = parse('-- migrate:up\r\n-- a comment\r\ncreate table t (\r\n    id int\r\n);   \r\n');
    const semantic = parse('-- migrate:up\nCREATE TABLE t (id bigint);\n');
    const noTx = parse('-- migrate:up transaction:false\nCREATE TABLE t (id int);\n');
    assert.notEqual(a.checksum, cosmetic.checksum);
    assert.equal(a.normalizedChecksum, cosmetic.normalizedChecksum);
    assert.notEqual(a.normalizedChecksum, semantic.normalizedChecksum);
    assert.notEqual(a.normalizedChecksum, noTx.normalizedChecksum, 'the transaction mode is semantic');
    assert.match(a.checksum, /^[0-9a-f]{64}$/);
  });

  it('down section edits do not change the checksums', () => {
    const a = parse('-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n');
    const b = parse('-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 3;\n');
    assert.equal(a.checksum, b.checksum);
  });

  it('rejects bad input with file and line', () => {
    throwsAt(() => parse(''), 1, /empty/);
    throwsAt(() => parse('  \n\n'), 1, /empty/);
    throwsAt(() => parse('CREATE TABLE t ();\n'), 1, /no -- migrate:up marker/);
    throwsAt(() => parse('-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n'), 3, /duplicate -- migrate:up marker \(the first is on line 1\)/);
    throwsAt(() => parse('-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n-- migrate:down\n'), 5, /duplicate -- migrate:down/);
    throwsAt(() => parse('-- migrate:down\nSELECT 2;\n-- migrate:up\nSELECT 1;\n'), 1, /before -- migrate:up/);
    throwsAt(() => parse('-- migrate:upp\nSELECT 1;\n'), 1, /unrecognised marker/);
    throwsAt(() => parse('-- migrate:up transaction:maybe\nSELECT 1;\n'), 1, /unknown option "transaction:maybe"/);
    throwsAt(() => parse('-- header\nSELECT 0;\n-- migrate:up\nSELECT 1;\n'), 2, /SQL before the -- migrate:up marker/);
    throwsAt(() => parse('-- risk: extreme\n-- migrate:up\nSELECT 1;\n'), 1, /risk must be low, medium or high/);
    throwsAt(() => parse('-- requires: yesterday\n-- migrate:up\nSELECT 1;\n'), 1, /not a migration version/);
    throwsAt(() => parse('-- migrate:up\n-- only a comment\n-- migrate:down\nSELECT 1;\n'), 1, /up section has no SQL statement/);
    throwsAt(() => parse('-- migrate:up\nSELECT 1;\n', 'add_users.sql'), undefined, /bad migration file name/);
  });

  it('validates file names, including the timestamp', () => {
    assert.deepEqual(parseFileName('20261121093000_add-users_2.sql'), { version: '20261121093000', name: 'add-users_2' });
    assert.equal(parseFileName('20261321093000_x.sql'), undefined, 'month 13');
    assert.equal(parseFileName('20260230093000_x.sql'), undefined, 'February 30');
    assert.equal(parseFileName('20261121096000_x.sql'), undefined, 'minute 60');
    assert.equal(parseFileName('2026112109300_x.sql'), undefined, '13 digits');
    assert.equal(parseFileName('20261121093000_.sql'), undefined, 'no slug');
    assert.equal(parseFileName('20261121093000_a b.sql'), undefined, 'space');
  });

  it('rejects non-UTF-8 bytes naming line and column, and strips a BOM', () => {
    const bytes = Buffer.concat([Buffer.from('-- migrate:up\nSELECT \''), Buffer.from([0xe9]), Buffer.from('t\';\n')]);
    assert.throws(() => decodeUtf8(bytes, 'f.sql'), (e: BulwarkError) => {
      assert.match(e.message, /not valid UTF-8 \(byte 0xe9/);
      assert.deepEqual(e.location, { file: 'f.sql', line: 2, column: 9 });
      return true;
    });
    assert.equal(decodeUtf8(Buffer.from('\ufeff-- migrate:up\n'), 'f.sql'), '-- migrate:up\n');
    assert.equal(decodeUtf8(Buffer.from('é 日本 😀'), 'f.sql'), 'é 日本 😀');
  });
});

describe('loading a migrations folder', () => {
  const fsOf = (files: Record<string, string | Uint8Array>): MigrationFs => ({
    exists: () => true,
    readdir: () => Object.keys(files),
    readFile: (f) => {
      const c = files[path.basename(f)];
      return typeof c === 'string' ? Buffer.from(c) : c;
    },
  });
  const ok = '-- migrate:up\nSELECT 1;\n';

  it('sorts by version, ignores other files and drafts', () => {
    const set = loadMigrations('/m', fsOf({ '20260102000000_b.sql': ok, '20260101000000_a.sql': ok, 'README.md': '', '_draft.sql': '', '.hidden.sql': '' }));
    assert.deepEqual(set.migrations.map((m) => m.name), ['a', 'b']);
    assert.deepEqual(set.errors, []);
  });

  it('reports every broken file and keeps the good ones', () => {
    const set = loadMigrations('/m', fsOf({
      '20260101000000_a.sql': ok,
      '20260101000000_dup.sql': ok,
      'add_users.sql': ok,
      '20260103000000_empty.sql': '',
      '20260104000000_latin1.sql': Buffer.from([0x2d, 0x2d, 0xe9]),
      '20260105000000_req.sql': `-- requires: 20990101000000\n${ok}`,
    }));
    assert.deepEqual(set.migrations.map((m) => m.name), ['a', 'req']);
    const msgs = set.errors.map((e) => `${path.basename(e.location!.file)}: ${e.message}`).sort();
    assert.equal(msgs.length, 5);
    assert.match(msgs.join('\n'), /20260101000000_dup.sql: duplicate version 20260101000000: also used by 20260101000000_a.sql/);
    assert.match(msgs.join('\n'), /add_users.sql: bad migration file name/);
    assert.match(msgs.join('\n'), /empty.sql: the migration file is empty/);
    assert.match(msgs.join('\n'), /latin1.sql: the file is not valid UTF-8/);
    assert.match(msgs.join('\n'), /req.sql: requires 20990101000000, but there is no migration with that version/);
  });

  it('says which setting to change when the folder does not exist', () => {
    assert.throws(() => loadMigrations('/nope', { ...fsOf({}), exists: () => false }), /migrations folder \/nope does not exist[\s\S]*/);
  });
});
