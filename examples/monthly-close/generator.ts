// The seed scenario's data at any size, with planted discrepancies whose truth is known exactly: a general ledger in
// PostgreSQL (journal lines), an ERP in MariaDB with its own column names, and the bank's statements as camt.053
// and MT940 files. The demo, the end-to-end test and bench:recon all load it, so their figures can be asserted
// against the planted truth rather than against what the engine happened to say.
//
// Deterministic: every row is a pure function of (seed, row index), so a side can be streamed (COPY, LOAD DATA,
// CSV) in constant memory and regenerated identically for the other side or for a comparison tool. No Math.random.
//
// Each planted discrepancy has its own document number, so no two of them can interact: what the engine must find
// per key is exactly one category (domain/recon/categorise.ts), given the rules of glVsErpDefinition().
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool as MysqlPool } from 'mysql2/promise';
import type { Pool as PgPool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { CATEGORIES, type Category, transposition } from '../../domain/recon/categorise';
import type { ReconciliationDefinitionInput, SourceRef } from '../../domain/recon/definition';

// ---- options and plan -------------------------------------------------------------------------------------------

export interface ScenarioOptions {
  /** Rows per side (before planted omissions and duplicates). */
  records: number;
  /** PRNG seed; the same seed and options give byte-identical data. Default 20261031. */
  seed?: number;
  /** Accounting period `yyyy-MM`; posting dates fall in it (timing differences may run past its end). Default 2026-10. */
  period?: string;
  currency?: string;
  /**
   * Planted discrepancies per category. Default: every category, about 1 per 2,000 rows each (at least 3 each),
   * capped so that planted rows stay under a fifth of the rows.
   */
  discrepancies?: Partial<Record<Category, number>>;
  /** GL cash lines that the bank statements report (half camt.053, half MT940). Default min(2000, records / 20). */
  bankEntries?: number;
}

/** Categories of the bank reconciliation (statement entries vs GL cash lines), side a = bank, b = GL. */
export const BANK_CATEGORIES = ['missing_in_a', 'missing_in_b', 'timing_difference', 'amount_mismatch'] as const;
export type BankCategory = (typeof BANK_CATEGORIES)[number];

export interface ScenarioPlan {
  records: number;
  seed: number;
  period: string;
  currency: string;
  /** Planted discrepancies of the GL-vs-ERP reconciliation, per category (every category present, maybe 0). */
  planted: Record<Category, number>;
  bankEntries: number;
  bankPlanted: Record<BankCategory, number>;
  /** Internal: a permutation of row indices scatters planted rows over the file. */
  stride: number;
  inverse: number;
  /** Slot ranges: [0, plantedTotal) planted rows, then bank cash lines. */
  plantedTotal: number;
  /** Category of each planted slot range, in order: [category, firstSlot, endSlot). */
  ranges: [Category, number, number][];
}

/** Side control totals: record count and exact sum (decimal string) of the reconciled amount. */
export interface SideTotals {
  records: number;
  amount: string;
}

export interface PlantedTruth {
  /** Exceptions the engine must report per category (one per planted discrepancy; duplicate_key one per key). */
  categories: Record<Category, number>;
  /** Pairs that match with no difference, and pairs matched with an accepted difference (rounding, within_tolerance). */
  matched: { exact: number; accepted: number };
  /** GL journal lines; `amount` is the sum of `balance`. */
  gl: SideTotals;
  /** ERP postings; `amount` is the sum of `total` rounded to 2 places half-even per record (what is reconciled). */
  erp: SideTotals & { amountRaw: string };
  bank: {
    categories: Record<BankCategory, number>;
    /** Entries in the statement files (camt.053 + MT940) and their signed sum. */
    statements: SideTotals;
    /** GL cash lines (accounts 1010 and 1020) and their sum. */
    glCash: SideTotals;
    /** Each bank's reconciliation on its own (bankDefinitions: statement file vs its GL cash account). */
    perBank: Record<BankName, BankTruth>;
  };
}

export type BankName = 'camt053' | 'mt940';

export interface BankTruth {
  /** The GL cash account the bank's statement reconciles against. */
  glAccount: string;
  categories: Record<BankCategory, number>;
  /** References (GL document numbers, or the bank's own for fees) per planted category. */
  keys: Record<BankCategory, string[]>;
  /** Pairs that match exactly. */
  matched: number;
  statements: SideTotals;
  glCash: SideTotals;
}

const DEFAULT_SEED = 20261031;
const MAX_RECORDS = 50_000_000;
/** The tolerance rule's absolute limit (cents); within_tolerance differences stay at or under it, others above. */
export const TOLERANCE_CENTS = 100;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function modInverse(a: number, m: number): number {
  if (m === 1) return 0;
  let [oldR, r] = [BigInt(a), BigInt(m)];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return Number(((oldS % BigInt(m)) + BigInt(m)) % BigInt(m));
}

/**
 * The categories planted in the GL-vs-ERP data; the others (proposals, bank reconciling items) are counted at 0, so
 * the truth still names every category the engine reports.
 */
export const PLANTABLE = new Set<Category>([
  'duplicate_key',
  'missing_in_a',
  'missing_in_b',
  'timing_difference',
  'sign_reversal',
  'transposition',
  'rounding',
  'amount_mismatch',
  'within_tolerance',
]);

export function planScenario(options: ScenarioOptions): ScenarioPlan {
  const records = options.records;
  if (!Number.isSafeInteger(records) || records < 1 || records > MAX_RECORDS)
    throw new RangeError(`records must be an integer from 1 to ${MAX_RECORDS}, got ${records}`);
  const seed = (options.seed ?? DEFAULT_SEED) >>> 0;
  const period = options.period ?? '2026-10';
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(period)) throw new RangeError(`period must be yyyy-MM, got ${period}`);
  const currency = options.currency ?? 'USD';
  const each = Math.max(3, Math.floor(records / 2000));
  const planted = {} as Record<Category, number>;
  for (const c of CATEGORIES) {
    const n = options.discrepancies?.[c] ?? (PLANTABLE.has(c) ? each : 0);
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`discrepancies.${c} must be a count, got ${n}`);
    if (n > 0 && !PLANTABLE.has(c)) throw new RangeError(`discrepancies.${c}: the generator does not plant ${c}`);
    planted[c] = n;
  }
  const bankEntries = options.bankEntries ?? Math.min(2000, Math.floor(records / 20));
  const plantedTotal = CATEGORIES.reduce((s, c) => s + planted[c], 0);
  if (plantedTotal + bankEntries > records)
    throw new RangeError(
      `${plantedTotal} planted discrepancies and ${bankEntries} bank entries do not fit in ${records} records`,
    );
  const ranges: [Category, number, number][] = [];
  let at = 0;
  for (const c of CATEGORIES) {
    ranges.push([c, at, at + planted[c]]);
    at += planted[c];
  }
  // A multiplier coprime with the row count permutes the slots; near the golden ratio it spreads them evenly.
  let stride = Math.max(1, Math.floor(records * 0.6180339887)) | 1;
  while (gcd(stride, records) !== 1) stride += 2;
  if (records === 1) stride = 1;
  const bank = Math.floor(bankEntries / 20);
  return {
    records,
    seed,
    period,
    currency,
    planted,
    bankEntries,
    bankPlanted: {
      missing_in_a: bank,
      missing_in_b: bank,
      timing_difference: bank,
      amount_mismatch: bank,
    },
    stride,
    inverse: modInverse(stride % records, records),
    plantedTotal,
    ranges,
  };
}

