// A bank statement against the GL cash account at bench scale, sharing no key (both keyed by currency alone), with
// the kinds of test/unit/recon-bank-generator.ts planted at rates instead of counts, spread over `days` calendar days
// (deposit slips on any day, so their windows overlap). Each record carries its planted truth in `memo`
// (`<kind>:<case>`), so the bench tells a right match from a wrong one without tracking ids.
// Amounts are distinct and at least a cent apart, except the ambiguity planted on purpose, as in the unit generator;
// a deposit's total is not kept apart from other amounts (it is whatever its receipts add up to).
// Deposit slips carry what real data carries, at rates (SLIP_RATES): most slips' bank line and receipts both name the
// deposit slip number (the bank's remittance text, the cashier's GL description, in a few spellings); some only the
// GL receipts do (the bank line says CASH DEPOSIT); some neither. Independently, most deposit lines give the number of
// items the slip holds (camt.053 NtryDtls/Btch/NbOfTxs, field batch_items). A few slips with a slip number on both
// sides have one receipt posted with a wrong amount (kind slip_diff: an amount_mismatch naming the slip number).
import type { RawRecord } from '../../domain/recon/normalise';
import { TX } from '../../test/unit/recon-bank-generator';
import { prng } from '../../test/unit/recon-generator';

export type BankKind =
  | 'payment'
  | 'referenced'
  | 'short'
  | 'deposit'
  | 'slip_diff'
  | 'ambiguous'
  | 'fee'
  | 'check'
  | 'outgoing'
  | 'in_transit';

/** Where a planted deposit slip's number is written: bank line and receipts, the receipts only, or nowhere. */
export type SlipReference = 'both' | 'gl_only' | 'none';

/** Shares of slips by where their number is written, and of deposit lines giving their item count. */
export const SLIP_RATES = { both: 0.8, gl_only: 0.1, none: 0.1, item_count: 0.7 } as const;

export const BANK_KINDS: readonly BankKind[] = [
  'payment',
  'referenced',
  'short',
  'deposit',
  'slip_diff',
  'ambiguous',
  'fee',
  'check',
  'outgoing',
  'in_transit',
];

export interface BankBenchScenario {
  bank: RawRecord[];
  gl: RawRecord[];
  /** Planted cases per kind (a deposit slip is one case of 1 bank line and 2..8 GL receipts). */
  planted: Record<BankKind, number>;
  receipts: number;
  periodEnd: string;
  /** Per deposit case (its memo): where its slip number is written, and whether its bank line gives the item count. */
  slips: Map<string, { reference: SlipReference; counted: boolean }>;
}

export interface BankBenchOptions {
  /** Bank lines in all (default 100,000). */
  bankLines: number;
  /** Calendar days the lines are spread over, from 2026-01-01 (default 365). */
  days: number;
  /** Share of bank lines that are deposit slips (default 0.05). */
  depositShare: number;
  seed: number;
}

const DAY_MS = 86_400_000;
const START = Date.UTC(2026, 0, 1);

function iso(day: number): string {
  return new Date(START + (day - 1) * DAY_MS).toISOString().slice(0, 10);
}

function cents(n: number): string {
  const s = String(Math.abs(n)).padStart(3, '0');
  return `${n < 0 ? '-' : ''}${s.slice(0, -2)}.${s.slice(-2)}`;
}

