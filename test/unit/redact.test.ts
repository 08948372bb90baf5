import { strict as assert } from 'assert';
import { Redactor, redact, redactUrl, urlPasswordSpan } from '../../src/core/redact';

describe('redact: URLs', () => {
  const cases: [string, string][] = [
    ['postgres://u:secret@host:5432/db', 'postgres://u:***@host:5432/db'],
    ['postgresql://u:secret@host/db', 'postgresql://u:***@host/db'],
    ['POSTGRES://u:secret@host/db', 'POSTGRES://u:***@host/db'],
    ['postgres://u:p@ss:w0rd@host/db', 'postgres://u:***@host/db'],
    ['postgres://u:p%40ss%3Aw0rd@host/db', 'postgres://u:***@host/db'],
    ['postgres://u:a@b@c@host:5432/db?sslmode=require', 'postgres://u:***@host:5432/db?sslmode=require'],
    ['postgres://u:pa/ss#w?rd@host/db', 'postgres://u:***@host/db'],
    ['postgres://:secret@host/db', 'postgres://:***@host/db'],
    ['postgres://u:secret@[::1]:5432/db', 'postgres://u:***@[::1]:5432/db'],
    ['postgres://u:secret@h1:5432,h2:5433/db', 'postgres://u:***@h1:5432,h2:5433/db'],
    ['postgres://u:secret@%2Fvar%2Frun%2Fpostgresql/db', 'postgres://u:***@%2Fvar%2Frun%2Fpostgresql/db'],
    // Azure-style user names contain an unencoded @: the password starts after the first colon.
    ['postgres://me@server:secret@server.postgres.database.azure.com/db', 'postgres://me@server:***@server.postgres.database.azure.com/db'],
    ['postgres://u@host/db', 'postgres://u@host/db'],
    ['postgres://u:@host/db', 'postgres://u:@host/db'],
    ['postgres://host:5432/db', 'postgres://host:5432/db'],
    ['postgres:///db?host=/tmp', 'postgres:///db?host=/tmp'],
    // another scheme's credentials are just as secret
    ['http://proxy:secret@proxy.local:3128', 'http://proxy:***@proxy.local:3128'],
  ];
  for (const [input, expected] of cases) {
    it(input, () => {
      assert.equal(redact(input), expected);
      assert.equal(redactUrl(input), expected);
    });
  }

  it('masks URLs inside free text, keeping the text around them', () => {
    assert.equal(
      redact('connecting to postgres://deploy:s3cret@db-prod:5432/app failed: timeout'),
      'connecting to postgres://deploy:***@db-prod:5432/app failed: timeout',
    );
    assert.equal(redact('(postgres://deploy:s3cret@db/app).'), '(postgres://deploy:***@db/app).');
    assert.equal(redact('url=postgres://deploy:s3cret@db/app\nnext line'), 'url=postgres://deploy:***@db/app\nnext line');
  });

  it('masks every URL of a text', () => {
    assert.equal(
      redact('from postgres://a:one@h1/db to postgresql://b:two@h2/db'),
      'from postgres://a:***@h1/db to postgresql://b:***@h2/db',
    );
    assert.equal(redact('postgres://a:one@h1/db,postgres://b:two@h2/db'), 'postgres://a:***@h1/db,postgres://b:***@h2/db');
  });

  it('stops at the closing quote of a quoted URL', () => {
    assert.equal(
      redact('{"url":"postgres://u:s3cret@h/db","contact":"dba@example.com"}'),
      '{"url":"postgres://u:***@h/db","contact":"dba@example.com"}',
    );
    assert.equal(redact(`'postgres://u:s3cret@h/db', 'x@y'`), `'postgres://u:***@h/db', 'x@y'`);
  });

  it('masks a quoted password containing an escaped quote completely', () => {
    assert.equal(redact('{"url":"postgres://u:a\\"b@h/db"}'), '{"url":"postgres://u:***@h/db"}');
  });

  it('over-masks rather than leaks when a query parameter contains @', () => {
    const out = redact('postgres://u:secret@h/db?application_name=me@laptop');
    assert.ok(!out.includes('secret'), out);
    assert.ok(out.startsWith('postgres://u:***@'), out);
  });

  it('masks a password with an unencoded scheme-like part', () => {
    const out = redact('postgres://u:pa://ss@h/db');
    assert.ok(!out.includes('pa://ss'), out);
  });

  it('redactUrl masks a password with a blank (the whole string is the URL)', () => {
    assert.equal(redactUrl('postgres://u:my secret@h/db'), 'postgres://u:***@h/db');
  });

  it('masks password query parameters', () => {
    assert.equal(redact('postgres://u@h/db?password=secret&sslmode=require'), 'postgres://u@h/db?password=***&sslmode=require');
    assert.equal(redact('postgres://u@h/db?sslmode=require&password=secret'), 'postgres://u@h/db?sslmode=require&password=***');
    assert.equal(redactUrl('postgres://u@h/db?sslpassword=secret#x'), 'postgres://u@h/db?sslpassword=***#x');
  });

  it('urlPasswordSpan finds the password between user: and the last @', () => {
    const url = 'postgres://u:p@ss:w0rd@host/db';
    const span = urlPasswordSpan(url);
    assert.ok(span);
    assert.equal(url.slice(span.start, span.end), 'p@ss:w0rd');
    assert.equal(urlPasswordSpan('postgres://u@host/db'), undefined);
    assert.equal(urlPasswordSpan('not a url'), undefined);
  });
});