// ---- deterministic randomness -----------------------------------------------------------------------------------

/** A 32-bit hash of (seed, row, salt): murmur3's finaliser over a mixed word. Pure integer arithmetic. */
export function hash32(seed: number, row: number, salt: number): number {
  let h = (seed ^ Math.imul(row, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca77)) >>> 0;
  h ^= Math.floor(row / 0x100000000);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seeded PRNG stream (mulberry32), for callers that want a sequence rather than per-row values. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- rows -------------------------------------------------------------------------------------------------------

export interface GlRow {
  entryId: number;
  lineNo: number;
  documentNo: string;
  accountCode: string;
  departmentCode: string;
  /** ISO date. */
  postingDate: string;
  /** Signed cents, debit positive. */
  balanceCents: number;
  description: string;
}

export interface ErpRow {
  docRef: string;
  acctNum: string;
  deptId: string;
  postDate: string;
  /** Signed ten-thousandths: the ERP carries 4 decimals. */
  total4: number;
  memo: string;
}

const ACCOUNTS = [
  '1100', '1200', '1300', '1400', '1500', '1600', '2000', '2100', '2200', '2300', '2400', '3000', '4000', '4100',
  '4200', '4300', '5000', '5100', '5200', '5300', '5400', '6000', '6100', '6200', '6300', '6400', '6500', '7000',
  '7100', '7200', '8000', '8100',
]; // prettier-ignore
const DEPARTMENTS = ['D010', 'D020', 'D030', 'D040', 'D050', 'D060', 'D070', 'D080', 'D090', 'D100', 'D110', 'D120'];
/** GL cash accounts: 1010 is reported by the camt.053 bank, 1020 by the MT940 bank. */
export const CASH_ACCOUNTS = { camt053: '1010', mt940: '1020' } as const;

const monthDays = new Map<string, number>();
function daysInMonth(period: string): number {
  let d = monthDays.get(period);
  if (d === undefined) {
    const [y, m] = period.split('-').map(Number);
    d = new Date(Date.UTC(y, m, 0)).getUTCDate();
    monthDays.set(period, d);
  }
  return d;
}

function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Slot of a row in the permuted order, and back. */
function slotOf(plan: ScenarioPlan, i: number): number {
  return (i * plan.stride) % plan.records;
}
function rowOfSlot(plan: ScenarioPlan, slot: number): number {
  return Number((BigInt(slot) * BigInt(plan.inverse)) % BigInt(plan.records));
}

/** What happens to row i: a planted category, a bank cash line, or nothing. */
export function fateOf(plan: ScenarioPlan, i: number): Category | 'cash' | null {
  const slot = slotOf(plan, i);
  if (slot >= plan.plantedTotal) return slot < plan.plantedTotal + plan.bankEntries ? 'cash' : null;
  for (const [c, a, b] of plan.ranges) if (slot >= a && slot < b) return c;
  return null;
}

export function documentNo(plan: ScenarioPlan, i: number): string {
  return `J${plan.period.slice(2, 4)}${plan.period.slice(5, 7)}-${String(i + 1).padStart(8, '0')}`;
}

/** Index of the bank entry of a cash line (its slot past the planted ones), for which bank and bank discrepancy. */
function bankIndex(plan: ScenarioPlan, i: number): number {
  return slotOf(plan, i) - plan.plantedTotal;
}

function cashAccount(bankIdx: number): string {
  return bankIdx % 2 === 0 ? CASH_ACCOUNTS.camt053 : CASH_ACCOUNTS.mt940;
}

/** A magnitude whose digits allow a transposition at 10^2 or above that keeps its length. */
function transposable(cents: number): number | undefined {
  const s = String(cents);
  // Positions counted from the right; swap s[p] and s[p+1] (left-to-right indices) with p+1 <= len-3.
  for (let p = 0; p + 1 <= s.length - 3; p++) {
    if (s[p] === s[p + 1]) continue;
    if (p === 0 && s[1] === '0') continue;
    return Number(s.slice(0, p) + s[p + 1] + s[p] + s.slice(p + 2));
  }
  return undefined;
}

/** The GL line of row i, or null where the row is planted as missing from the GL. */
export function glRow(plan: ScenarioPlan, i: number): GlRow | null {
  const fate = fateOf(plan, i);
  if (fate === 'missing_in_a') return null;
  return baseRow(plan, i, fate);
}

function baseRow(plan: ScenarioPlan, i: number, fate: Category | 'cash' | null): GlRow {
  const h1 = hash32(plan.seed, i, 1);
  const h2 = hash32(plan.seed, i, 2);
  let magnitude = 1 + (h1 % 5_000_000);
  if (fate === 'transposition' || fate === 'sign_reversal') magnitude = 10_000 + (h1 % 4_990_000);
  if (fate === 'transposition') while (transposable(magnitude) === undefined) magnitude += 1;
  const negative = (h2 & 1) === 1;
  const cash = fate === 'cash';
  const day = 1 + ((h2 >>> 1) % daysInMonth(plan.period));
  return {
    entryId: Math.floor(i / 4) + 1,
    lineNo: (i % 4) + 1,
    documentNo: documentNo(plan, i),
    accountCode: cash ? cashAccount(bankIndex(plan, i)) : ACCOUNTS[(h2 >>> 6) % ACCOUNTS.length],
    departmentCode: cash ? 'D000' : DEPARTMENTS[(h2 >>> 11) % DEPARTMENTS.length],
    postingDate: `${plan.period}-${String(day).padStart(2, '0')}`,
    balanceCents: negative ? -magnitude : magnitude,
    description: cash ? 'bank transfer' : 'journal line',
  };
}

/** The ERP postings of row i: none (missing_in_b), one, or two (duplicate_key). */
export function erpRows(plan: ScenarioPlan, i: number): ErpRow[] {
  const fate = fateOf(plan, i);
  if (fate === 'missing_in_b') return [];
  const g = baseRow(plan, i, fate);
  const h3 = hash32(plan.seed, i, 3);
  // Sub-cent noise of the ERP's 4-decimal arithmetic: rounding half-even to 2 places restores the GL's cents.
  const noise = (h3 % 99) - 49;
  let cents = g.balanceCents;
  let date = g.postingDate;
  const sign = (h3 >>> 8) & 1 ? 1 : -1;
  switch (fate) {
    case 'rounding':
      cents += sign;
      break;
    case 'within_tolerance':
      cents += sign * (2 + ((h3 >>> 9) % (TOLERANCE_CENTS - 1)));
      break;
    case 'amount_mismatch': {
      let delta = TOLERANCE_CENTS + 1 + ((h3 >>> 9) % 99_899);
      while (cents + sign * delta === -cents || transposition(cents, cents + sign * delta, 2) !== undefined) delta++;
      cents += sign * delta;
      break;
    }
    case 'sign_reversal':
      cents = -cents;
      break;
    case 'transposition': {
      const t = transposable(Math.abs(cents))!;
      cents = cents < 0 ? -t : t;
      break;
    }
    case 'timing_difference':
      date = addDays(date, 1 + ((h3 >>> 9) % 10));
      break;
    default:
      break;
  }
  const row: ErpRow = {
    docRef: g.documentNo,
    acctNum: g.accountCode,
    deptId: g.departmentCode,
    postDate: date,
    total4: cents * 100 + noise,
    memo: `posting ${g.entryId}/${g.lineNo}`,
  };
  return fate === 'duplicate_key' ? [row, { ...row, memo: `${row.memo} (re-posted)` }] : [row];
}

// ---- formatting -------------------------------------------------------------------------------------------------

/** Minor units to a decimal string, without floats. */
export function formatMinor(minor: number | bigint, scale: number): string {
  const neg = minor < 0;
  const digits = (neg ? -BigInt(minor) : BigInt(minor)).toString().padStart(scale + 1, '0');
  const s = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return neg ? `-${s}` : s;
}

/** Ten-thousandths rounded half-even to cents (the definition's `round` transformation). */
export function roundHalfEven4to2(v: number): number {
  const q = Math.floor(v / 100);
  const r = v - q * 100;
  if (r > 50) return q + 1;
  if (r < 50) return q;
  return q % 2 === 0 ? q : q + 1;
}

// ---- streams of the sides ---------------------------------------------------------------------------------------

export const GL_TABLE = 'journal_lines';
export const ERP_TABLE = 'erp_postings';

export const GL_COLUMNS = [
  'entry_id',
  'line_no',
  'document_no',
  'account_code',
  'department_code',
  'posting_date',
  'currency',
  'debit',
  'credit',
  'balance',
  'description',
] as const;
export const ERP_COLUMNS = [
  'doc_ref',
  'acct_num',
  'dept_id',
  'post_date',
  'curr',
  'dc',
  'amt',
  'total',
  'memo',
] as const;

export function glLine(plan: ScenarioPlan, g: GlRow, sep: string): string {
  const b = g.balanceCents;
  return [
    g.entryId,
    g.lineNo,
    g.documentNo,
    g.accountCode,
    g.departmentCode,
    g.postingDate,
    plan.currency,
    formatMinor(b > 0 ? b : 0, 2),
    formatMinor(b < 0 ? -b : 0, 2),
    formatMinor(b, 2),
    g.description,
  ].join(sep);
}

export function erpLine(plan: ScenarioPlan, e: ErpRow, sep: string): string {
  const rounded = roundHalfEven4to2(e.total4);
  return [
    e.docRef,
    e.acctNum,
    e.deptId,
    e.postDate,
    plan.currency,
    e.total4 < 0 ? 'C' : 'D',
    formatMinor(Math.abs(rounded), 2),
    formatMinor(e.total4, 4),
    e.memo,
  ].join(sep);
}

/** Running control totals of a side as its rows stream past. */
export class TotalsCounter {
  records = 0;
  private sum = 0;
  private big = 0n;
  private sumRaw = 0;
  private bigRaw = 0n;
  add(cents: number, raw = 0): void {
    this.records++;
    this.sum += cents;
    this.sumRaw += raw;
    // Flush before a double could lose a unit (2^53 is 9e15; each value is below 1e10).
    if (Math.abs(this.sum) > 1e15 || Math.abs(this.sumRaw) > 1e15) this.flush();
  }
  private flush(): void {
    this.big += BigInt(this.sum);
    this.bigRaw += BigInt(this.sumRaw);
    this.sum = 0;
    this.sumRaw = 0;
  }
  totals(): SideTotals {
    this.flush();
    return { records: this.records, amount: formatMinor(this.big, 2) };
  }
  raw(scale: number): string {
    this.flush();
    return formatMinor(this.bigRaw, scale);
  }
}

const CHUNK_ROWS = 4096;

/** The GL side as text chunks (one line per row, `sep` between fields, no header), counting totals as it goes. */
export function* glChunks(plan: ScenarioPlan, sep = '\t', totals?: TotalsCounter): Generator<string> {
  let buf: string[] = [];
  for (let i = 0; i < plan.records; i++) {
    const g = glRow(plan, i);
    if (!g) continue;
    totals?.add(g.balanceCents);
    buf.push(glLine(plan, g, sep));
    if (buf.length >= CHUNK_ROWS) {
      yield `${buf.join('\n')}\n`;
      buf = [];
    }
  }
  if (buf.length > 0) yield `${buf.join('\n')}\n`;
}

/** The ERP side as text chunks; totals count the rounded total (cents) and the raw total (4 decimals). */
export function* erpChunks(
  plan: ScenarioPlan,
  sep = '\t',
  totals?: TotalsCounter,
  from = 0,
  to = plan.records,
): Generator<string> {
  let buf: string[] = [];
  for (let i = from; i < to; i++) {
    for (const e of erpRows(plan, i)) {
      totals?.add(roundHalfEven4to2(e.total4), e.total4);
      buf.push(erpLine(plan, e, sep));
    }
    if (buf.length >= CHUNK_ROWS) {
      yield `${buf.join('\n')}\n`;
      buf = [];
    }
  }
  if (buf.length > 0) yield `${buf.join('\n')}\n`;
}

// ---- loaders ----------------------------------------------------------------------------------------------------

/** Creates the GL table in PostgreSQL and loads it with COPY FROM STDIN; returns the side's control totals. */
export async function loadGeneralLedger(pool: PgPool, plan: ScenarioPlan, table = GL_TABLE): Promise<SideTotals> {
  const client = await pool.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.query(`CREATE TABLE ${table} (
      entry_id bigint NOT NULL, line_no integer NOT NULL, document_no text NOT NULL, account_code text NOT NULL,
      department_code text NOT NULL, posting_date date NOT NULL, currency char(3) NOT NULL,
      debit numeric(18,2) NOT NULL, credit numeric(18,2) NOT NULL, balance numeric(18,2) NOT NULL,
      description text)`);
    const totals = new TotalsCounter();
    const copy = client.query(copyFrom(`COPY ${table} (${GL_COLUMNS.join(', ')}) FROM STDIN`));
    await pipeline(Readable.from(glChunks(plan, '\t', totals)), copy);
    await client.query(`ANALYZE ${table}`);
    return totals.totals();
  } finally {
    client.release();
  }
}