export function generateBankBench(o: BankBenchOptions): BankBenchScenario {
  const rnd = prng(o.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const bank: RawRecord[] = [];
  const gl: RawRecord[] = [];
  const planted = Object.fromEntries(BANK_KINDS.map((k) => [k, 0])) as Record<BankKind, number>;
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
  let receipts = 0;
  const last = o.days;
  // Each bank line carries the bank's transaction code (camt.053 BkTxCd): a cash deposit, a credit transfer received
  // or issued, charges.
  const addBank = (memo: string, day: number, x: number, remittance: string, code?: string, items = '') =>
    bank.push({
      line: bank.length + 1,
      values: {
        bank_ref: `ST${bank.length + 1}`,
        booked: iso(day),
        amount: cents(x),
        remittance,
        bank_transaction_code: code ?? (x < 0 ? TX.issued : TX.received),
        batch_items: items,
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

  const deposits = Math.round(o.bankLines * o.depositShare);
  const referenced = Math.round(o.bankLines * 0.02);
  const shorts = Math.round(o.bankLines * 0.005);
  const fees = Math.round(o.bankLines * 0.01);
  const ambiguousPairs = 10;
  const payments = o.bankLines - deposits - referenced - shorts - fees - ambiguousPairs * 3;
  const glOnly = Math.round(o.bankLines * 0.005);

  for (let p = 0; p < payments; p++) {
    const memo = `payment:${++caseNo}`;
    const x = amount(1_00, 50_000_00) * (rnd() < 0.5 ? -1 : 1);
    const day = int(1, last - 5);
    addGl(memo, day, x, rnd() < 0.5 ? 'supplier payment' : 'customer receipt');
    addBank(memo, day + int(0, 3), x, 'SEPA transfer');
    planted.payment++;
  }
  for (let p = 0; p < referenced; p++) {
    const memo = `referenced:${++caseNo}`;
    const n = ++invoiceNo;
    const x = amount(1_00, 50_000_00);
    const day = int(1, last - 12);
    addGl(memo, day, x, `Invoice INV-${n}`);
    addBank(memo, day + int(0, 10), x, spellings[p % spellings.length](n));
    planted.referenced++;
  }
  for (let p = 0; p < shorts; p++) {
    const memo = `short:${++caseNo}`;
    const n = ++invoiceNo;
    const x = amount(100_00, 50_000_00);
    const day = int(1, last - 6);
    addGl(memo, day, x, `Invoice INV-${n}`);
    addBank(memo, day + int(0, 5), amount(1_00, x - 1), spellings[(p + 1) % spellings.length](n));
    planted.short++;
  }
  const slips = new Map<string, { reference: SlipReference; counted: boolean }>();
  const bankSlip = [(n: number) => `CASH DEPOSIT SLIP ${n}`, (n: number) => `DEP SLIP NO ${n} BRANCH 12`];
  const glSlip = [(n: number) => `cash receipt, slip ${n}`, (n: number) => `till 3 receipt dep.slip no. ${n}`];
  const slipDiffs = Math.round(o.bankLines * 0.001);
  for (let p = 0; p < deposits + slipDiffs; p++) {
    const diff = p >= deposits;
    const memo = `${diff ? 'slip_diff' : 'deposit'}:${++caseNo}`;
    const day = int(2, last - 3);
    const slipNo = 4_000_000 + caseNo;
    const u = rnd();
    const reference: SlipReference = diff || u < SLIP_RATES.both ? 'both' : u < 1 - SLIP_RATES.none ? 'gl_only' : 'none';
    const counted = rnd() < SLIP_RATES.item_count;
    const parts = Array.from({ length: int(2, 8) }, () => amount(5_00, 2_000_00));
    parts.forEach((x, i) =>
      addGl(memo, i % 2 === 0 ? day - 1 : day, x, reference === 'none' ? 'cash receipt' : glSlip[i % 2](slipNo)),
    );
    receipts += parts.length;
    // A slip_diff's bank line is the slip as the bank counted it: one receipt was posted 10.00 off.
    const total = parts.reduce((t, x) => t + x, 0) + (diff ? 10_00 : 0);
    const text = reference === 'both' ? bankSlip[p % 2](slipNo) : 'CASH DEPOSIT';
    addBank(memo, day, total, text, TX.deposit, counted ? String(parts.length) : '');
    used.add(total);
    if (diff) planted.slip_diff++;
    else {
      slips.set(memo, { reference, counted });
      planted.deposit++;
    }
  }
  for (let p = 0; p < ambiguousPairs; p++) {
    const day = int(5, last - 10);
    const memo = `ambiguous:${++caseNo}`;
    const x = amount(1_00, 50_000_00);
    addBank(memo, day, x, 'SEPA transfer');
    addGl(memo, day - 1, x, 'supplier payment');
    addGl(memo, day + 1, x, 'supplier payment (posted twice?)');
    planted.ambiguous++;
    const memo2 = `ambiguous:${++caseNo}`;
    const y = amount(1_00, 50_000_00);
    addBank(memo2, day + 4, y, 'SEPA transfer');
    addBank(memo2, day + 6, y, 'SEPA transfer');
    addGl(memo2, day + 5, y, 'rent');
    addGl(memo2, day + 5, y, 'rent');
    planted.ambiguous++;
  }
  for (let p = 0; p < fees; p++) {
    const memo = `fee:${++caseNo}`;
    if (p % 2 === 0 || p >= 60) addBank(memo, int(1, last), -amount(2_01, 80_00), 'ACCOUNT FEE', TX.charges);
    else addBank(memo, int(1, last), -amount(10, 2_00), 'SEPA', TX.charges);
    planted.fee++;
  }
  for (let p = 0; p < glOnly; p++) {
    addGl(`check:${++caseNo}`, int(last - 11, last), -amount(10_00, 9_000_00), `CHK ${500_000 + p} supplier`);
    planted.check++;
    addGl(`outgoing:${++caseNo}`, int(last - 3, last), -amount(10_00, 9_000_00), 'transfer to supplier');
    planted.outgoing++;
    addGl(`in_transit:${++caseNo}`, int(last - 1, last), amount(10_00, 9_000_00), 'cash receipt');
    planted.in_transit++;
  }
  // Neither source lists records in the other's order.
  for (const side of [bank, gl]) {
    for (let i = side.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [side[i], side[j]] = [side[j], side[i]];
    }
    side.forEach((r, i) => (r.line = i + 1));
  }
  return { bank, gl, planted, receipts, periodEnd: iso(last), slips };
}
