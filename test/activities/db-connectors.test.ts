import { ApplicationFailure } from '@temporalio/common';
import { Pool } from 'pg';
import type { Pool as MysqlPool } from 'mysql2/promise';
import { bindMysql, createMysqlPool, mysqlBatches, readMysql } from '../../activities/connectors/mysql';
import {
  type DbQuery,
  type DbRecord,
  type PgStreamMode,
  bindPostgres,
  canonicalDecimal,
  copyableSql,
  postgresBatches,
  readPostgres,
} from '../../activities/connectors/postgres';
import { SourceDataError, toSourceFailure } from '../../activities/connectors/source-error';
import { Dec, parseDecimal } from '../../domain/money';
import { freshMariaDatabase } from '../helpers/mariadb';
import { freshDatabase } from '../helpers/postgres';

const ROWS = 100_000;

async function collect(it: AsyncIterable<DbRecord[]>): Promise<{ rows: DbRecord[]; batches: number[] }> {
  const rows: DbRecord[] = [];
  const batches: number[] = [];
  for await (const b of it) {
    batches.push(b.length);
    rows.push(...b);
  }
  return { rows, batches };
}

/** Count and exact sum without keeping the rows: what a consumer of a million-row source does. */
async function countAndSum(
  it: AsyncIterable<DbRecord[]>,
  field: string,
): Promise<{ n: number; sum: string; max: number }> {
  let n = 0;
  let max = 0;
  let total = new Dec(0);
  for await (const b of it) {
    max = Math.max(max, b.length);
    n += b.length;
    for (const r of b) total = total.plus(parseDecimal(r[field]!));
  }
  return { n, sum: total.toFixed(), max };
}

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

const drain = async (it: AsyncIterable<unknown>) => {
  for await (const _ of it);
};

