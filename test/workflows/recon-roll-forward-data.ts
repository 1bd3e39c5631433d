// Two periods of one reconciliation (GL vs bank, both in PostgreSQL) for the roll-forward tests and the recorded
// history: period 1 leaves timing differences whose other sides reach the bank in period 2.
import { Client } from 'pg';
import type { ReconciliationDefinitionInput } from '../../domain/recon';

export const PERIOD_1 = '2025-12';
export const PERIOD_2 = '2026-02';

/** [key, amount, posted_on] */
type Row = [string, string, string];

export const GL: Row[] = [
  ['M-1', '100.00', '2025-12-10'],
  // Deposited on the last days of December; the bank books them in February.
  ['DEP-1', '500.00', '2025-12-30'],
  ['CHK-2', '-250.00', '2025-12-29'],
  // A check the bank never shows, and a posting nobody has explained.
  ['CHK-3', '-75.00', '2025-12-28'],
  ['ERR-4', '12.34', '2025-12-20'],
  ['M-2', '200.00', '2026-02-10'],
  ['NEW-5', '40.00', '2026-02-27'],
];

export const BANK: Row[] = [
  ['M-1', '100.00', '2025-12-10'],
  ['M-2', '200.00', '2026-02-10'],
  ['DEP-1', '500.00', '2026-02-02'],
  ['CHK-2', '-250.00', '2026-02-03'],
];

export async function loadTables(url: string): Promise<void> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    for (const [table, rows] of [
      ['gl', GL],
      ['bank', BANK],
    ] as const) {
      await db.query(
        `CREATE TABLE ${table} (ref text NOT NULL, amount numeric(18,2) NOT NULL, posted_on date NOT NULL)`,
      );
      await db.query(`INSERT INTO ${table} SELECT * FROM unnest($1::text[], $2::numeric[], $3::date[])`, [
        rows.map((r) => r[0]),
        rows.map((r) => r[1]),
        rows.map((r) => r[2]),
      ]);
    }
  } finally {
    await db.end();
  }
}

const side = (table: string, name: string): ReconciliationDefinitionInput['a'] => ({
  name,
  source: {
    connector: 'postgres',
    system: 'ledger',
    sql: `SELECT ref, amount, posted_on FROM ${table} WHERE posted_on BETWEEN :period_start AND :period_end`,
  },
  classification: 'internal',
  key_fields: ['ref'],
  value_fields: ['amount'],
  date_field: 'posted_on',
  currency: 'USD',
});

export function definition(): ReconciliationDefinitionInput {
  return {
    id: 'gl-vs-bank',
    a: side('gl', 'GL'),
    b: side('bank', 'Bank'),
    rules: [{ id: 'exact', type: 'exact', expect_unique: true }],
  };
}