/**
 * Creates the ERP table in MariaDB and loads it with LOAD DATA LOCAL INFILE fed from a stream (no file on disk);
 * where the server refuses local infile, falls back to multi-row INSERTs. Returns the control totals.
 */
export async function loadErp(
  pool: MysqlPool,
  plan: ScenarioPlan,
  table = ERP_TABLE,
  blockRows = ERP_LOAD_BLOCK,
): Promise<SideTotals & { amountRaw: string }> {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.query(`CREATE TABLE ${table} (
    doc_ref VARCHAR(20) NOT NULL, acct_num VARCHAR(10) NOT NULL, dept_id VARCHAR(8) NOT NULL, post_date DATE NOT NULL,
    curr CHAR(3) NOT NULL, dc CHAR(1) NOT NULL, amt DECIMAL(18,2) NOT NULL, total DECIMAL(18,4) NOT NULL,
    memo VARCHAR(40)) ENGINE=InnoDB`);
  let totals = new TotalsCounter();
  try {
    // One statement per block of rows: a single multi-million-row transaction makes InnoDB's undo log the
    // bottleneck (5M rows in one LOAD DATA ran at a third of the speed of 1M).
    for (let from = 0; from < plan.records; from += blockRows) {
      const to = Math.min(plan.records, from + blockRows);
      await pool.query({
        sql: `LOAD DATA LOCAL INFILE 'erp.tsv' INTO TABLE ${table} CHARACTER SET utf8mb4
              FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' (${ERP_COLUMNS.join(', ')})`,
        // mysql2 copies what the stream yields as Buffers.
        infileStreamFactory: () => Readable.from(asBuffers(erpChunks(plan, '\t', totals, from, to))),
      } as Parameters<MysqlPool['query']>[0]);
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ER_LOAD_INFILE_CAPABILITY_DISABLED' && code !== 'ER_NOT_ALLOWED_COMMAND') throw err;
    await pool.query(`TRUNCATE TABLE ${table}`);
    totals = new TotalsCounter();
    await insertErp(pool, plan, table, totals);
  }
  return { ...totals.totals(), amountRaw: totals.raw(4) };
}

const ERP_LOAD_BLOCK = 500_000;

function* asBuffers(chunks: Iterable<string>): Generator<Buffer> {
  for (const c of chunks) yield Buffer.from(c, 'utf8');
}

async function insertErp(pool: MysqlPool, plan: ScenarioPlan, table: string, totals: TotalsCounter): Promise<void> {
  const head = `INSERT INTO ${table} (${ERP_COLUMNS.join(', ')}) VALUES `;
  let values: string[] = [];
  const flush = async () => {
    if (values.length === 0) return;
    await pool.query(head + values.join(','));
    values = [];
  };
  for (let i = 0; i < plan.records; i++) {
    for (const e of erpRows(plan, i)) {
      totals.add(roundHalfEven4to2(e.total4), e.total4);
      const f = erpLine(plan, e, '\t').split('\t');
      // Every field is generated from a fixed alphabet (letters, digits, '-', '.', '/', ' ', '(', ')'): no quotes.
      values.push(`(${f.map((v) => `'${v}'`).join(',')})`);
    }
    if (values.length >= 5000) await flush();
  }
  await flush();
}

/** Writes a side as CSV with a header, for comparison tools; returns its control totals. */
export async function writeSideCsv(plan: ScenarioPlan, side: 'gl' | 'erp', path: string): Promise<SideTotals> {
  const totals = new TotalsCounter();
  const header = `${(side === 'gl' ? GL_COLUMNS : ERP_COLUMNS).join(',')}\n`;
  const body = side === 'gl' ? glChunks(plan, ',', totals) : erpChunks(plan, ',', totals);
  await pipeline(
    Readable.from(
      (function* () {
        yield header;
        yield* body;
      })(),
    ),
    createWriteStream(path),
  );
  return totals.totals();
}

// ---- bank statements --------------------------------------------------------------------------------------------

export interface BankEntry {
  /** The planted bank discrepancy this entry carries, if any. */
  planted: BankCategory | null;
  /** The GL document the payment belongs to (end-to-end id / customer reference), or a bank's own for fees. */
  reference: string;
  bank: 'camt053' | 'mt940';
  bookingDate: string;
  valueDate: string;
  /** Signed cents, credit (money in) positive. */
  cents: number;
}

/** The bank's view of the GL cash lines, with the planted bank discrepancies. Sorted by booking date per bank. */
export function bankEntries(plan: ScenarioPlan): BankEntry[] {
  return bankLedger(plan).entries;
}

/** GL cash lines with the bank discrepancy planted on each (null: the bank reports it as booked). */
function cashLines(plan: ScenarioPlan): { row: GlRow; planted: BankCategory | null }[] {
  const p = plan.bankPlanted;
  const out: { row: GlRow; planted: BankCategory | null }[] = [];
  for (let k = 0; k < plan.bankEntries; k++) {
    const row = baseRow(plan, rowOfSlot(plan, plan.plantedTotal + k), 'cash');
    // The first bank slots carry the planted bank discrepancies (fees, missing_in_b, are bank-only extras).
    let planted: BankCategory | null = null;
    if (k < p.missing_in_a) planted = 'missing_in_a';
    else if (k < p.missing_in_a + p.timing_difference) planted = 'timing_difference';
    else if (k < p.missing_in_a + p.timing_difference + p.amount_mismatch) planted = 'amount_mismatch';
    out.push({ row, planted });
  }
  return out;
}

function bankLedger(plan: ScenarioPlan): {
  entries: BankEntry[];
  cash: { row: GlRow; planted: BankCategory | null }[];
} {
  const cash = cashLines(plan);
  const out: BankEntry[] = [];
  cash.forEach(({ row: g, planted }, k) => {
    // missing_in_a: on the GL, not (yet) on the statement.
    if (planted === 'missing_in_a') return;
    const bank: BankName = g.accountCode === CASH_ACCOUNTS.camt053 ? 'camt053' : 'mt940';
    let date = g.postingDate;
    let cents = g.balanceCents;
    if (planted === 'timing_difference') date = addDays(date, 1 + (k % 3));
    if (planted === 'amount_mismatch') cents -= 1500; // the bank kept a 15.00 fee
    out.push({ planted, reference: g.documentNo, bank, bookingDate: date, valueDate: date, cents });
  });
  // missing_in_b: charges the bank booked that the GL does not have yet.
  for (let f = 0; f < plan.bankPlanted.missing_in_b; f++) {
    const day = 1 + (hash32(plan.seed, f, 7) % daysInMonth(plan.period));
    const date = `${plan.period}-${String(day).padStart(2, '0')}`;
    out.push({
      planted: 'missing_in_b',
      reference: `FEE${plan.period.replace('-', '')}${String(f + 1).padStart(4, '0')}`,
      bank: f % 2 === 0 ? 'camt053' : 'mt940',
      bookingDate: date,
      valueDate: date,
      cents: -(500 + (hash32(plan.seed, f, 8) % 5000)),
    });
  }
  out.sort((x, y) => (x.bookingDate < y.bookingDate ? -1 : x.bookingDate > y.bookingDate ? 1 : 0));
  return { entries: out, cash };
}

/** The planted truth of each bank's reconciliation (statement vs its GL cash account). O(bankEntries). */
export function bankTruth(plan: ScenarioPlan): Record<BankName, BankTruth> {
  const { entries, cash } = bankLedger(plan);
  const make = (bank: BankName): BankTruth => {
    const account = CASH_ACCOUNTS[bank];
    const keys = { missing_in_a: [], missing_in_b: [], timing_difference: [], amount_mismatch: [] } as Record<
      BankCategory,
      string[]
    >;
    const st = new TotalsCounter();
    const gl = new TotalsCounter();
    let matched = 0;
    for (const e of entries) {
      if (e.bank !== bank) continue;
      st.add(e.cents);
      if (e.planted) keys[e.planted].push(e.reference);
      else matched++;
    }
    for (const c of cash) {
      if (c.row.accountCode !== account) continue;
      gl.add(c.row.balanceCents);
      if (c.planted === 'missing_in_a') keys.missing_in_a.push(c.row.documentNo);
    }
    const categories = {} as Record<BankCategory, number>;
    for (const c of BANK_CATEGORIES) categories[c] = keys[c].length;
    return { glAccount: account, categories, keys, matched, statements: st.totals(), glCash: gl.totals() };
  };
  return { camt053: make('camt053'), mt940: make('mt940') };
}

/** Example IBANs from the IBAN registry's documentation: valid check digits, nobody's account. */
export const BANK_ACCOUNTS = { camt053: 'GB82WEST12345698765432', mt940: 'NL91ABNA0417164300' } as const;

function openingCents(plan: ScenarioPlan, bank: 'camt053' | 'mt940'): number {
  return 50_000_000 + (hash32(plan.seed, bank === 'camt053' ? 1 : 2, 9) % 50_000_000);
}

function camtBalance(code: string, cents: number, currency: string, date: string): string {
  return `      <Bal><Tp><CdOrPrtry><Cd>${code}</Cd></CdOrPrtry></Tp><Amt Ccy="${currency}">${formatMinor(Math.abs(cents), 2)}</Amt><CdtDbtInd>${cents < 0 ? 'DBIT' : 'CRDT'}</CdtDbtInd><Dt><Dt>${date}</Dt></Dt></Bal>`;
}

export function camt053Text(plan: ScenarioPlan, entries: BankEntry[]): string {
  const mine = entries.filter((e) => e.bank === 'camt053');
  const first = `${plan.period}-01`;
  const last = `${plan.period}-${daysInMonth(plan.period)}`;
  const opening = openingCents(plan, 'camt053');
  const closing = mine.reduce((s, e) => s + e.cents, opening);
  const c = plan.currency;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">',
    '  <BkToCstmrStmt>',
    `    <GrpHdr><MsgId>FINFLOW-${plan.period}-${plan.seed}</MsgId><CreDtTm>${addDays(last, 1)}T06:00:00Z</CreDtTm></GrpHdr>`,
    '    <Stmt>',
    `      <Id>STMT-${plan.period}-1010</Id>`,
    `      <CreDtTm>${addDays(last, 1)}T06:00:00Z</CreDtTm>`,
    `      <FrToDt><FrDtTm>${first}T00:00:00Z</FrDtTm><ToDtTm>${last}T23:59:59Z</ToDtTm></FrToDt>`,
    `      <Acct><Id><IBAN>${BANK_ACCOUNTS.camt053}</IBAN></Id><Ccy>${c}</Ccy></Acct>`,
    camtBalance('OPBD', opening, c, first),
    camtBalance('CLBD', closing, c, last),
  ];
  for (const e of mine) {
    lines.push(
      `      <Ntry><Amt Ccy="${c}">${formatMinor(Math.abs(e.cents), 2)}</Amt><CdtDbtInd>${e.cents < 0 ? 'DBIT' : 'CRDT'}</CdtDbtInd><Sts>BOOK</Sts>` +
        `<BookgDt><Dt>${e.bookingDate}</Dt></BookgDt><ValDt><Dt>${e.valueDate}</Dt></ValDt><AcctSvcrRef>B${e.reference}</AcctSvcrRef>` +
        `<NtryDtls><TxDtls><Refs><EndToEndId>${e.reference}</EndToEndId></Refs><RmtInf><Ustrd>${e.reference.startsWith('FEE') ? 'Account charges' : `Settlement ${e.reference}`}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>`,
    );
  }
  lines.push('    </Stmt>', '  </BkToCstmrStmt>', '</Document>', '');
  return lines.join('\n');
}

