// A deterministic generator of two sources with planted discrepancies of every category, for the scale test (and
// benchmarks). Each record carries its expected outcome in the `memo` field ("match:<rule>", "match:<rule>|<accepted
// category>" or "exc:<category>"), so a test can check every record without tracking ids.
import type { ReconciliationDefinitionInput } from '../../domain/recon/definition';
import type { RawRecord } from '../../domain/recon/normalise';

/** mulberry32: a small seeded PRNG (tests must be reproducible, so no Math.random). */
export function prng(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

export const scenarioDefinition: ReconciliationDefinitionInput = {
  id: 'gl-vs-bank',
  a: {
    name: 'GL',
    source: { connector: 'postgres', system: 'ledger', query: 'gl_lines' },
    classification: 'confidential',
    key_fields: ['account', 'ref'],
    value_fields: ['amount'],
    date_field: 'posted',
    currency_field: 'ccy',
  },
  b: {
    name: 'BANK',
    source: { connector: 'csv', path: 'bank.csv' },
    classification: 'confidential',
    key_fields: ['account', 'ref'],
    value_fields: ['amount'],
    date_field: 'posted',
    currency: 'EUR',
    mappings: [
      { from: 'acct_num', to: 'account' },
      { from: 'reference', to: 'ref' },
      { from: 'value_date', to: 'posted' },
    ],
    transformations: [
      { op: 'trim', field: 'ref' },
      { op: 'upper', field: 'ref' },
      { op: 'debit_credit', debit: 'debit', credit: 'credit', into: 'amount' },
      { op: 'date', field: 'posted', formats: ['dd.MM.yyyy'] },
    ],
  },
  rules: [
    { id: 'exact', type: 'exact', compare_date: true, expect_unique: true },
    { id: 'window', type: 'date_window', days: 3, expect_unique: true },
    { id: 'tol', type: 'tolerance', absolute: '0.05', max_days_apart: 3, expect_unique: true },
    { id: 'split', type: 'aggregated', cardinality: 'many_to_one' },
    {
      id: 'batch',
      type: 'subset_sum',
      group_by: { field: 'batch' },
      cardinality: 'many_to_many',
      max_items: 3,
      max_group_size: 20,
    },
  ],
};

export interface Scenario {
  a: RawRecord[];
  b: RawRecord[];
  /** Planted cases per expected outcome (a case may hold several records). */
  planted: Record<string, number>;
}

const BASE_DAY = Date.UTC(2026, 0, 1) / 86_400_000;

function isoOf(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

function cents(n: number): string {
  const neg = n < 0;
  const s = String(Math.abs(n)).padStart(3, '0');
  return `${neg ? '-' : ''}${s.slice(0, -2)}.${s.slice(-2)}`;
}

/**
 * About `n` records per side: clean pairs plus `perCategory` planted cases of every kind. Amounts are in cents.
 */
export function generateScenario(n: number, perCategory: number, seed = 42): Scenario {
  const rnd = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const a: RawRecord[] = [];
  const b: RawRecord[] = [];
  const planted: Record<string, number> = {};
  let caseNo = 0;
  const key = () => ({ account: String(4000 + int(0, 999)), ref: `R${++caseNo}` });
  const plant = (outcome: string) => (planted[outcome] = (planted[outcome] ?? 0) + 1);
  const pushA = (k: { account: string; ref: string }, amount: number, day: number, memo: string, batch = '') =>
    a.push({
      line: a.length + 1,
      values: { account: k.account, ref: k.ref, amount: cents(amount), posted: isoOf(day), ccy: 'EUR', memo, batch },
    });
  const pushB = (k: { account: string; ref: string }, amount: number, day: number, memo: string, batch = '') => {
    const d = isoOf(day);
    b.push({
      line: b.length + 1,
      values: {
        acct_num: k.account,
        // Lower case and padding that the B side's transformations undo.
        reference: ` ${k.ref.toLowerCase()} `,
        debit: amount >= 0 ? cents(amount) : '',
        credit: amount < 0 ? cents(-amount) : '',
        value_date: `${d.slice(8, 10)}.${d.slice(5, 7)}.${d.slice(0, 4)}`,
        memo,
        batch,
      },
    });
  };
  const amount = () => int(100, 10_000_000) * (rnd() < 0.1 ? -1 : 1);
  const day = () => BASE_DAY + int(0, 89);

  const cases: [string, () => void][] = [
    [
      'match:window',
      () => {
        const k = key();
        const x = amount();
        const d = day();
        pushA(k, x, d, 'match:window');
        pushB(k, x, d + int(1, 3) * (rnd() < 0.5 ? -1 : 1), 'match:window');
      },
    ],
    [
      'match:tol|rounding',
      () => {
        const k = key();
        const x = amount();
        const d = day();
        pushA(k, x, d, 'match:tol|rounding');
        pushB(k, x + (rnd() < 0.5 ? 1 : -1), d, 'match:tol|rounding');
      },
    ],
    [
      'match:tol|within_tolerance',
      () => {
        const k = key();
        const x = amount();
        const d = day();
        pushA(k, x, d, 'match:tol|within_tolerance');
        pushB(k, x + int(2, 5) * (rnd() < 0.5 ? 1 : -1), d, 'match:tol|within_tolerance');
      },
    ],
    [
      'match:split',
      () => {
        const k = key();
        const parts = [int(100, 500_000), int(100, 500_000), int(100, 500_000)].slice(0, int(2, 3));
        const d = day();
        pushA(
          k,
          parts.reduce((s, p) => s + p, 0),
          d,
          'match:split',
        );
        for (const p of parts) pushB(k, p, d + int(0, 5), 'match:split');
      },
    ],
    [
      'match:batch',
      () => {
        const batch = `P${caseNo}`;
        const invoices = [int(100, 900_000), int(100, 900_000), int(100, 900_000)];
        const d = day();
        for (const x of invoices) pushA(key(), x, d, 'match:batch', batch);
        const first = int(1, invoices[0] + invoices[1] - 1);
        pushB(key(), first, d + 1, 'match:batch', batch);
        pushB(key(), invoices[0] + invoices[1] + invoices[2] - first, d + 2, 'match:batch', batch);
      },
    ],
    ['exc:missing_in_b', () => pushA(key(), amount(), day(), 'exc:missing_in_b')],
    ['exc:missing_in_a', () => pushB(key(), amount(), day(), 'exc:missing_in_a')],
    [
      'exc:amount_mismatch',
      () => {
        const k = key();
        const x = amount();
        let delta = int(100, 100_000);
        if (delta % 9 === 0) delta++;
        const d = day();
        pushA(k, x, d, 'exc:amount_mismatch');
        pushB(k, x + delta, d, 'exc:amount_mismatch');
      },
    ],
    [
      'exc:duplicate_key',
      () => {
        const k = key();
        const d = day();
        const x = int(100, 500_000);
        pushA(k, x, d, 'exc:duplicate_key');
        pushA(k, x, d, 'exc:duplicate_key');
        pushB(k, x, d, 'exc:duplicate_key');
      },
    ],
    [
      'exc:timing_difference',
      () => {
        const k = key();
        const x = amount();
        const d = day();
        pushA(k, x, d, 'exc:timing_difference');
        pushB(k, x, d + int(5, 30), 'exc:timing_difference');
      },
    ],
    [
      'exc:sign_reversal',
      () => {
        const k = key();
        const x = amount();
        const d = day();
        pushA(k, x, d, 'exc:sign_reversal');
        pushB(k, -x, d, 'exc:sign_reversal');
      },
    ],
    [
      'exc:transposition',
      () => {
        let x: number;
        let swapped: number;
        // Two adjacent, different digits, never creating a leading zero.
        for (;;) {
          x = int(1000, 10_000_000);
          const s = String(x).split('');
          const p = int(0, s.length - 2);
          if (s[p] === s[p + 1] || (p === 0 && s[1] === '0')) continue;
          [s[p], s[p + 1]] = [s[p + 1], s[p]];
          swapped = Number(s.join(''));
          break;
        }
        const k = key();
        const d = day();
        pushA(k, x, d, 'exc:transposition');
        pushB(k, swapped, d, 'exc:transposition');
      },
    ],
  ];

  for (const [outcome, make] of cases)
    for (let i = 0; i < perCategory; i++) {
      make();
      plant(outcome);
    }
  // One batch too large for the subset search: its records stay open (each missing on the other side).
  const big = `BIG${caseNo}`;
  for (let i = 0; i < 25; i++) pushA(key(), int(100, 1000), day(), 'exc:missing_in_b', big);
  pushB(key(), 12_345, day(), 'exc:missing_in_a', big);
  plant('gave_up');

  while (a.length < n || b.length < n) {
    const k = key();
    const x = amount();
    const d = day();
    pushA(k, x, d, 'match:exact');
    pushB(k, x, d, 'match:exact');
    plant('match:exact');
  }
  // Interleave: the sources do not list records in the same order.
  for (let i = b.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [b[i], b[j]] = [b[j], b[i]];
  }
  b.forEach((r, i) => (r.line = i + 1));
  return { a, b, planted };
}
