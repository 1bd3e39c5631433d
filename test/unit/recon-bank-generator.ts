// A generated bank statement against the GL cash account, sharing no key (both keyed by currency), with every kind
// of bank reconciliation item planted. Each record carries its planted truth in `memo`: `<kind>:<case>`, so a test
// can tell a right match from a wrong one without tracking ids.
import type { ReconciliationDefinitionInput } from '../../domain/recon/definition';
import type { RawRecord } from '../../domain/recon/normalise';
import { prng } from './recon-generator';

export const PERIOD_END = '2026-01-31';

/**
 * Bank transaction codes as camt.053 writes them (BkTxCd Domn/Fmly/SubFmly, the bank connectors' field
 * bank_transaction_code): a cash deposit at the counter, SEPA credit transfers received and issued, charges.
 */
export const TX = {
  deposit: 'PMNT/CNTR/CDPT',
  received: 'PMNT/RCDT/ESCT',
  issued: 'PMNT/ICDT/ESCT',
  charges: 'ACMT/MDOP/CHRG',
} as const;

/** Keeps cash deposits out of the one-to-one rules: a slip's total is never one receipt's amount by chance. */
const notDeposits = { bank_transaction_code: { not_in: [TX.deposit] } };

export const bankDefinition: ReconciliationDefinitionInput = {
  id: 'bank-vs-gl',
  a: {
    name: 'BANK',
    source: { connector: 'memory' },
    classification: 'confidential',
    key_fields: ['ccy'],
    value_fields: ['amount'],
    date_field: 'booked',
    currency: 'EUR',
    id_field: 'bank_ref',
    transformations: [
      // No field in common: both sides are keyed by the currency alone.
      { op: 'default', field: 'ccy', value: 'EUR' },
      {
        op: 'regex_extract',
        field: 'remittance',
        into: 'reference',
        pattern: '(INV|CHK)[-/ ]?(\\d{6})',
        flags: 'i',
        output: '$1-$2',
        case: 'upper',
      },
    ],
  },
  b: {
    name: 'GL',
    source: { connector: 'memory' },
    classification: 'confidential',
    key_fields: ['ccy'],
    value_fields: ['amount'],
    date_field: 'posted',
    currency: 'EUR',
    id_field: 'doc',
    transformations: [
      // No field in common: both sides are keyed by the currency alone.
      { op: 'default', field: 'ccy', value: 'EUR' },
      {
        op: 'regex_extract',
        field: 'description',
        into: 'reference',
        pattern: '(INV|CHK)[-/ ]?(\\d{6})',
        flags: 'i',
        output: '$1-$2',
        case: 'upper',
      },
    ],
  },
  rules: [
    { id: 'reference', type: 'exact', match_on: ['reference'] },
    { id: 'same-day', type: 'exact', compare_date: true, where_a: notDeposits },
    { id: 'window', type: 'date_window', days: 3, where_a: notDeposits },
    {
      id: 'deposit-slip',
      type: 'sum_window',
      one_side: 'a',
      days_before: 1,
      days_after: 0,
      min_items: 2,
      max_items: 8,
      // Only the bank's cash deposits are sums of receipts; a payment is never searched as one.
      where_a: { bank_transaction_code: { in: [TX.deposit] } },
    },
  ],
  categorisation: {
    timing_window_days: 31,
    bank: {
      bank_side: 'a',
      fee_field: 'remittance',
      fee_pattern: '\\b(FEE|CHARGE|COMMISSION)\\b',
      fee_threshold: '2.00',
      check_field: 'description',
      check_pattern: '^CHK\\b',
      period_end: PERIOD_END,
      in_transit_days: 2,
    },
  },
};

export type Kind =
  'payment' | 'referenced' | 'short' | 'deposit' | 'ambiguous' | 'fee' | 'check' | 'outgoing' | 'in_transit';

export interface BankScenario {
  bank: RawRecord[];
  gl: RawRecord[];
  planted: Record<Kind, number>;
}

function iso(day: number): string {
  return `2026-01-${String(day).padStart(2, '0')}`;
}

function cents(n: number): string {
  const s = String(Math.abs(n)).padStart(3, '0');
  return `${n < 0 ? '-' : ''}${s.slice(0, -2)}.${s.slice(-2)}`;
}

