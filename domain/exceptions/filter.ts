// Bulk actions by filter: "explain every timing_difference under 5 days as timing". The filter selects by category,
// currency, absolute amount range, age and key pattern (and state); the selection's count and per-currency total
// are echoed back to the person before anything changes, and recorded with the action. A filter that matches
// nothing is refused: acting on nothing is almost always a typo. Pure: `asOf` comes from the caller.
import { Dec, parseDecimal } from '../money';
import { EXCEPTION_STATES, ExceptionActionError, type ExceptionState } from './lifecycle';

export interface ExceptionFilter {
  categories?: string[];
  currencies?: string[];
  states?: ExceptionState[];
  /** Absolute amount bounds, inclusive, exact decimals. */
  minAmount?: string;
  maxAmount?: string;
  /** Age bounds in whole days since first seen, inclusive ("under 5 days" is maxAgeDays 4). */
  minAgeDays?: number;
  maxAgeDays?: number;
  /** A glob over the key: `*` any run of characters, `?` one; the rest literal. */
  keyPattern?: string;
}

/** What a filter sees of an exception. */
export interface FilterableException {
  itemId: string;
  category: string;
  currency: string | null;
  /** The signed difference, or the amount when one side is missing. */
  amount: string;
  state: ExceptionState;
  key: string;
  /** The date it was first seen, YYYY-MM-DD or an ISO instant (its UTC date counts). */
  firstSeen: string;
}

export interface Selection<T> {
  items: T[];
  count: number;
  /** Sum of the items' signed amounts per currency (null: none given), by currency. */
  totals: { currency: string | null; total: string }[];
}

const DAY_MS = 86_400_000;
const invalid = (m: string) => new ExceptionActionError('InvalidExceptionAction', m);

function utcDay(s: string, where: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  const t = m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : NaN;
  const check = m && new Date(t).toISOString().slice(0, 10) === `${m[1]}-${m[2]}-${m[3]}`;
  if (!check) throw invalid(`${where}: ${JSON.stringify(s)} is not a date (YYYY-MM-DD or an ISO instant)`);
  return t;
}