describe('named, typed parameters', () => {
  const q = (sql: string, params: DbQuery['params'] = {}): DbQuery => ({ source: 'ledger', sql, params });

  it('turns each :name into a typed PostgreSQL placeholder and reuses the slot when a name repeats', () => {
    const b = bindPostgres(
      q('SELECT * FROM t WHERE d <= :as_of AND a >= :min AND (d = :as_of OR n = :n) AND s = :s', {
        as_of: { type: 'date', value: '2026-10-31' },
        min: { type: 'decimal', value: '-12.50' },
        n: { type: 'int', value: 7 },
        s: { type: 'text', value: 'x' },
      }),
    );
    expect(b.text).toBe(
      'SELECT * FROM t WHERE d <= $1::date AND a >= $2::numeric AND (d = $1::date OR n = $3::bigint) AND s = $4::text',
    );
    expect(b.values).toEqual(['2026-10-31', '-12.50', '7', 'x']);
  });

  it('gives MySQL an exact DECIMAL cast sized from the value and repeats values for repeated names', () => {
    const b = bindMysql(
      q('SELECT * FROM t WHERE a >= :min AND b <= :min AND d = :d AND n = :n', {
        min: { type: 'decimal', value: '-1234.567' },
        d: { type: 'date', value: '2024-02-29' },
        n: { type: 'int', value: '9007199254740993' },
      }),
    );
    expect(b.text).toBe(
      'SELECT * FROM t WHERE a >= CAST(? AS DECIMAL(7,3)) AND b <= CAST(? AS DECIMAL(7,3)) AND d = CAST(? AS DATE) AND n = CAST(? AS SIGNED)',
    );
    expect(b.values).toEqual(['-1234.567', '-1234.567', '2024-02-29', '9007199254740993']);
  });

  it('leaves casts, string literals, quoted identifiers, comments and dollar quotes alone', () => {
    const sql =
      "SELECT x::text, ':no' AS a, \"col:no\", $q$ :no $q$, E'it\\'s :no' /* :no /* nested :no */ */ -- :no\nFROM t WHERE y = :yes";
    const b = bindPostgres(q(sql, { yes: { type: 'text', value: 'v' } }));
    expect(b.text).toBe(sql.replace(':yes', '$1::text'));
    const my = "SELECT 'it\\'s :no', `c:no` # :no\nFROM t WHERE y = :yes";
    expect(bindMysql(q(my, { yes: { type: 'text', value: 'v' } })).text).toBe(my.replace(':yes', '?'));
  });

  it.each([
    ['a date that is not on the calendar', { d: { type: 'date', value: '2026-02-30' } }, /parameter :d must be a date/],
    ['a decimal given as a float', { d: { type: 'decimal', value: 0.1 } }, /parameter :d must be a decimal string/],
    ['a decimal with an exponent', { d: { type: 'decimal', value: '1e3' } }, /parameter :d must be a decimal string/],
    ['an int that is not whole', { d: { type: 'int', value: '1.5' } }, /parameter :d must be an integer/],
    ['an int beyond 64 bits', { d: { type: 'int', value: '9223372036854775808' } }, /64-bit/],
    ['an unknown type', { d: { type: 'money', value: '1' } }, /unknown type "money"/],
  ] as const)('refuses %s', async (_what, params, message) => {
    const e = await failureOf((async () => bindPostgres(q('SELECT :d', params as never)))());
    expect(e).toBeInstanceOf(ApplicationFailure);
    expect((e as ApplicationFailure).nonRetryable).toBe(true);
    expect((e as ApplicationFailure).type).toBe('InvalidSource');
    expect((e as Error).message).toMatch(/^source ledger: /);
    expect((e as Error).message).toMatch(message);
  });

  it('refuses a name the SQL uses but nobody declared, one declared but unused, and positional placeholders', () => {
    expect(() => bindPostgres(q('SELECT :a'))).toThrow(/SQL uses :a, which has no parameter spec/);
    expect(() => bindPostgres(q('SELECT 1', { a: { type: 'int', value: 1 } }))).toThrow(
      /parameter :a is declared but the SQL does not use it/,
    );
    expect(() => bindPostgres(q('SELECT $1'))).toThrow(/positional parameters/);
    expect(() => bindMysql(q('SELECT ?'))).toThrow(/positional parameters/);
  });

  it('writes amounts canonically like the file connectors, without changing their value', () => {
    for (const s of [
      '0012.50',
      '-0.00',
      '+1.50',
      '.5',
      '5.',
      '-.5',
      '100',
      '-100.000',
      '0',
      '123456789012345678901.10',
    ])
      expect(canonicalDecimal(s)).toBe(parseDecimal(s).toFixed());
  });
});

