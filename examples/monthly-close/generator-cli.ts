// Loads the monthly-close scenario into existing servers and writes the bank statements and the planted truth:
//
//   node -r @swc-node/register examples/monthly-close/generator-cli.ts --records 100000 \
//     [--pg postgres://...] [--mariadb mysql://...] [--bank-dir DIR] [--truth truth.json] [--seed N] [--period 2026-10]
//
// --pg defaults to DATABASE_URL and --mariadb to MARIADB_URL. The truth (counts per category, control totals per
// side, per-bank truth) is printed as JSON, and written to --truth when given.
import { writeFile } from 'node:fs/promises';
import { Pool } from 'pg';
import { createMysqlPool } from '../../activities/connectors/mysql';
import { generateScenario } from './generator';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function count(name: string, fallback: number): number {
  const raw = arg(name);
  if (raw === undefined) return fallback;
  const v = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} must be a whole number, got ${raw}`);
  return v;
}

async function main(): Promise<void> {
  const pgUrl = arg('pg') ?? process.env.DATABASE_URL;
  const myUrl = arg('mariadb') ?? process.env.MARIADB_URL;
  if (!pgUrl || !myUrl) throw new Error('give --pg and --mariadb (or set DATABASE_URL and MARIADB_URL)');
  const pg = new Pool({ connectionString: pgUrl, max: 2 });
  const mysql = createMysqlPool(myUrl);
  try {
    const gen = await generateScenario({
      records: count('records', 10_000),
      seed: count('seed', 20261031),
      period: arg('period'),
      pg,
      mysql,
      bankDir: arg('bank-dir'),
    });
    const { records, seed, period } = gen.plan;
    const json = JSON.stringify(
      { records, seed, period, files: gen.files, truth: gen.truth, seconds: gen.seconds },
      null,
      2,
    );
    const truthPath = arg('truth');
    if (truthPath) await writeFile(truthPath, `${json}\n`);
    console.log(json);
  } finally {
    await pg.end();
    await mysql.end();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