function swiftDate(iso: string): string {
  return iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10);
}

function swiftAmount(cents: number): string {
  return formatMinor(Math.abs(cents), 2).replace('.', ',');
}

export function mt940Text(plan: ScenarioPlan, entries: BankEntry[]): string {
  const mine = entries.filter((e) => e.bank === 'mt940');
  const first = `${plan.period}-01`;
  const last = `${plan.period}-${daysInMonth(plan.period)}`;
  const opening = openingCents(plan, 'mt940');
  const closing = mine.reduce((s, e) => s + e.cents, opening);
  const c = plan.currency;
  const lines = [
    `:20:FF${plan.period.replace('-', '')}`,
    `:25:${BANK_ACCOUNTS.mt940}`,
    ':28C:1/1',
    `:60F:${opening < 0 ? 'D' : 'C'}${swiftDate(first)}${c}${swiftAmount(opening)}`,
  ];
  for (const e of mine) {
    lines.push(
      `:61:${swiftDate(e.valueDate)}${e.bookingDate.slice(5, 7)}${e.bookingDate.slice(8, 10)}${e.cents < 0 ? 'D' : 'C'}${swiftAmount(e.cents)}NTRF${e.reference}//B${e.reference.slice(-8)}`,
      `:86:${e.reference.startsWith('FEE') ? 'Account charges' : `Settlement ${e.reference}`}`,
    );
  }
  lines.push(`:62F:${closing < 0 ? 'D' : 'C'}${swiftDate(last)}${c}${swiftAmount(closing)}`, '-', '');
  return lines.join('\r\n');
}