describe('PostgreSQL source', () => {
  let pool: Pool;
  let expected: { n: string; s: string };

  beforeAll(async () => {
    pool = new Pool({ connectionString: await freshDatabase('db_connectors'), max: 3 });
    await pool.query(`CREATE TABLE ledger (id bigint PRIMARY KEY, account text NOT NULL, posted_on date NOT NULL,
      posted_at timestamptz NOT NULL, amount numeric(20,2) NOT NULL, memo text, amount_text text NOT NULL)`);
    await pool.query(
      `INSERT INTO ledger SELECT g, 'ACC-' || (g % 97), date '2026-01-01' + (g % 365)::int,
         timestamptz '2026-01-01 00:00:00+00:00' + make_interval(secs => g), ((g * 7919) % 2000001 - 1000000) / 100.0,
         CASE WHEN g % 10 = 0 THEN NULL ELSE 'memo ' || g END, (g % 1000)::text || '.10'
       FROM generate_series(1, $1::bigint) g`,
      [ROWS],
    );
    // Values the COPY text format must escape, and one that is not an amount, at known rows.
    await pool.query(`UPDATE ledger SET memo = E'tab\\there\\nnew line \\\\ back\\\\slash é' WHERE id = 3`);
    await pool.query(`UPDATE ledger SET amount_text = 'n/a' WHERE id = 4321`);
    await pool.query(`INSERT INTO ledger VALUES (${ROWS + 1}, 'BIG', '2026-12-31', '2026-12-31 23:59:59.5+00:00',
      '123456789012345678.01', NULL, '0.00')`);
    expected = (await pool.query<{ n: string; s: string }>('SELECT count(*)::text n, sum(amount)::text s FROM ledger'))
      .rows[0];
  });

  afterAll(async () => {
    await pool.end();
  });

  const all: DbQuery = {
    source: 'gl',
    sql: 'SELECT id, account, posted_on, posted_at, amount, memo FROM ledger ORDER BY id',
    keyFields: ['id'],
    amountFields: ['amount'],
    dateFields: ['posted_on'],
  };

  describe.each(['cursor', 'copy'] as PgStreamMode[])('in %s mode', (mode) => {
    it(`streams ${ROWS + 1} rows in bounded batches with the database's exact count and sum`, async () => {
      const { n, sum, max } = await countAndSum(postgresBatches(pool, all, { mode, batchSize: 2000 }), 'amount');
      expect(String(n)).toBe(expected.n);
      expect(sum).toBe(parseDecimal(expected.s).toFixed());
      expect(max).toBeLessThanOrEqual(2000);
    });

    it('returns every value as exact text: ISO dates and timestamps, decimals as strings, NULL as null', async () => {
      const { rows } = await collect(
        postgresBatches(
          pool,
          { ...all, sql: `${all.sql.replace('ORDER BY id', '')} WHERE id IN (3, 10, ${ROWS + 1}) ORDER BY id` },
          { mode },
        ),
      );
      expect(rows).toEqual([
        {
          id: '3',
          account: 'ACC-3',
          posted_on: '2026-01-04',
          posted_at: '2026-01-01T00:00:03+00:00',
          amount: String(((3 * 7919) % 2000001) - 1000000).replace(/(\d\d)$/, '.$1'),
          memo: 'tab\there\nnew line \\ back\\slash é',
        },
        {
          id: '10',
          account: 'ACC-10',
          posted_on: '2026-01-11',
          posted_at: '2026-01-01T00:00:10+00:00',
          amount: canonicalDecimal(String(((10 * 7919) % 2000001) - 1000000).replace(/(\d\d)$/, '.$1')),
          memo: null,
        },
        {
          id: String(ROWS + 1),
          account: 'BIG',
          posted_on: '2026-12-31',
          posted_at: '2026-12-31T23:59:59.5+00:00',
          amount: '123456789012345678.01',
          memo: null,
        },
      ]);
    });

    it('filters with named typed parameters exactly as the same query with positional ones', async () => {
      const q: DbQuery = {
        source: 'gl',
        sql: `SELECT id, amount FROM ledger
              WHERE posted_on <= :as_of_date AND amount >= :min_amount AND account <> :excluded AND id > :after
              ORDER BY id`,
        params: {
          as_of_date: { type: 'date', value: '2026-03-31' },
          min_amount: { type: 'decimal', value: '-2500.005' },
          excluded: { type: 'text', value: 'ACC-5' },
          after: { type: 'int', value: 100 },
        },
        amountFields: ['amount'],
      };
      const want = await pool.query<{ n: string; s: string }>(
        `SELECT count(*)::text n, coalesce(sum(amount), 0)::text s FROM ledger
         WHERE posted_on <= $1 AND amount >= $2 AND account <> $3 AND id > $4`,
        ['2026-03-31', '-2500.005', 'ACC-5', 100],
      );
      const got = await countAndSum(postgresBatches(pool, q, { mode }), 'amount');
      expect(got.n).toBe(Number(want.rows[0].n));
      expect(got.n).toBeGreaterThan(1000);
      expect(got.sum).toBe(parseDecimal(want.rows[0].s).toFixed());
    });

    it('keeps parameters apart whose names differ only in case', async () => {
      const q: DbQuery = {
        source: 'gl',
        sql: 'SELECT :lo AS lo, :LO AS hi, :lo AS lo_again',
        params: { lo: { type: 'int', value: 1 }, LO: { type: 'decimal', value: '2.50' } },
      };
      expect((await collect(postgresBatches(pool, q, { mode }))).rows).toEqual([
        { lo: '1', hi: '2.50', lo_again: '1' },
      ]);
    });

    it('treats a text parameter carrying SQL as a value, never as SQL', async () => {
      const q: DbQuery = {
        source: 'gl',
        sql: 'SELECT id FROM ledger WHERE account = :acct',
        params: { acct: { type: 'text', value: "x'; DROP TABLE ledger; --" } },
      };
      expect((await collect(postgresBatches(pool, q, { mode }))).rows).toEqual([]);
      expect((await pool.query('SELECT count(*)::int n FROM ledger')).rows[0].n).toBe(ROWS + 1);
    });

    it('fails non-retryably on an unknown column, naming the source and the field', async () => {
      const err = await failureOf(
        drain(postgresBatches(pool, { source: 'gl', sql: 'SELECT id, amountx FROM ledger' }, { mode })),
      );
      expect(err).toBeInstanceOf(ApplicationFailure);
      const f = err as ApplicationFailure;
      expect(f.nonRetryable).toBe(true);
      expect(f.type).toBe('InvalidSource');
      expect(f.message).toMatch(/^source gl: column "amountx" does not exist/);
      expect(f.details?.[0]).toMatchObject({ source: 'gl', field: 'amountx', sqlstate: '42703' });
    });

    it('fails non-retryably on SQL that does not parse', async () => {
      const err = await failureOf(
        drain(postgresBatches(pool, { source: 'gl', sql: 'SELEC id FROM ledger' }, { mode })),
      );
      expect((err as ApplicationFailure).nonRetryable).toBe(true);
      expect((err as Error).message).toMatch(/^source gl: syntax error/);
    });

    it('refuses a declared field the query does not return', async () => {
      const err = await failureOf(drain(postgresBatches(pool, { ...all, amountFields: ['amt'] }, { mode })));
      expect((err as Error).message).toMatch(/field amt is declared but the query returns no such column/);
    });

    it('refuses a value that is not an amount, naming the row and field', async () => {
      const q: DbQuery = {
        source: 'gl',
        sql: 'SELECT id, amount_text FROM ledger ORDER BY id',
        amountFields: ['amount_text'],
      };
      const err = await failureOf(drain(postgresBatches(pool, q, { mode, batchSize: 1000 })));
      expect(err).toBeInstanceOf(SourceDataError);
      expect(err).toMatchObject({ source: 'gl', row: 4321, field: 'amount_text' });
      expect((err as Error).message).toBe('gl row 4321, field amount_text: not a decimal amount: "n/a"');
      const failure = toSourceFailure(err) as ApplicationFailure;
      expect(failure.nonRetryable).toBe(true);
      expect(failure.type).toBe('SourceDataError');
    });

    it('refuses a statement that writes: sources are read in a read-only transaction', async () => {
      const q: DbQuery = { source: 'gl', sql: 'DELETE FROM ledger WHERE id = 1 RETURNING id' };
      const err = await failureOf(drain(postgresBatches(pool, q, { mode })));
      expect((err as ApplicationFailure).nonRetryable).toBe(true);
      expect((err as Error).message).toMatch(/^source gl: cannot execute DELETE in a read-only transaction/);
      expect((await pool.query('SELECT count(*)::int n FROM ledger WHERE id = 1')).rows[0].n).toBe(1);
    });

    it('writes timestamps in UTC and dates in ISO order whatever the session defaults are', async () => {
      const odd = new Pool({
        connectionString: (pool as unknown as { options: { connectionString: string } }).options.connectionString,
        options: '-c TimeZone=Asia/Tokyo -c DateStyle=SQL,DMY',
        max: 1,
      });
      try {
        const q: DbQuery = { source: 'gl', sql: `SELECT posted_on, posted_at FROM ledger WHERE id = ${ROWS + 1}` };
        expect((await collect(postgresBatches(odd, q, { mode }))).rows).toEqual([
          { posted_on: '2026-12-31', posted_at: '2026-12-31T23:59:59.5+00:00' },
        ]);
      } finally {
        await odd.end();
      }
    });

    it('runs a statement that ends in a semicolon or a comment', async () => {
      const q: DbQuery = {
        source: 'gl',
        sql: '/* lead */ SELECT id FROM ledger WHERE id <= 2 ORDER BY id; -- trailing',
      };
      expect((await collect(postgresBatches(pool, q, { mode }))).rows).toEqual([{ id: '1' }, { id: '2' }]);
    });

    it('gives the connection back when the consumer stops early, so the pool keeps working', async () => {
      let seen = 0;
      for await (const { line } of readPostgres(pool, all, { mode, batchSize: 500 })) {
        seen = line;
        if (line === 1200) break;
      }
      expect(seen).toBe(1200);
      // Three connections in the pool: if early exits leaked them, these would wait forever.
      for (let i = 0; i < 4; i++) {
        const { rows } = await collect(
          postgresBatches(pool, { source: 'gl', sql: 'SELECT id FROM ledger WHERE id <= 3' }, { mode }),
        );
        expect(rows.map((r) => r.id)).toEqual(['1', '2', '3']);
      }
    });
  });

  it('sends only a single SELECT, WITH, VALUES or TABLE statement to COPY; the cursor takes the rest', () => {
    expect(copyableSql('  -- c\n(SELECT 1);  ')).toBe('  -- c\n(SELECT 1)');
    expect(copyableSql('with a as (select 1) select * from a')).toBe('with a as (select 1) select * from a');
    expect(copyableSql('DELETE FROM t RETURNING id')).toBeUndefined();
    expect(copyableSql('SELECT 1; SELECT 2')).toBeUndefined();
    expect(copyableSql('selector')).toBeUndefined();
  });

  it('numbers rows from 1 in the order the query returns them', async () => {
    const lines: [number, string | null][] = [];
    for await (const { line, record } of readPostgres(pool, {
      source: 'gl',
      sql: 'SELECT id FROM ledger WHERE id < 4 ORDER BY id DESC',
    }))
      lines.push([line, record.id]);
    expect(lines).toEqual([
      [1, '3'],
      [2, '2'],
      [3, '1'],
    ]);
  });
});

