// A bank reconciliation from a real-format statement (issue 17): the MT940 sample of a German bank (SEPA returns
// whose :86: remittance text carries "EREF+TFNR 40005 00005"), read through ../shared/samples as it is, against GL
// cash lines in PostgreSQL whose descriptions spell the same references differently ("TFNR-40005-00005",
// "tfnr 4400300001"). No field is shared: the references are found in the text on both sides (regex_extract), a
// rule matches on them (match_on), a reference with a different amount is the short payment, a same-day rule
// takes the collective booking, and the rest stand on their own side.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { parseStatementFile } from '../../activities/connectors/statement-file';
import { createReconActivities } from '../../activities/recon';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import type { ReconciliationDefinitionInput } from '../../domain/recon';
import { freshDatabase } from '../helpers/postgres';

const SAMPLE = resolve(__dirname, '../../../shared/samples/mt940/betterplace-sepa_mt9401.sta');
const ACCOUNT = '50880050/0194774600888';

let systems: SystemRegistry;
let dir: string;
let url: string;

// The GL's cash lines of that account on the statement's day, as a book-keeper typed them.
const GL: [doc: string, amount: string, description: string][] = [
  ['GL-1', '300.00', 'Retoure TFNR-40005-00005 Kunde Meier'],
  ['GL-2', '335.33', 'rueckl. tfnr 4400300001'],
  ['GL-3', '14990.00', 'Retoure TFNR 40005/00002 (less 10.00 charges)'],
  ['GL-4', '915311.55', 'TFNR 44003 00002 Rueckueberweisung'],
  ['GL-5', '66295.08', 'Sammler 0904059001'],
  ['GL-6', '-480.00', 'CHK 123456 supplier'],
];

const transformations = (field: string) => [
  {
    op: 'regex_extract' as const,
    field,
    into: 'tfnr',
    pattern: 'TFNR[-/ ]?(\\d{5})[-/ ]?(\\d{5})',
    flags: 'i',
    output: 'TFNR-$1$2',
    case: 'upper' as const,
  },
];

const definition: ReconciliationDefinitionInput = {
  id: 'bank-mt940-real',
  a: {
    name: 'BANK',
    source: { connector: 'mt940', path: SAMPLE },
    classification: 'internal',
    key_fields: ['account'],
    value_fields: ['amount'],
    date_field: 'booking_date',
    currency_field: 'currency',
    transformations: transformations('description'),
  },
  b: {
    name: 'GL',
    source: {
      connector: 'postgres',
      system: 'ledger',
      sql: 'SELECT doc, account, posted_on, amount, description FROM cash',
    },
    classification: 'internal',
    key_fields: ['account'],
    value_fields: ['amount'],
    date_field: 'posted_on',
    currency: 'EUR',
    id_field: 'doc',
    transformations: transformations('description'),
  },
  rules: [
    { id: 'reference', type: 'exact', match_on: ['tfnr'] },
    { id: 'same-day', type: 'exact', compare_date: true },
  ],
} as unknown as ReconciliationDefinitionInput;

beforeAll(async () => {
  url = await freshDatabase('recon_bank_real');
  const pg = new Client({ connectionString: url });
  await pg.connect();
  await pg.query(
    'CREATE TABLE cash (doc text PRIMARY KEY, account text NOT NULL, posted_on date NOT NULL, amount numeric(18,2) NOT NULL, description text)',
  );
  for (const [doc, amount, description] of GL)
    await pg.query('INSERT INTO cash VALUES ($1, $2, $3, $4, $5)', [doc, ACCOUNT, '2007-09-04', amount, description]);
  await pg.end();
  systems = systemsFromEnv({
    DATABASE_URL: url,
    FINFLOW_SYSTEMS: JSON.stringify({ ledger: { engine: 'postgres', url } }),
  });
  dir = await mkdtemp(join(tmpdir(), 'finflow-recon-bank-real-'));
}, 120_000);

afterAll(async () => {
  await systems?.close();
});

describe('a bank reconciliation from a real MT940 statement against GL lines in PostgreSQL', () => {
  it('finds the references in both texts, pairs by them and by the same day, names the short payment, and leaves the rest on its side', async () => {
    // What the statement holds, read by the same connector: the expected counts come from the file, not from memory.
    const file = await parseStatementFile(SAMPLE);
    const entries = file.statements.flatMap((s) => s.entries.map((e) => ({ ...e, account: s.account })));
    const ours = entries.filter((e) => e.account === ACCOUNT);
    expect(ours.map((e) => e.amount)).toEqual([
      '300',
      '335.33',
      '15000',
      '66295.08',
      '915311.55',
      '-204.88',
      '-999946.95',
    ]);

    const acts = createReconActivities({
      systems,
      recon: { workDir: join(dir, 'work'), reportsDir: join(dir, 'reports'), filesDir: dir },
    });
    const runId = 'recon:T:2007-09:bank-mt940-real/r1';
    for (const side of ['a', 'b'] as const)
      await acts.extractReconSide({
        runId,
        reconId: 'bank-mt940-real',
        side,
        definition,
        partitions: 1,
        asOf: '2007-09-30',
      });
    const summary = await acts.reconcilePartition({
      runId,
      reconId: 'bank-mt940-real',
      partition: 0,
      spillPartitions: 1,
      definition,
    });
    // 300, 335.33 and 915311.55 by reference in two spellings each; the collective booking 66295.08 on the same day.
    expect(summary.matches_by_rule).toEqual({ reference: 3, 'same-day': 1 });
    expect(summary.a.records_in).toBe(entries.length);
    expect(summary.b.records_in).toBe(GL.length);
    const others = entries.length - ours.length;
    expect(Object.fromEntries(Object.entries(summary.exceptions_by_category).filter(([, n]) => n > 0))).toEqual({
      // TFNR 40005 00002: 15000.00 at the bank, 14990.00 in the books.
      amount_mismatch: 1,
      // The books' uncleared check.
      missing_in_a: 1,
      // The storno and the collective debit of this account, and every entry of the statements of other accounts.
      missing_in_b: 2 + others,
    });
    // The short payment is the reference pair, with the reference as its evidence: not two unrelated records.
    const pg = new Client({ connectionString: url });
    await pg.connect();
    try {
      const { rows } = await pg.query<{ b_items: string[]; amount_a: string; amount_b: string; evidence: unknown }>(
        `SELECT b_items, amount_a::text, amount_b::text, evidence FROM recon_exceptions
          WHERE run_id = $1 AND category = 'amount_mismatch'`,
        [runId],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ b_items: ['GL:GL-3'], amount_a: '15000.00', amount_b: '14990.00' });
      expect(JSON.stringify(rows[0].evidence)).toContain('TFNR-4000500002');
    } finally {
      await pg.end();
    }
  });
});