/** `payments` 1:1 lines and about a twentieth as many of every other kind. */
export function generateBankScenario(payments: number, seed = 17): BankScenario {
  const rnd = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const bank: RawRecord[] = [];
  const gl: RawRecord[] = [];
  const planted = Object.fromEntries(
    ['payment', 'referenced', 'short', 'deposit', 'ambiguous', 'fee', 'check', 'outgoing', 'in_transit'].map((k) => [
      k,
      0,
    ]),
  ) as Record<Kind, number>;
  // Every amount is distinct in size from every other, one cent apart at least: equal amounts are planted on purpose.
  const used = new Set<number>();
  const amount = (lo: number, hi: number): number => {
    for (;;) {
      const x = int(lo, hi);
      if (!used.has(x) && !used.has(x - 1) && !used.has(x + 1)) {
        used.add(x);
        return x;
      }
    }
  };
  let caseNo = 0;
  let invoiceNo = 100_000;
  const addBank = (memo: string, day: number, x: number, remittance: string, code?: string) =>
    bank.push({
      line: bank.length + 1,
      values: {
        bank_ref: `ST${bank.length + 1}`,
        booked: iso(day),
        amount: cents(x),
        remittance,
        bank_transaction_code: code ?? (x < 0 ? TX.issued : TX.received),
        memo,
      },
    });
  const addGl = (memo: string, day: number, x: number, description: string) =>
    gl.push({
      line: gl.length + 1,
      values: { doc: `DOC${gl.length + 1}`, posted: iso(day), amount: cents(x), description, memo },
    });
  const spellings = [
    (n: number) => `INV-${n}`,
    (n: number) => `payment inv${n} thank you`,
    (n: number) => `/INV/${n}/`,
    (n: number) => `REF INV-${n} CUST 77`,
  ];

  for (let p = 0; p < payments; p++) {
    const memo = `payment:${++caseNo}`;
    const x = amount(1_00, 50_000_00) * (rnd() < 0.5 ? -1 : 1);
    const day = int(1, 26);
    addGl(memo, day, x, rnd() < 0.5 ? 'supplier payment' : 'customer receipt');
    addBank(memo, day + int(0, 3), x, 'SEPA transfer');
    planted.payment++;
  }
  const some = Math.max(3, Math.round(payments / 20));
  for (let p = 0; p < some; p++) {
    // Paid with the invoice number in the text, booked up to 10 days later: only the reference ties them.
    const memo = `referenced:${++caseNo}`;
    const n = ++invoiceNo;
    const x = amount(1_00, 50_000_00);
    const day = int(1, 20);
    addGl(memo, day, x, `Invoice INV-${n}`);
    addBank(memo, day + int(0, 10), x, spellings[p % spellings.length](n));
    planted.referenced++;
  }
  for (let p = 0; p < some; p++) {
    const memo = `short:${++caseNo}`;
    const n = ++invoiceNo;
    const x = amount(100_00, 50_000_00);
    const day = int(1, 20);
    addGl(memo, day, x, `Invoice INV-${n}`);
    addBank(memo, day + int(0, 5), amount(1_00, x - 1), spellings[(p + 1) % spellings.length](n));
    planted.short++;
  }
  // Deposit slips every other day, so that their windows (the day before and the day) do not overlap; the receipts
  // of a slip fall on the day before and the day itself (across the day boundary).
  for (let day = 2; day <= 26; day += 2) {
    const memo = `deposit:${++caseNo}`;
    const parts = Array.from({ length: int(2, 8) }, () => amount(5_00, 2_000_00));
    parts.forEach((x, i) => addGl(memo, i % 2 === 0 ? day - 1 : day, x, 'cash receipt'));
    addBank(
      memo,
      day,
      parts.reduce((t, x) => t + x, 0),
      'CASH DEPOSIT',
      TX.deposit,
    );
    used.add(parts.reduce((t, x) => t + x, 0));
    planted.deposit++;
  }
  // One bank line with two GL lines of its amount in the window, and two bank lines against two GL lines of one
  // date: the data cannot say which belongs with which.
  {
    const memo = `ambiguous:${++caseNo}`;
    const x = amount(1_00, 50_000_00);
    addBank(memo, 10, x, 'SEPA transfer');
    addGl(memo, 9, x, 'supplier payment');
    addGl(memo, 11, x, 'supplier payment (posted twice?)');
    planted.ambiguous++;
    const memo2 = `ambiguous:${++caseNo}`;
    const y = amount(1_00, 50_000_00);
    addBank(memo2, 14, y, 'SEPA transfer');
    addBank(memo2, 16, y, 'SEPA transfer');
    addGl(memo2, 15, y, 'rent');
    addGl(memo2, 15, y, 'rent');
    planted.ambiguous++;
  }
  for (let p = 0; p < some; p++) {
    const memo = `fee:${++caseNo}`;
    // Small fees below the threshold are few: the range 0.10..2.00 holds about 60 amounts a cent apart.
    if (p % 2 === 0 || p >= 60) addBank(memo, int(1, 31), -amount(2_01, 80_00), 'ACCOUNT FEE 01/2026', TX.charges);
    else addBank(memo, int(1, 31), -amount(10, 2_00), 'SEPA', TX.charges);
    planted.fee++;
  }
  for (let p = 0; p < some; p++) {
    addGl(`check:${++caseNo}`, int(20, 31), -amount(10_00, 9_000_00), `CHK ${500_000 + p} supplier`);
    planted.check++;
    addGl(`outgoing:${++caseNo}`, int(28, 31), -amount(10_00, 9_000_00), 'transfer to supplier');
    planted.outgoing++;
    addGl(`in_transit:${++caseNo}`, int(30, 31), amount(10_00, 9_000_00), 'cash receipt');
    planted.in_transit++;
  }
  // The sources do not list records in the same order.
  for (let i = gl.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [gl[i], gl[j]] = [gl[j], gl[i]];
  }
  gl.forEach((r, i) => (r.line = i + 1));
  return { bank, gl, planted };
}