/** Writes the camt.053 and MT940 statements of the period into `dir`. */
export async function writeBankStatements(
  plan: ScenarioPlan,
  dir: string,
): Promise<{ camt053: string; mt940: string; entries: SideTotals }> {
  await mkdir(dir, { recursive: true });
  const entries = bankEntries(plan);
  const camt053 = join(dir, `bank-${BANK_ACCOUNTS.camt053.slice(-4)}-${plan.period}.camt053.xml`);
  const mt940 = join(dir, `bank-${BANK_ACCOUNTS.mt940.slice(-4)}-${plan.period}.mt940.sta`);
  await writeFile(camt053, camt053Text(plan, entries));
  await writeFile(mt940, mt940Text(plan, entries));
  const t = new TotalsCounter();
  for (const e of entries) t.add(e.cents);
  return { camt053, mt940, entries: t.totals() };
}

// ---- truth ------------------------------------------------------------------------------------------------------

/** Planted truth by construction, without touching a database (it walks every row once: O(records), no memory). */
export function plantedTruth(plan: ScenarioPlan): PlantedTruth {
  const gl = new TotalsCounter();
  const erp = new TotalsCounter();
  const cash = new TotalsCounter();
  for (let i = 0; i < plan.records; i++) {
    const g = glRow(plan, i);
    if (g) {
      gl.add(g.balanceCents);
      if (g.accountCode === CASH_ACCOUNTS.camt053 || g.accountCode === CASH_ACCOUNTS.mt940) cash.add(g.balanceCents);
    }
    for (const e of erpRows(plan, i)) erp.add(roundHalfEven4to2(e.total4), e.total4);
  }
  const bank = new TotalsCounter();
  for (const e of bankEntries(plan)) bank.add(e.cents);
  return truthFrom(plan, gl.totals(), { ...erp.totals(), amountRaw: erp.raw(4) }, bank.totals(), cash.totals());
}

