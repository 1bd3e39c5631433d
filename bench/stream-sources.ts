// Streams N rows (default 1M) from PostgreSQL (cursor and COPY modes) and from MariaDB through the source
// connectors, checks the count and the exact sum against the database's own, and prints rows/s and memory.
//
//   node -r @swc-node/register bench/stream-sources.ts [--rows 1000000] [--batch 5000]
//
// Uses DATABASE_URL / MARIADB_URL when set, else starts an embedded PostgreSQL and a private MariaDB.
import { Pool } from 'pg';
import type { Pool as MysqlPool } from 'mysql2/promise';
import { createMysqlPool, mysqlBatches } from '../activities/connectors/mysql';
import { type DbQuery, type DbRecord, type PgStreamMode, postgresBatches } from '../activities/connectors/postgres';
import { minorToString } from '../domain/money';
import { createMariaDatabase, startMariaDb } from '../scripts/lib/mariadb';
import { createDatabase } from '../scripts/lib/pg-admin';
import { startEmbeddedPostgres } from '../scripts/lib/postgres';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const ROWS = arg('rows', 1_000_000);
const BATCH = arg('batch', 5000);

const query: DbQuery = {
  source: 'bench',
  sql: 'SELECT id, account, posted_on, amount, memo FROM ledger WHERE posted_on <= :as_of_date ORDER BY id',
  params: { as_of_date: { type: 'date', value: '2030-12-31' } },
  keyFields: ['id'],
  amountFields: ['amount'],
};

/** Cents of a decimal string with at most 2 decimals, without Decimal (so the bench times the connector). */
function cents(s: string): bigint {
  const dot = s.indexOf('.');
  if (dot < 0) return BigInt(s) * 100n;
  const frac = s.slice(dot + 1);
  if (frac.length > 2) throw new Error(`${s} has more than 2 decimals`);
  const neg = s.startsWith('-');
  const whole = BigInt(s.slice(0, dot) || '0') * 100n;
  const f = BigInt(frac.padEnd(2, '0'));
  return neg ? whole - f : whole + f;
}

async function measure(label: string, batches: AsyncIterable<DbRecord[]>, expected: { n: string; s: string }) {
  if (global.gc) global.gc();
  const rss0 = process.memoryUsage().rss;
  let peakRss = rss0;
  let peakHeap = 0;
  const t0 = performance.now();
  let n = 0;
  let total = 0n;
  for await (const batch of batches) {
    for (const r of batch) total += cents(r.amount!);
    n += batch.length;
    if ((n / batch.length) % 20 === 0) {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    }
  }
  const secs = (performance.now() - t0) / 1000;
  const ok = String(n) === expected.n && minorToString(total, 2) === expected.s;
  console.log(
    `${label.padEnd(22)} ${String(n).padStart(9)} rows  ${secs.toFixed(2).padStart(6)} s  ${Math.round(n / secs)
      .toLocaleString('en-US')
      .padStart(
        9,
      )} rows/s  peak heap ${(peakHeap / 2 ** 20).toFixed(0)} MB  rss +${((peakRss - rss0) / 2 ** 20).toFixed(0)} MB  ${
      ok ? 'count and sum match' : `MISMATCH: got ${n} / ${minorToString(total, 2)}, want ${expected.n} / ${expected.s}`
    }`,
  );
  if (!ok) process.exitCode = 1;
}

// Deterministic amounts with cents, both signs: ((id * 7919) mod 2000001 - 1000000) / 100.
async function seedPostgres(pool: Pool) {
  await pool.query(`CREATE TABLE ledger (id bigint PRIMARY KEY, account text NOT NULL, posted_on date NOT NULL,
    amount numeric(18,2) NOT NULL, memo text)`);
  await pool.query(
    `INSERT INTO ledger SELECT g, 'ACC-' || (g % 5000), date '2026-01-01' + (g % 300)::int,
       ((g * 7919) % 2000001 - 1000000) / 100.0, 'memo ' || g FROM generate_series(1, $1::bigint) g`,
    [ROWS],
  );
  await pool.query('ANALYZE ledger');
  const { rows } = await pool.query<{ n: string; s: string }>(
    'SELECT count(*)::text n, sum(amount)::text s FROM ledger',
  );
  return rows[0];
}

async function seedMaria(pool: MysqlPool) {
  await pool.query(`CREATE TABLE ledger (id BIGINT PRIMARY KEY, account VARCHAR(20) NOT NULL, posted_on DATE NOT NULL,
    amount DECIMAL(18,2) NOT NULL, memo VARCHAR(40)) ENGINE=InnoDB`);
  await pool.query('CREATE TABLE digits (d INT PRIMARY KEY)');
  await pool.query('INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)');
  // Blocks of 100k from a cross join of digit tables: portable to MySQL, and each statement stays moderate.
  for (let base = 0; base < ROWS; base += 100_000) {
    await pool.query(
      `INSERT INTO ledger
       SELECT g, CONCAT('ACC-', g % 5000), DATE_ADD('2026-01-01', INTERVAL g % 300 DAY),
              ((g * 7919) % 2000001 - 1000000) / 100, CONCAT('memo ', g)
       FROM (SELECT ? + a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 1 AS g
             FROM digits a, digits b, digits c, digits e, digits f) s WHERE g <= ?`,
      [base, ROWS],
    );
  }
  const [rows] = await pool.query('SELECT CAST(COUNT(*) AS CHAR) n, CAST(SUM(amount) AS CHAR) s FROM ledger');
  return (rows as { n: string; s: string }[])[0];
}

async function main() {
  const pgServer = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres();
  const maria = process.env.MARIADB_URL ? undefined : await startMariaDb({ bufferPoolMb: 512 });
  try {
    const pgUrl = await createDatabase(process.env.DATABASE_URL ?? pgServer!.adminUrl, 'finflow_bench_stream');
    const myUrl = await createMariaDatabase(process.env.MARIADB_URL ?? maria!.adminUrl, 'finflow_bench_stream');
    const pg = new Pool({ connectionString: pgUrl, max: 2 });
    const my = createMysqlPool(myUrl);
    try {
      let t = performance.now();
      const pgExpected = await seedPostgres(pg);
      console.log(`seeded ${ROWS} rows in PostgreSQL in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      t = performance.now();
      const myExpected = await seedMaria(my);
      console.log(`seeded ${ROWS} rows in MariaDB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      console.log(`batch size ${BATCH}; each run sums the amounts exactly (bigint cents) and checks count and sum`);
      for (const mode of ['cursor', 'copy', 'cursor', 'copy'] as PgStreamMode[])
        await measure(`postgres ${mode}`, postgresBatches(pg, query, { mode, batchSize: BATCH }), pgExpected);
      for (let i = 0; i < 2; i++)
        await measure('mariadb stream', mysqlBatches(my, query, { batchSize: BATCH }), myExpected);
    } finally {
      await pg.end();
      await my.end();
    }
  } finally {
    await maria?.stop();
    await pgServer?.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