/** Whole days between the day an exception was first seen and `asOf`'s day (UTC); 0 on the day it appeared. */
export function ageInDays(firstSeen: string, asOf: string): number {
  return Math.max(0, Math.round((utcDay(asOf, 'asOf') - utcDay(firstSeen, 'firstSeen')) / DAY_MS));
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Checks a filter as given (CLI flags, a gateway body), naming the bad field. */
export function parseExceptionFilter(raw: ExceptionFilter, where = 'filter'): ExceptionFilter {
  for (const s of raw.states ?? [])
    if (!(EXCEPTION_STATES as readonly string[]).includes(s))
      throw invalid(`${where}.states: ${JSON.stringify(s)} is not one of ${EXCEPTION_STATES.join(', ')}`);
  const amt = (f: 'minAmount' | 'maxAmount') => {
    const v = raw[f];
    if (v === undefined) return undefined;
    if (!/^\d+(\.\d+)?$/.test(v)) throw invalid(`${where}.${f}: ${JSON.stringify(v)} is not an amount of 0 or more`);
    return parseDecimal(v);
  };
  const lo = amt('minAmount');
  const hi = amt('maxAmount');
  if (lo && hi && lo.gt(hi)) throw invalid(`${where}: minAmount ${raw.minAmount} is above maxAmount ${raw.maxAmount}`);
  for (const f of ['minAgeDays', 'maxAgeDays'] as const) {
    const v = raw[f];
    if (v !== undefined && (!Number.isInteger(v) || v < 0))
      throw invalid(`${where}.${f}: ${JSON.stringify(v)} is not a whole number of days`);
  }
  if (raw.minAgeDays !== undefined && raw.maxAgeDays !== undefined && raw.minAgeDays > raw.maxAgeDays)
    throw invalid(`${where}: minAgeDays ${raw.minAgeDays} is above maxAgeDays ${raw.maxAgeDays}`);
  if (raw.keyPattern !== undefined && !raw.keyPattern) throw invalid(`${where}.keyPattern: an empty pattern`);
  return raw;
}

/** A filter in words, for the echo and the refusal ("category timing_difference, age at most 4 days"). */
export function describeFilter(f: ExceptionFilter): string {
  const parts: string[] = [];
  if (f.categories?.length) parts.push(`category ${f.categories.join('|')}`);
  if (f.currencies?.length) parts.push(`currency ${f.currencies.join('|')}`);
  if (f.states?.length) parts.push(`state ${f.states.join('|')}`);
  if (f.minAmount !== undefined) parts.push(`|amount| >= ${f.minAmount}`);
  if (f.maxAmount !== undefined) parts.push(`|amount| <= ${f.maxAmount}`);
  if (f.minAgeDays !== undefined) parts.push(`age >= ${f.minAgeDays} days`);
  if (f.maxAgeDays !== undefined) parts.push(`age <= ${f.maxAgeDays} days`);
  if (f.keyPattern !== undefined) parts.push(`key ${f.keyPattern}`);
  return parts.join(', ') || 'every exception';
}

/** Whether one exception passes the filter on `asOf`. */
export function matchesFilter(x: FilterableException, f: ExceptionFilter, asOf: string): boolean {
  if (f.categories?.length && !f.categories.includes(x.category)) return false;
  if (f.currencies?.length && !f.currencies.includes(x.currency ?? '')) return false;
  if (f.states?.length && !f.states.includes(x.state)) return false;
  if (f.minAmount !== undefined || f.maxAmount !== undefined) {
    const abs = parseDecimal(x.amount, `${x.itemId} amount`).abs();
    if (f.minAmount !== undefined && abs.lt(parseDecimal(f.minAmount))) return false;
    if (f.maxAmount !== undefined && abs.gt(parseDecimal(f.maxAmount))) return false;
  }
  if (f.minAgeDays !== undefined || f.maxAgeDays !== undefined) {
    const age = ageInDays(x.firstSeen, asOf);
    if (f.minAgeDays !== undefined && age < f.minAgeDays) return false;
    if (f.maxAgeDays !== undefined && age > f.maxAgeDays) return false;
  }
  if (f.keyPattern !== undefined && !globToRegExp(f.keyPattern).test(x.key)) return false;
  return true;
}

/** Totals of signed amounts per currency, at the widest scale of each currency's amounts. */
export function totalsByCurrency(items: Iterable<{ itemId: string; currency: string | null; amount: string }>) {
  const sums = new Map<string, { total: Dec; scale: number }>();
  for (const x of items) {
    const k = x.currency ?? '';
    const s = sums.get(k) ?? { total: new Dec(0), scale: 0 };
    const dot = x.amount.indexOf('.');
    sums.set(k, {
      total: s.total.plus(parseDecimal(x.amount, `${x.itemId} amount`)),
      scale: Math.max(s.scale, dot < 0 ? 0 : x.amount.length - dot - 1),
    });
  }
  return [...sums.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([c, s]) => ({ currency: c || null, total: s.total.toFixed(s.scale) }));
}

/** The exceptions a bulk action acts on, with their count and totals; refused when the filter matches nothing. */
export function selectExceptions<T extends FilterableException>(
  items: Iterable<T>,
  filter: ExceptionFilter,
  asOf: string,
): Selection<T> {
  const f = parseExceptionFilter(filter);
  const picked: T[] = [];
  for (const x of items) if (matchesFilter(x, f, asOf)) picked.push(x);
  if (!picked.length)
    throw new ExceptionActionError(
      'ExceptionFilterMatchedNothing',
      `the filter (${describeFilter(f)}) matches no exception: nothing was changed`,
    );
  return { items: picked, count: picked.length, totals: totalsByCurrency(picked) };
}