export function truthFrom(
  plan: ScenarioPlan,
  gl: SideTotals,
  erp: SideTotals & { amountRaw: string },
  statements: SideTotals,
  glCash: SideTotals,
): PlantedTruth {
  const p = plan.planted;
  return {
    categories: { ...p },
    matched: {
      exact: plan.records - plan.plantedTotal,
      accepted: p.rounding + p.within_tolerance,
    },
    gl,
    erp,
    bank: { categories: { ...plan.bankPlanted }, statements, glCash, perBank: bankTruth(plan) },
  };
}

/** Document numbers of the planted discrepancies, per category (for tests that check item by item). */
export function plantedKeys(plan: ScenarioPlan): Record<Category, string[]> {
  const out = {} as Record<Category, string[]>;
  for (const [c, a, b] of plan.ranges) {
    out[c] = [];
    for (let s = a; s < b; s++) out[c].push(documentNo(plan, rowOfSlot(plan, s)));
  }
  return out;
}

// ---- everything at once -----------------------------------------------------------------------------------------

export interface GenerateScenarioOptions extends ScenarioOptions {
  pg: PgPool;
  mysql: MysqlPool;
  /** Where the bank statement files go; omitted, no files are written. */
  bankDir?: string;
  glTable?: string;
  erpTable?: string;
}