describe('redact: keyword strings', () => {
  const cases: [string, string][] = [
    ['host=db password=secret dbname=app', 'host=db password=*** dbname=app'],
    ["host=db password='sec ret' dbname=app", "host=db password='***' dbname=app"],
    ["password='it\\'s secret' user=u", "password='***' user=u"],
    ['password = secret user=u', 'password = *** user=u'],
    ['password="secret" user=u', 'password="***" user=u'],
    ['PASSWORD=secret', 'PASSWORD=***'],
    ['PGPASSWORD=secret psql', 'PGPASSWORD=*** psql'],
    ['export PGPASSWORD="secret"', 'export PGPASSWORD="***"'],
    ['sslpassword=secret', 'sslpassword=***'],
    ['DB_PASSWORD=secret', 'DB_PASSWORD=***'],
    ['{"host":"h","password":"secret"}', '{"host":"h","password":"***"}'],
    ["{ host: 'h', password: 'secret' }", "{ host: 'h', password: '***' }"],
  ];
  for (const [input, expected] of cases) {
    it(input, () => assert.equal(redact(input), expected));
  }

  it('leaves ordinary text and passwordEnv alone', () => {
    for (const text of [
      'password authentication failed for user "deploy"',
      'passwordEnv=TEST_PGPASSWORD',
      '"passwordEnv": "TEST_PGPASSWORD"',
      'the password: is read from ~/.pgpass',
      'nopassword=1',
    ]) {
      assert.equal(redact(text), text);
    }
  });
});

describe('redact: known secrets', () => {
  it('replaces every occurrence of each secret', () => {
    assert.equal(redact('secret1 and secret1 and other', ['secret1', 'other']), '*** and *** and ***');
  });

  it('ignores secrets shorter than 3 characters', () => {
    assert.equal(redact('a ab abc', ['a', 'ab', 'abc']), 'a ab ***');
  });

  it('masks the longest secret first', () => {
    assert.equal(redact('hunter2hunter2 hunter2', ['hunter2', 'hunter2hunter2']), '*** ***');
  });

  it('masks the percent-encoded form of a secret', () => {
    assert.equal(redact('pw p%40ss%3Aw0rd!', ['p@ss:w0rd']), 'pw ***!');
  });

  it('handles regex characters in secrets literally', () => {
    assert.equal(redact('x a.b*c(d y', ['a.b*c(d']), 'x *** y');
  });

  it('masks a secret that appears outside any URL or keyword', () => {
    assert.equal(redact('error near "Tr0ub4dor&3" at line 1', ['Tr0ub4dor&3']), 'error near "***" at line 1');
  });
});

describe('Redactor', () => {
  it('remembers secrets as they are added', () => {
    const r = new Redactor();
    assert.equal(r.redact('token s3cr3t-x'), 'token s3cr3t-x');
    r.add('s3cr3t-x');
    r.add('another1', 'xy');
    assert.equal(r.redact('token s3cr3t-x another1 xy'), 'token *** *** xy');
  });

  it('also masks URLs and keywords', () => {
    const r = new Redactor();
    assert.equal(r.redact('postgres://u:pw1@h/db password=pw2'), 'postgres://u:***@h/db password=***');
  });
});

describe('redact: URL scan', () => {
  // The scan looks for `://` and walks back to the scheme. The regex it replaced
  // (/[A-Za-z][A-Za-z0-9+.-]*:\/\//g, leftmost match, resumed after each masked span) is the oracle here,
  // on random texts made of the characters that matter (scheme characters, separators, quotes, blanks).
  function oracle(text: string): string {
    const re = /[A-Za-z][A-Za-z0-9+.-]*:\/\//g;
    let out = '';
    let cursor = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m.index < cursor) continue;
      const authorityStart = m.index + m[0].length;
      const quote = m.index > 0 ? text[m.index - 1] : '';
      const quoted = quote === '"' || quote === "'" || quote === '`';
      let end = authorityStart;
      for (; end < text.length; end++) {
        const c = text[end];
        if (/\s/.test(c)) break;
        if (quoted && c === quote && text[end - 1] !== '\\') break;
        if ((c === ',' || c === ';') && /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text.slice(end + 1, end + 40))) break;
      }
      const at = text.lastIndexOf('@', end - 1);
      if (at < authorityStart) continue;
      const colon = text.indexOf(':', authorityStart);
      if (colon < 0 || colon >= at || colon + 1 === at) continue;
      out += text.slice(cursor, colon + 1) + '***';
      cursor = at;
      re.lastIndex = at;
    }
    return out + text.slice(cursor);
  }

  it('masks exactly what a leftmost scheme match would, on 20,000 random texts', () => {
    const alphabet = ['a', 'b', 'Z', '1', '+', '.', '-', ':', '/', '//', '://', '@', ' ', '"', "'", ',', ';', 'x://', 'p:s@'];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let masked = 0;
    for (let i = 0; i < 20000; i++) {
      let t = '';
      const len = 1 + rand(24);
      for (let j = 0; j < len; j++) t += alphabet[rand(alphabet.length)];
      const expected = oracle(t);
      if (expected !== t) masked++;
      assert.equal(redact(t), expected, JSON.stringify(t));
    }
    assert.ok(masked > 1000, `only ${masked} texts had something to mask: the generator does not exercise the scan`);
  });

  it('is linear in long runs of scheme characters', () => {
    const text = 'a'.repeat(200_000) + ' postgres://u:secret@h/db';
    assert.equal(redact(text), 'a'.repeat(200_000) + ' postgres://u:***@h/db');
  });
});
