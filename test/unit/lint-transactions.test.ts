import { strict as assert } from 'node:assert';
import { ALL_RULES } from '../../src/core/lint';
import { applyFix, at, findingsOf, fixes, flags, passes, useParser } from '../helpers/lint';

const NO_TX = '-- migrate:up transaction:false\n';
const TX = '-- migrate:up\n';


describe('transaction rules', () => {
  useParser();

  describe('uncommitted-transaction', () => {
    const rule = 'uncommitted-transaction';

    it('flags a BEGIN never committed, at the BEGIN, and appends COMMIT', () => {
      const sql = `${NO_TX}BEGIN;\nALTER TABLE users ADD COLUMN bio text;\n`;
      const [f] = flags(rule, sql);
      assert.equal(f.severity, 'error');
      assert.equal(at(sql, f), 'BEGIN');
      assert.match(f.message, /never committed/);
      assert.match(f.message, /rolls it all back when the connection closes/);
      assert.match(f.message, /Add COMMIT;/);
      assert.equal(fixes(rule, sql), `${NO_TX}BEGIN;\nALTER TABLE users ADD COLUMN bio text;\nCOMMIT;\n`);
    });

    it('covers START TRANSACTION, a last statement without ";" and a trailing comment', () => {
      const sql = `${NO_TX}START TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nUPDATE t SET a = 1 -- done`;
      assert.equal(at(sql, flags(rule, sql)[0]), 'START TRANSACTION');
      assert.equal(fixes(rule, sql), `${NO_TX}START TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nUPDATE t SET a = 1;\nCOMMIT; -- done`);
    });

    it('judges each section on its own, putting COMMIT at the end of the right one', () => {
      const sql = `${NO_TX}BEGIN;\nCREATE TABLE t (id bigint);\n\n-- migrate:down transaction:false\nCOMMIT;\n`;
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'BEGIN');
      assert.equal(applyFix(sql, f), `${NO_TX}BEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;\n\n-- migrate:down transaction:false\nCOMMIT;\n`);
    });

    it('flags the transaction left open by COMMIT AND CHAIN', () => {
      const sql = `${NO_TX}BEGIN;\nUPDATE t SET a = 1;\nCOMMIT AND CHAIN;\nUPDATE t SET b = 1;`;
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'COMMIT AND CHAIN');
      assert.match(f.message, /AND CHAIN/);
      fixes(rule, sql);
    });

    it('flags files without markers when the runner does not wrap them', () => {
      flags(rule, 'BEGIN;\nCREATE TABLE t (id bigint);', { assumeInTransaction: false });
    });

    it('is silent when the transaction ends, and in sections the runner wraps (transaction-nesting reports those)', () => {
      passes(rule, `${NO_TX}BEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;`);
      passes(rule, `${NO_TX}BEGIN;\nCREATE TABLE t (id bigint);\nEND;`);
      passes(rule, `${NO_TX}START TRANSACTION;\nCREATE TABLE t (id bigint);\nROLLBACK;`);
      passes(rule, `${NO_TX}BEGIN;\nSAVEPOINT s;\nROLLBACK TO SAVEPOINT s;\nCOMMIT;`);
      passes(rule, `${NO_TX}CREATE INDEX CONCURRENTLY i ON t (a);`);
      passes(rule, `${TX}BEGIN;\nCREATE TABLE t (id bigint);`);
      passes(rule, 'BEGIN;\nCREATE TABLE t (id bigint);');
    });
  });

  describe('transaction-nesting', () => {
    const rule = 'transaction-nesting';

    it('flags BEGIN and COMMIT in a section Bulwark wraps, with fixes that remove them or switch to transaction:false', () => {
      const sql = `${TX}BEGIN;\nALTER TABLE users ADD COLUMN bio text;\nCOMMIT;\n`;
      const f = flags(rule, sql, {}, 2);
      assert.deepEqual(f.map((x) => at(sql, x)), ['BEGIN', 'COMMIT']);
      assert.equal(f[0].severity, 'error');
      assert.match(f[0].message, /Bulwark already runs this section in a transaction and refuses/);
      assert.match(f[0].message, /Remove it/);
      assert.match(f[1].message, /commit the first half of the migration/);
      const removed = applyFix(applyFix(sql, f[1]), f[0]);
      assert.equal(removed, `${TX}ALTER TABLE users ADD COLUMN bio text;\n`);
      passes(rule, removed);
      const marker = applyFix(sql, f[0], 1);
      assert.equal(marker, `-- migrate:up transaction:false\nBEGIN;\nALTER TABLE users ADD COLUMN bio text;\nCOMMIT;\n`);
      passes(rule, marker);
      passes('uncommitted-transaction', marker);
    });

    it('removes only the statement when it shares its line', () => {
      const sql = `${TX}SELECT 1; BEGIN; SELECT 2;`;
      assert.equal(fixes(rule, sql), `${TX}SELECT 1; SELECT 2;`);
    });

    it('flags ROLLBACK / END / ABORT / PREPARE TRANSACTION in a wrapped section, but not savepoints', () => {
      for (const stmt of ['ROLLBACK', 'END', 'ABORT', 'START TRANSACTION', 'COMMIT AND CHAIN']) flags(rule, `${TX}UPDATE t SET a = 1;\n${stmt};\n`);
      const sql = `${TX}PREPARE TRANSACTION 'x';`;
      const [p] = flags(rule, sql);
      assert.equal(at(sql, p), 'PREPARE TRANSACTION');
      assert.equal(p.fixes?.length, 1, 'no removal fix, only the marker fix');
      passes(rule, `${TX}SAVEPOINT a;\nUPDATE t SET a = 1;\nROLLBACK TO SAVEPOINT a;\nRELEASE a;`);
    });

    it('flags files without markers assumed to run in a transaction, and explains the assumption', () => {
      const [f] = flags(rule, 'BEGIN;\nCREATE TABLE t (id bigint);\n', {}, 1);
      assert.match(f.message, /assumed to run in a transaction \(lint setting assumeInTransaction\)/);
      assert.equal(f.fixes?.length, 1, 'no marker to change');
      passes(rule, 'BEGIN;\nCREATE TABLE t (id bigint);\nCOMMIT;', { assumeInTransaction: false });
    });

    it('flags a BEGIN while a transaction is open, outside the runner\'s transaction', () => {
      const sql = `${NO_TX}BEGIN;\nUPDATE t SET a = 1;\nBEGIN;\nUPDATE t SET b = 1;\nCOMMIT;\n`;
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'BEGIN');
      assert.equal(f.start, sql.indexOf('BEGIN', NO_TX.length + 1));
      assert.match(f.message, /already open/);
      assert.match(f.message, /the first COMMIT ends both/);
      assert.equal(fixes(rule, sql), `${NO_TX}BEGIN;\nUPDATE t SET a = 1;\nUPDATE t SET b = 1;\nCOMMIT;\n`);
    });

    it('flags COMMIT / ROLLBACK with no transaction open', () => {
      const sql = `${NO_TX}UPDATE t SET a = 1;\nCOMMIT;\n`;
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), 'COMMIT');
      assert.match(f.message, /already committed one by one/);
      assert.equal(fixes(rule, sql), `${NO_TX}UPDATE t SET a = 1;\n`);
      const rb = flags(rule, `${NO_TX}BEGIN;\nCOMMIT;\nROLLBACK;\n`)[0];
      assert.match(rb.message, /undoes nothing/);
      assert.equal(rb.fixes, undefined);
    });

    it('is silent on balanced transactions and chains outside the runner\'s transaction', () => {
      passes(rule, `${NO_TX}BEGIN;\nUPDATE t SET a = 1;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);\nSTART TRANSACTION;\nUPDATE t SET b = 1;\nROLLBACK;`);
      passes(rule, `${NO_TX}BEGIN;\nUPDATE t SET a = 1;\nCOMMIT AND CHAIN;\nUPDATE t SET b = 1;\nCOMMIT;`);
      passes(rule, `${TX}UPDATE t SET a = 1;`);
    });
  });

  describe('duplicate-column-assignment', () => {
    const rule = 'duplicate-column-assignment';

    it('flags a column defined twice in CREATE TABLE, at the second one', () => {
      const sql = 'CREATE TABLE users (id bigint, email text, "ID" int, id int);';
      const [f] = flags(rule, sql);
      assert.equal(f.severity, 'error');
      assert.equal(f.start, sql.lastIndexOf('id'));
      assert.equal(at(sql, f), 'id');
      assert.match(f.message, /Column id appears twice in CREATE TABLE users/);
      assert.match(f.message, /column "id" specified more than once/);
      assert.match(f.message, /Remove or rename the duplicate/);
    });

    it('flags INSERT column lists, UPDATE … SET and ON CONFLICT DO UPDATE SET', () => {
      const ins = 'INSERT INTO users (id, email, id) VALUES (1, \'a\', 2);';
      const [a] = flags(rule, ins);
      assert.equal(a.start, ins.lastIndexOf('id'));
      assert.match(a.message, /column list of INSERT INTO users/);
      const upd = "UPDATE users SET status = 'active', (email, status) = ('a', 'pending');";
      const [b] = flags(rule, upd);
      assert.equal(b.start, upd.lastIndexOf('status'));
      assert.match(b.message, /UPDATE users SET/);
      assert.match(b.message, /multiple assignments to same column "status"/);
      const oc = 'INSERT INTO t (k, v) VALUES (1, 2) ON CONFLICT (k) DO UPDATE SET v = 1, v = EXCLUDED.v;';
      assert.match(flags(rule, oc)[0].message, /ON CONFLICT DO UPDATE SET of t/);
    });

    it('allows assigning different elements of one array column, but not the whole column and an element', () => {
      passes(rule, 'UPDATE t SET tags[1] = \'a\', tags[2] = \'b\';');
      passes(rule, 'INSERT INTO t (tags[1], tags[2]) VALUES (\'a\', \'b\');');
      flags(rule, 'UPDATE t SET tags = \'{}\', tags[1] = \'a\';');
      flags(rule, 'UPDATE t SET tags[1] = \'a\', tags = \'{}\';');
    });

    it('flags view column lists and duplicate output names of views and CREATE TABLE AS', () => {
      const v = 'CREATE VIEW v (a, b, a) AS SELECT 1, 2, 3;';
      const [f] = flags(rule, v);
      assert.equal(f.start, v.lastIndexOf('a)'));
      assert.match(f.message, /the columns of view v/);
      const j = 'CREATE VIEW order_users AS SELECT o.id, u.id, u.email FROM orders o JOIN users u ON u.id = o.user_id;';
      const [g] = flags(rule, j);
      assert.equal(g.start, j.indexOf('u.id') + 2);
      assert.equal(at(j, g), 'id');
      const alias = 'CREATE MATERIALIZED VIEW m AS SELECT o.id, u.uid AS id FROM o, u;';
      assert.equal(at(alias, flags(rule, alias)[0]), 'id');
      assert.match(flags(rule, alias)[0].message, /materialized view m/);
      flags(rule, 'CREATE TABLE t (x, x) AS SELECT 1, 2;');
      const anon = 'CREATE VIEW v AS SELECT 1, a + 1 FROM t;';
      const [h] = flags(rule, anon);
      assert.equal(at(anon, h), '1', 'the last token of the second expression');
      assert.equal(h.start, anon.lastIndexOf('1'));
      assert.match(h.message, /"\?column\?" \(an expression without AS\)/);
      passes(rule, 'CREATE VIEW v AS SELECT 1 AS one, a + 1 AS next, count(*), now() FROM t;');
      flags(rule, 'CREATE TYPE pair AS (a int, a int);');
    });

    it('is silent on distinct names, renamed columns, * and expressions it cannot name', () => {
      passes(rule, 'CREATE TABLE t (id bigint, "Id" bigint, email text);');
      passes(rule, 'CREATE VIEW v (order_id, user_id) AS SELECT o.id, u.id FROM o, u;');
      passes(rule, 'CREATE VIEW v AS SELECT o.id, u.id AS user_id FROM o, u;');
      passes(rule, 'CREATE VIEW v AS SELECT o.*, u.id FROM o, u;');
      passes(rule, 'CREATE VIEW v AS SELECT a.x FROM a UNION SELECT b.x FROM b;');
      passes(rule, 'UPDATE t SET a = 1, b = 2 FROM u WHERE u.a = t.a;');
    });

    it('runs inside DO blocks', () => {
      const sql = 'DO $$ BEGIN UPDATE t SET a = 1, a = 2; END $$;';
      const [f] = flags(rule, sql);
      assert.equal(f.start, sql.lastIndexOf('a = 2'));
    });
  });

  describe('identifier-too-long', () => {
    const rule = 'identifier-too-long';
    const long = 'index_subscriptions_on_customer_id_and_plan_id_and_started_at_and_status';
    const cut = long.slice(0, 63);

    it('flags a created name over 63 bytes at the name, giving the truncated name, and fixes it', () => {
      const sql = `CREATE INDEX ${long} ON subscriptions (customer_id);`;
      const [f] = flags(rule, sql);
      assert.equal(f.severity, 'warning');
      assert.equal(at(sql, f), long);
      assert.match(f.message, new RegExp(`is ${long.length} bytes`));
      assert.match(f.message, new RegExp(`stores "${cut}"`));
      assert.match(f.message, /silently truncates/);
      assert.match(f.message, /Use a shorter name/);
      assert.equal(fixes(rule, sql), `CREATE INDEX ${cut} ON subscriptions (customer_id);`);
    });

    it('counts UTF-8 bytes, not characters, and cuts at a character boundary', () => {
      const name = 'é'.repeat(32); // 32 characters, 64 bytes
      const sql = `CREATE TABLE t (${name} int);`;
      const [f] = flags(rule, sql);
      assert.equal(at(sql, f), name);
      assert.match(f.message, /is 64 bytes/);
      assert.match(f.message, new RegExp(`stores "${'é'.repeat(31)}"`));
      fixes(rule, sql);
      passes(rule, `CREATE TABLE t (${'é'.repeat(31)}x int);`); // 63 bytes
      passes(rule, `CREATE TABLE ${'a'.repeat(63)} (id int);`);
    });

    it('flags tables, columns, constraints, quoted names, views, types, functions, triggers, policies and renames', () => {
      const q = `"${long.toUpperCase()}"`;
      const cases = [
        `CREATE TABLE ${long} (id int);`,
        `ALTER TABLE t ADD COLUMN ${long} int;`,
        `ALTER TABLE t ADD CONSTRAINT ${long} CHECK (a > 0);`,
        `CREATE TABLE t (id int CONSTRAINT ${q} PRIMARY KEY);`,
        `CREATE VIEW v AS SELECT 1 AS ${long};`,
        `CREATE TYPE ${long} AS ENUM ('a');`,
        `CREATE FUNCTION ${long}() RETURNS int LANGUAGE sql AS 'SELECT 1';`,
        `CREATE TRIGGER ${long} BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();`,
        `CREATE POLICY ${long} ON t USING (true);`,
        `CREATE SEQUENCE s.${long};`,
        `ALTER TABLE t RENAME COLUMN a TO ${long};`,
        `ALTER INDEX i RENAME TO ${q};`,
      ];
      for (const sql of cases) {
        const [f] = flags(rule, sql);
        assert.ok(at(sql, f) === long || at(sql, f) === q, sql);
        fixes(rule, sql);
      }
    });

    it('reports a name once per statement, and not where an existing long name is only referenced', () => {
      flags(rule, `CREATE TABLE ${long} (id int, parent int REFERENCES ${long} (id));`);
      passes(rule, `ALTER TABLE ${long} ADD COLUMN note text;`);
      passes(rule, `SELECT * FROM ${long};`);
      passes(rule, `ALTER TABLE ${long} RENAME TO short_name;`);
    });

    it('runs inside DO blocks', () => {
      const sql = `DO $$ BEGIN CREATE TABLE ${long} (id int); END $$;`;
      assert.equal(at(sql, flags(rule, sql)[0]), long);
    });
  });

  it('the documented bad examples are flagged and the good ones are not', () => {
    for (const id of ['uncommitted-transaction', 'transaction-nesting', 'duplicate-column-assignment', 'identifier-too-long']) {
      const rule = ALL_RULES.find((r) => r.id === id);
      assert.ok(rule?.bad && rule.good, id);
      const settings = { assumeInTransaction: false, pgVersion: id === 'unguarded-create' ? 13 : 17 };
      assert.ok(findingsOf(id, rule.bad, settings).length > 0, `${id}: bad example not flagged`);
      passes(id, rule.good, settings);
    }
  });
});