export interface GeneratedScenario {
  plan: ScenarioPlan;
  truth: PlantedTruth;
  files?: { camt053: string; mt940: string };
  /** Seconds spent loading each side. */
  seconds: { gl: number; erp: number };
}

/** Loads both databases (in parallel) and writes the bank files; the truth's totals are counted while loading. */
export async function generateScenario(options: GenerateScenarioOptions): Promise<GeneratedScenario> {
  const plan = planScenario(options);
  const timed = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
    const t0 = performance.now();
    const v = await f();
    return [v, (performance.now() - t0) / 1000];
  };
  const [[gl, glSecs], [erp, erpSecs]] = await Promise.all([
    timed(() => loadGeneralLedger(options.pg, plan, options.glTable)),
    timed(() => loadErp(options.mysql, plan, options.erpTable)),
  ]);
  const bank = options.bankDir ? await writeBankStatements(plan, options.bankDir) : undefined;
  const cash = new TotalsCounter();
  for (let k = 0; k < plan.bankEntries; k++)
    cash.add(baseRow(plan, rowOfSlot(plan, plan.plantedTotal + k), 'cash').balanceCents);
  const statements = new TotalsCounter();
  for (const e of bankEntries(plan)) statements.add(e.cents);
  return {
    plan,
    truth: truthFrom(plan, gl, erp, statements.totals(), cash.totals()),
    files: bank ? { camt053: bank.camt053, mt940: bank.mt940 } : undefined,
    seconds: { gl: glSecs, erp: erpSecs },
  };
}

