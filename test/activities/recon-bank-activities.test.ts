// A bank reconciliation run through the activities from CSV exports: the statement's remittance text and the GL's
// descriptions carry the references (regex_extract), a rule matches on them (match_on), a deposit slip is one bank
// credit against receipts of two days (sum_window), and the leftovers are named as reconciling items.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReconActivities } from '../../activities/recon';
import { systemsFromEnv, type SystemRegistry } from '../../activities/systems';
import type { ReconciliationDefinitionInput } from '../../domain/recon';
import { freshDatabase } from '../helpers/postgres';

let systems: SystemRegistry;
let dir: string;

const bankCsv = `booking_date,amount,bank_ref,remittance
2026-01-05,1200.00,ST1,REF inv123456 thank you
2026-01-09,950.00,ST2,/INV/222222/
2026-01-12,600.00,ST3,CASH DEPOSIT
2026-01-15,-25.00,ST4,ACCOUNT FEE 01/2026
2026-01-20,-310.40,ST5,SEPA transfer
`;
const glCsv = `doc,posting_date,amount,description
D1,2026-01-03,1200.00,Invoice INV-123456
D2,2026-01-04,1000.00,Invoice INV-222222
D3,2026-01-11,250.00,cash receipt
D4,2026-01-12,350.00,cash receipt
D5,2026-01-20,-310.40,supplier payment
D6,2026-01-28,-480.00,CHK 900001 supplier
D7,2026-01-31,700.00,cash receipt
`;

function side(name: string, path: string, date: string, text: string, id: string) {
  return {
    name,
    source: { connector: 'csv', path },
    classification: 'internal',
    key_fields: ['ccy'],
    value_fields: ['amount'],
    date_field: date,
    currency: 'EUR',
    id_field: id,
    transformations: [
      { op: 'default' as const, field: 'ccy', value: 'EUR' },
      {
        op: 'regex_extract' as const,
        field: text,
        into: 'reference',
        pattern: '(INV|CHK)[-/ ]?(\\d{6})',
        flags: 'i',
        output: '$1-$2',
        case: 'upper' as const,
      },
    ],
  };
}

const definition: ReconciliationDefinitionInput = {
  id: 'bank-csv',
  a: side('BANK', 'bank.csv', 'booking_date', 'remittance', 'bank_ref'),
  b: side('GL', 'gl.csv', 'posting_date', 'description', 'doc'),
  rules: [
    { id: 'reference', type: 'exact', match_on: ['reference'] },
    { id: 'same-day', type: 'exact', compare_date: true },
    { id: 'slip', type: 'sum_window', one_side: 'a', days_before: 1 },
  ],
  categorisation: {
    bank: {
      bank_side: 'a',
      fee_field: 'remittance',
      fee_pattern: '\\bFEE\\b',
      check_field: 'description',
      check_pattern: '^CHK\\b',
      period_end: '2026-01-31',
    },
  },
};

beforeAll(async () => {
  const pgUrl = await freshDatabase('recon_bank');
  systems = systemsFromEnv({ DATABASE_URL: pgUrl });
  dir = await mkdtemp(join(tmpdir(), 'finflow-recon-bank-'));
  await writeFile(join(dir, 'bank.csv'), bankCsv);
  await writeFile(join(dir, 'gl.csv'), glCsv);
}, 120_000);

afterAll(async () => {
  await systems?.close();
});

describe('a bank reconciliation from CSV exports, through the activities', () => {
  it('matches by reference, same day and deposit slip, and names the short payment and the reconciling items', async () => {
    const acts = createReconActivities({
      systems,
      recon: { workDir: join(dir, 'work'), reportsDir: join(dir, 'reports'), filesDir: dir },
    });
    const runId = 'recon:T:2026-01:bank/r1';
    for (const s of ['a', 'b'] as const)
      await acts.extractReconSide({
        runId,
        reconId: 'bank-csv',
        side: s,
        definition,
        partitions: 1,
        asOf: '2026-01-31',
      });
    const summary = await acts.reconcilePartition({
      runId,
      reconId: 'bank-csv',
      partition: 0,
      spillPartitions: 1,
      definition,
    });
    expect(summary.matches_by_rule).toEqual({ reference: 1, 'same-day': 1, slip: 1 });
    expect(Object.fromEntries(Object.entries(summary.exceptions_by_category).filter(([, n]) => n > 0))).toEqual({
      amount_mismatch: 1,
      bank_fee: 1,
      outstanding_check: 1,
      deposit_in_transit: 1,
    });
    expect(summary.a.records_in).toBe(5);
    expect(summary.b.records_in).toBe(7);
    expect(summary.differences).toEqual([{ currency: 'EUR', a_minus_b: '-295.00', exceptions_total: '-295.00' }]);
  });
});