describe('MariaDB source', () => {
  let mariaUrl: string;
  let pool: MysqlPool;
  let expected: { n: string; s: string };

  beforeAll(async () => {
    mariaUrl = await freshMariaDatabase('db_connectors');
    pool = createMysqlPool(mariaUrl);
    await pool.query(`CREATE TABLE ledger (id BIGINT PRIMARY KEY, account VARCHAR(20) NOT NULL, posted_on DATE NOT NULL,
      posted_at DATETIME(3) NOT NULL, amount DECIMAL(20,2) NOT NULL, memo VARCHAR(60), amount_text VARCHAR(20) NOT NULL,
      flag TINYINT(1) NOT NULL DEFAULT 0)`);
    await pool.query('CREATE TABLE digits (d INT PRIMARY KEY)');
    await pool.query('INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)');
    await pool.query(
      `INSERT INTO ledger (id, account, posted_on, posted_at, amount, memo, amount_text)
       SELECT g, CONCAT('ACC-', g % 97), DATE_ADD('2026-01-01', INTERVAL g % 365 DAY),
              DATE_ADD('2026-01-01 00:00:00', INTERVAL g SECOND), ((g * 7919) % 2000001 - 1000000) / 100,
              IF(g % 10 = 0, NULL, CONCAT('memo ', g)), CONCAT(g % 1000, '.10')
       FROM (SELECT a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 1 AS g
             FROM digits a, digits b, digits c, digits e, digits f) s`,
    );
    await pool.query(`UPDATE ledger SET amount_text = 'n/a' WHERE id = 4321`);
    await pool.query(`INSERT INTO ledger VALUES (${ROWS + 1}, 'BIG', '2026-12-31', '2026-12-31 23:59:59.500',
      '123456789012345678.01', 'tab\there', '0.00', 1)`);
    const [rows] = await pool.query('SELECT CAST(COUNT(*) AS CHAR) n, CAST(SUM(amount) AS CHAR) s FROM ledger');
    expected = (rows as { n: string; s: string }[])[0];
  });

  afterAll(async () => {
    await pool.end();
  });

  const all: DbQuery = {
    source: 'erp',
    sql: 'SELECT id, account, posted_on, posted_at, amount, memo, flag FROM ledger ORDER BY id',
    keyFields: ['id'],
    amountFields: ['amount'],
    dateFields: ['posted_on'],
  };

  it(`streams ${ROWS + 1} rows in bounded batches with the database's exact count and sum`, async () => {
    const { n, sum, max } = await countAndSum(mysqlBatches(pool, all, { batchSize: 2000 }), 'amount');
    expect(String(n)).toBe(expected.n);
    expect(sum).toBe(parseDecimal(expected.s).toFixed());
    expect(max).toBeLessThanOrEqual(2000);
  });

  it('returns DECIMAL and BIGINT as exact strings, dates as ISO strings, NULL as null', async () => {
    const { rows } = await collect(
      mysqlBatches(pool, {
        ...all,
        sql: `SELECT id, account, posted_on, posted_at, amount, memo, flag, CAST(9007199254740993 AS SIGNED) AS big
              FROM ledger WHERE id IN (10, ${ROWS + 1}) ORDER BY id`,
      }),
    );
    expect(rows).toEqual([
      {
        id: '10',
        account: 'ACC-10',
        posted_on: '2026-01-11',
        posted_at: '2026-01-01T00:00:10.000',
        amount: canonicalDecimal(String(((10 * 7919) % 2000001) - 1000000).replace(/(\d\d)$/, '.$1')),
        memo: null,
        flag: '0',
        big: '9007199254740993',
      },
      {
        id: String(ROWS + 1),
        account: 'BIG',
        posted_on: '2026-12-31',
        posted_at: '2026-12-31T23:59:59.500',
        amount: '123456789012345678.01',
        memo: 'tab\there',
        flag: '1',
        big: '9007199254740993',
      },
    ]);
  });

  it('filters with named typed parameters exactly as the same query with positional ones', async () => {
    const q: DbQuery = {
      source: 'erp',
      sql: `SELECT id, amount FROM ledger
            WHERE posted_on <= :as_of_date AND amount >= :min_amount AND account <> :excluded AND id > :after`,
      params: {
        as_of_date: { type: 'date', value: '2026-03-31' },
        min_amount: { type: 'decimal', value: '-2500.005' },
        excluded: { type: 'text', value: 'ACC-5' },
        after: { type: 'int', value: 100 },
      },
      amountFields: ['amount'],
    };
    const [want] = await pool.query(
      `SELECT CAST(COUNT(*) AS CHAR) n, CAST(COALESCE(SUM(amount), 0) AS CHAR) s FROM ledger
       WHERE posted_on <= ? AND amount >= -2500.005 AND account <> ? AND id > ?`,
      ['2026-03-31', 'ACC-5', 100],
    );
    const w = (want as { n: string; s: string }[])[0];
    const got = await countAndSum(mysqlBatches(pool, q), 'amount');
    expect(got.n).toBe(Number(w.n));
    expect(got.n).toBeGreaterThan(1000);
    expect(got.sum).toBe(parseDecimal(w.s).toFixed());
  });

  it('treats a text parameter carrying SQL as a value, never as SQL', async () => {
    const q: DbQuery = {
      source: 'erp',
      sql: 'SELECT id FROM ledger WHERE account = :acct',
      params: { acct: { type: 'text', value: "x'; DROP TABLE ledger; -- \\" } },
    };
    expect((await collect(mysqlBatches(pool, q))).rows).toEqual([]);
    const [rows] = await pool.query('SELECT COUNT(*) AS n FROM ledger');
    expect(Number((rows as { n: number }[])[0].n)).toBe(ROWS + 1);
  });

  it('fails non-retryably on an unknown column, naming the source and the field', async () => {
    const err = await failureOf(drain(mysqlBatches(pool, { source: 'erp', sql: 'SELECT id, amountx FROM ledger' })));
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect(f.nonRetryable).toBe(true);
    expect(f.type).toBe('InvalidSource');
    expect(f.message).toMatch(/^source erp: Unknown column 'amountx'/);
    expect(f.details?.[0]).toMatchObject({ source: 'erp', field: 'amountx', code: 'ER_BAD_FIELD_ERROR' });
  });

  it('fails non-retryably on SQL that does not parse', async () => {
    const err = await failureOf(drain(mysqlBatches(pool, { source: 'erp', sql: 'SELEC id FROM ledger' })));
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).toMatch(/^source erp: You have an error in your SQL syntax/);
  });

  it('refuses a value that is not an amount, naming the row and field', async () => {
    const q: DbQuery = {
      source: 'erp',
      sql: 'SELECT id, amount_text FROM ledger ORDER BY id',
      amountFields: ['amount_text'],
    };
    const err = await failureOf(drain(mysqlBatches(pool, q, { batchSize: 1000 })));
    expect(err).toBeInstanceOf(SourceDataError);
    expect((err as Error).message).toBe('erp row 4321, field amount_text: not a decimal amount: "n/a"');
  });

  it('refuses a statement that writes: sources are read in a read-only transaction', async () => {
    const err = await failureOf(drain(mysqlBatches(pool, { source: 'erp', sql: 'DELETE FROM ledger WHERE id = 1' })));
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).toMatch(/^source erp: .*READ ONLY transaction/);
    const [rows] = await pool.query('SELECT COUNT(*) AS n FROM ledger WHERE id = 1');
    expect(Number((rows as { n: number }[])[0].n)).toBe(1);
  });

  it('reads TIMESTAMP columns in UTC with their offset and puts the session time zone back', async () => {
    // One connection, so the read and the checks around it use the same session.
    const one = createMysqlPool(mariaUrl, { connectionLimit: 1 });
    try {
      const conn = await one.getConnection();
      try {
        await conn.query("SET time_zone = '+05:00'");
        await conn.query('CREATE TABLE stamps (id INT PRIMARY KEY, at TIMESTAMP(3) NOT NULL, wall DATETIME NOT NULL)');
        await conn.query("INSERT INTO stamps VALUES (1, '2026-10-31 10:00:00.000', '2026-10-31 10:00:00')");
      } finally {
        conn.release();
      }
      const { rows } = await collect(mysqlBatches(one, { source: 'erp', sql: 'SELECT at, wall FROM stamps' }));
      expect(rows).toEqual([{ at: '2026-10-31T05:00:00.000+00:00', wall: '2026-10-31T10:00:00' }]);
      const [tz] = await one.query('SELECT @@session.time_zone AS tz');
      expect((tz as { tz: string }[])[0].tz).toBe('+05:00');
    } finally {
      await one.end();
    }
  });

  it('gives the connection back when the consumer stops early, so the pool keeps working', async () => {
    let seen = 0;
    for await (const { line } of readMysql(pool, all, { batchSize: 500 })) {
      seen = line;
      if (line === 1200) break;
    }
    expect(seen).toBe(1200);
    for (let i = 0; i < 6; i++) {
      const { rows } = await collect(
        mysqlBatches(pool, { source: 'erp', sql: 'SELECT id FROM ledger WHERE id <= 3 ORDER BY id' }),
      );
      expect(rows.map((r) => r.id)).toEqual(['1', '2', '3']);
    }
  });
});