// ---- the reconciliation definitions -----------------------------------------------------------------------------

/** SQL that reads each side as the definition expects it (column names as each system spells them). */
export function scenarioSql(tables: { gl?: string; erp?: string } = {}): { gl: string; erp: string } {
  return {
    gl: `SELECT document_no, account_code, department_code, posting_date, currency, balance FROM ${tables.gl ?? GL_TABLE}`,
    erp: `SELECT doc_ref, acct_num, dept_id, post_date, curr, total FROM ${tables.erp ?? ERP_TABLE}`,
  };
}

/**
 * GL (a) vs ERP (b), the seed's mapping (account_code -> acct_num, department_code -> dept_id, balance -> total,
 * rounding to 2 places), with rules under which every planted category is what categorise() reports:
 * exact (same date), then a tolerance of 1.00 on the same date; both expect one record per document.
 */
export function glVsErpDefinition(sources: { gl: SourceRef; erp: SourceRef }): ReconciliationDefinitionInput {
  return {
    id: 'gl-vs-erp',
    name: 'GL vs ERP journal lines',
    a: {
      name: 'GL',
      source: sources.gl,
      classification: 'internal',
      key_fields: ['document_no'],
      value_fields: ['balance'],
      date_field: 'posting_date',
      currency_field: 'currency',
    },
    b: {
      name: 'ERP',
      source: sources.erp,
      classification: 'internal',
      key_fields: ['document_no'],
      value_fields: ['balance'],
      date_field: 'posting_date',
      currency_field: 'currency',
      mappings: [
        { from: 'doc_ref', to: 'document_no' },
        { from: 'acct_num', to: 'account_code' },
        { from: 'dept_id', to: 'department_code' },
        { from: 'total', to: 'balance' },
        { from: 'post_date', to: 'posting_date' },
        { from: 'curr', to: 'currency' },
      ],
      transformations: [{ op: 'round', field: 'balance', places: 2, mode: 'half_even' }],
    },
    rules: [
      { id: 'exact', type: 'exact', compare_date: true, expect_unique: true },
      {
        id: 'tolerance',
        type: 'tolerance',
        absolute: formatMinor(TOLERANCE_CENTS, 2),
        max_days_apart: 0,
        expect_unique: true,
      },
    ],
    categorisation: { rounding_tolerance: '0.01', timing_window_days: 31 },
  };
}

/** SQL of one bank's GL cash account, for bankDefinitions. */
export function glCashSql(bank: BankName, table = GL_TABLE): string {
  return `SELECT document_no, posting_date, currency, balance FROM ${table} WHERE account_code = '${CASH_ACCOUNTS[bank]}'`;
}

/**
 * One reconciliation per bank account: the statement file (a, entries named by their reference = the GL document)
 * against the GL cash account it feeds (b). Exact on amount and booking date; what differs is categorised (timing,
 * amount, missing either side). `gl` is the GL's source ref with the SQL of glCashSql(bank) (or a table).
 */
export function bankDefinition(
  bank: BankName,
  sources: { statement: SourceRef; gl: SourceRef },
  currency = 'USD',
): ReconciliationDefinitionInput {
  return {
    id: `bank-${bank}`,
    name: `Bank statement (${bank === 'camt053' ? 'camt.053' : 'MT940'}) vs GL cash ${CASH_ACCOUNTS[bank]}`,
    a: {
      name: 'BANK',
      source: sources.statement,
      classification: 'restricted',
      key_fields: ['reference'],
      value_fields: ['amount'],
      date_field: 'booking_date',
      currency_field: 'currency',
      currency,
    },
    b: {
      name: 'GL',
      source: sources.gl,
      classification: 'internal',
      key_fields: ['reference'],
      value_fields: ['amount'],
      date_field: 'booking_date',
      currency_field: 'currency',
      mappings: [
        { from: 'document_no', to: 'reference' },
        { from: 'balance', to: 'amount' },
        { from: 'posting_date', to: 'booking_date' },
      ],
    },
    rules: [{ id: 'exact', type: 'exact', compare_date: true, expect_unique: true }],
    categorisation: { timing_window_days: 10 },
  };
}
