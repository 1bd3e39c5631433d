// The DuckDB data plane for two CSV sources (issue 20, first slice): DuckDB's read_csv reads each file into VARCHAR
// columns, compile-side.ts normalises them in SQL over exact DECIMAL, and the leading exact and tolerance rules run
// set-based over the keys held once per side (unique-key semantics: a key with several records on a side is left
// alone, as domain/recon does). Pairs those rules match with no difference are final here; every other record -
// keys held several times, pairs with an accepted difference, unmatched records - is normalised again by
// domain/recon from its raw values and reconciled by the TypeScript engine with the whole rule list, so categories,
// precedence, evidence and control totals are the engine's own. The two summaries are merged and checked.
//
// Why the split is exact: domain/recon matches within a bucket (key and currency); a bucket of one record per side
// that an exact or tolerance rule pairs with no difference is consumed whole and yields no exception, so removing it
// changes nothing for any other bucket (a record matched by an earlier rule is never offered to a later one).
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  CATEGORIES,
  createNormaliser,
  currencyScale,
  mergeSummaries,
  NormalisationError,
  reconcile,
  type Category,
  type NormalisedRecord,
  type RawRecord,
  type ReconMatch,
  type ReconResult,
  type ReconSummary,
  type ReconciliationDefinition,
  type Side,
  type SideTotals,
} from '../../../domain/recon';
import { formatMinor, limitToMinor } from '../../../domain/recon/minor';
import { compileSide, ident, lit, NotCompilable, OUT_OF_RANGE, perCurrency, PROBLEM_SEP } from './compile-side';
import { DuckDbFallback, readSide, rows, timed, type CsvSideSource, type ReadSide, type StepTimes } from './read-csv';

export { DuckDbFallback, type CsvSideSource, type StepTimes } from './read-csv';

export interface DuckDbPlaneOptions {
  /** DuckDB worker threads (default 2). */
  threads?: number;
}

/** Where the time went, in milliseconds, and how much the SQL settled. */
export interface DuckDbPlaneStats {
  readMs: number;
  normaliseMs: number;
  matchMs: number;
  leftoversMs: number;
  engineMs: number;
  /** Pairs final in SQL, and records handed to the TypeScript engine per side. */
  settledPairs: number;
  leftover: Record<Side, number>;
  /** Milliseconds per SQL statement and per JavaScript step. */
  steps: StepTimes;
}

const MAX_SAFE = '9007199254740991';

/** The first bad records of a side as the NormalisationError the TypeScript plane would throw (first in line order). */
async function checkProblems(c: DuckDBConnection, side: Side, def: ReconciliationDefinition, source: string) {
  const bad = await rows(
    c,
    `SELECT rid, problem, count(*) OVER () FROM norm_${side} WHERE problem IS NOT NULL ORDER BY rid LIMIT 5`,
  );
  if (bad.length === 0) return;
  const [rid, problem, count] = bad[0] as [bigint, string, bigint];
  const line = Number(rid) + 2;
  const [field, text] = problem.split(PROBLEM_SEP);
  const more =
    Number(count) > 1
      ? `; ${Number(count) - 1} more record(s) with problems, at lines ${bad
          .slice(1)
          .map((r) => Number(r[0]) + 2)
          .join(', ')}${Number(count) > bad.length ? ', ...' : ''}`
      : '';
  throw new NormalisationError(source, line, field, text + more, `${def[side].name ?? side}:${line}`);
}

/** Rule fields SQL knows for the rules it runs; a rule with any other (a filter, a later option) stays in TypeScript. */
const SQL_RULE_FIELDS = new Set([
  'id',
  'type',
  'compare_date',
  'absolute',
  'percent',
  'max_days_apart',
  'expect_unique',
  'auto',
]);

/** The leading rules SQL can run: exact, and tolerance with an absolute limit, neither with match_on. */
export function sqlRules(def: ReconciliationDefinition): number {
  // Before a sum_window rule searches, domain/recon reviews the one-to-one pairs of the rules before it and takes
  // back those whose record is also a sum (match-sum-rival.ts): a pair settled in SQL would escape that review.
  if (def.rules.some((r) => r.type === 'sum_window')) return 0;
  let n = 0;
  for (const r of def.rules) {
    if ('match_on' in r && r.match_on !== undefined) break;
    // A rule marked auto: false proposes what it finds (domain/recon/match-proposed.ts): SQL would settle its pairs.
    if (r.auto === false) break;
    if (Object.entries(r).some(([k, v]) => v !== undefined && !SQL_RULE_FIELDS.has(k))) break;
    if (r.type === 'exact') n++;
    else if (r.type === 'tolerance' && r.percent === undefined && r.absolute !== undefined) n++;
    else break;
  }
  return n;
}

/** Why sqlRules gives 0 (for the fallback's log line). */
export function noSqlRulesReason(def: ReconciliationDefinition): string {
  return def.rules.some((r) => r.type === 'sum_window')
    ? 'a sum_window rule reviews the one-to-one pairs before it, which SQL would have settled'
    : `rule ${def.rules[0].id} (${def.rules[0].type}) does not run in SQL`;
}

/** The summary of the pairs SQL settled: every one a match with no difference, both sides' records matched. */
export function sqlSummary(
  def: ReconciliationDefinition,
  byRule: Record<string, number>,
  byCurrency: { currency: string; count: number; sum: bigint }[],
): ReconSummary {
  const zeros = Object.fromEntries(def.rules.map((r) => [r.id, 0]));
  const n = byCurrency.reduce((s, c) => s + c.count, 0);
  const side = (): SideTotals => ({
    records_in: n,
    records_matched: n,
    records_unmatched: 0,
    amounts: byCurrency.map(({ currency, sum }) => {
      const scale = currencyScale(def, currency);
      const s = formatMinor(sum, scale);
      return { currency, amount_in: s, amount_matched: s, amount_unmatched: formatMinor(0, scale) };
    }),
  });
  return {
    reconciliation: def.id,
    // Not a partition of its own: merged into the TypeScript engine's summary, the count stays the engine's.
    partitions: 0,
    a: side(),
    b: side(),
    matches: n,
    matches_by_rule: { ...zeros, ...byRule },
    suggested_by_rule: { ...zeros },
    exceptions: 0,
    open_exceptions: 0,
    exceptions_by_category: Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>,
    gave_up: 0,
    differences: byCurrency.map(({ currency }) => {
      const zero = formatMinor(0, currencyScale(def, currency));
      return { currency, a_minus_b: zero, exceptions_total: zero };
    }),
  };
}

/** The currencies' decimals, checked to be at most the 6 the plane reads exactly. */
export function scalesOf(def: ReconciliationDefinition, currencies: readonly string[]): Map<string, number> {
  const scales = new Map(currencies.map((cur) => [cur, currencyScale(def, cur)]));
  for (const [cur, sc] of scales)
    if (sc > 6) throw new DuckDbFallback(`${cur} has ${sc} decimals; the DuckDB plane reads at most 6`);
  return scales;
}

/** `amt` at its currency's decimals. */
export function atScale(scales: Map<string, number>, cur: string, column = 'amt'): string {
  return `CAST(${column} AS DECIMAL(18,${scales.get(cur)}))`;
}

export interface PreparedSide {
  read: ReadSide;
  /** Currencies of the side's records, sorted. */
  currencies: string[];
  readMs: number;
  normaliseMs: number;
}

/**
 * Reads one CSV side into raw_<side> and normalises it in SQL into norm_<side> (rid, key, cur, day, amt, minor,
 * problem). Throws DuckDbFallback where the TypeScript plane must take the side, NormalisationError for bad input.
 */
export async function prepareSide(
  c: DuckDBConnection,
  def: ReconciliationDefinition,
  side: Side,
  source: CsvSideSource,
): Promise<PreparedSide> {
  let t = performance.now();
  const read = await readSide(c, side, source);
  const readMs = performance.now() - t;
  t = performance.now();
  let compiled;
  try {
    compiled = compileSide(def, side, read.columns, `(SELECT rowid AS rid, * FROM ${read.table})`);
  } catch (err) {
    if (err instanceof NotCompilable) throw new DuckDbFallback(`side ${side}: ${err.message} does not compile to SQL`);
    throw err;
  }
  await c.run(`CREATE TABLE pre_${side} AS ${compiled.sql}`);
  const currencies = (await rows(c, `SELECT DISTINCT cur FROM pre_${side} WHERE p_early IS NULL ORDER BY cur`)).map(
    (r) => String(r[0]),
  );
  const scales = scalesOf(def, currencies);
  // Exact when the amount has no more decimals than its currency (checked first); 12 digits before the point and
  // at most 6 after fit a 64-bit integer of minor units.
  const minor = perCurrency(
    'cur',
    currencies,
    (cur) => `CAST(${atScale(scales, cur)} * ${10 ** (scales.get(cur) as number)} AS BIGINT)`,
  );
  const exact = perCurrency('cur', currencies, (cur) => `amt = ${atScale(scales, cur)}`);
  const scaleOf = perCurrency('cur', currencies, (cur) => String(scales.get(cur)));
  const amountField = lit(def[side].value_fields[0] + PROBLEM_SEP);
  const shown = `regexp_replace(CAST(amt AS VARCHAR), '\\.?0+$', '')`;
  await c.run(
    `CREATE TABLE norm_${side} AS SELECT rid, key, cur, day, amt, CASE WHEN problem IS NULL THEN m END AS minor, problem FROM (` +
      `SELECT *, COALESCE(p_early, CASE WHEN NOT (${exact}) THEN ${amountField} || ${shown} || ' has more than ' || ${scaleOf} || ' decimal places: add a round transformation with an explicit mode' ` +
      `WHEN abs(m) > ${MAX_SAFE} THEN ${amountField} || ${shown} || ' is beyond the exact range of minor units (|amount| <= ${MAX_SAFE} minor units at ' || ${scaleOf} || ' decimals)' END, p_late) AS problem ` +
      `FROM (SELECT *, CASE WHEN p_early IS NULL THEN ${minor} END AS m FROM pre_${side}))`,
  );
  const out = await rows(
    c,
    `SELECT rid, problem FROM norm_${side} WHERE starts_with(split_part(problem, chr(31), 2), ${lit(OUT_OF_RANGE)}) ORDER BY rid LIMIT 1`,
  );
  if (out.length > 0)
    throw new DuckDbFallback(
      `${source.name} line ${Number(out[0][0]) + 2}: ${String(out[0][1]).split(PROBLEM_SEP)[1]}`,
    );
  await checkProblems(c, side, def, source.name);
  return { read, currencies, readMs, normaliseMs: performance.now() - t };
}

/**
 * The leading `nRules` rules set-based over norm_a and norm_b (rid, key, cur, day, amt, minor): the pairs they
 * settle with no difference, one per key held once per side, into the table `settled` (key, cur, ra, rb, ma, mb,
 * amt, rule = the rule's index).
 */
export async function settle(
  c: DuckDBConnection,
  def: ReconciliationDefinition,
  nRules: number,
  currencies: readonly string[],
): Promise<void> {
  const conds = def.rules.slice(0, nRules).map((r, i) => {
    if (r.type === 'exact') return `WHEN a.minor = b.minor${r.compare_date ? ' AND a.day = b.day' : ''} THEN ${i}`;
    if (r.type !== 'tolerance') throw new Error('unreachable');
    const limit = perCurrency('a.cur', currencies, (cur) =>
      String(limitToMinor(r.absolute as string, currencyScale(def, cur))),
    );
    const days =
      r.max_days_apart === undefined ? '' : ` AND abs(date_diff('day', a.day, b.day)) <= ${r.max_days_apart}`;
    return `WHEN abs(a.minor - b.minor) <= ${limit}${days} THEN ${i}`;
  });
  const single = (side: Side) =>
    `(SELECT key, cur, min(rid) AS rid, min(minor) AS minor, min(day) AS day, min(amt) AS amt FROM norm_${side} GROUP BY key, cur HAVING count(*) = 1)`;
  await c.run(
    `CREATE TABLE settled AS SELECT * FROM (SELECT a.key, a.cur, a.rid AS ra, b.rid AS rb, a.minor AS ma, b.minor AS mb, a.amt, ` +
      `CASE ${conds.join(' ')} END AS rule FROM ${single('a')} a JOIN ${single('b')} b ON a.key = b.key AND a.cur = b.cur) ` +
      // A key holding U+001E (the row separator of the engine's read of pairs) is left to the TypeScript engine.
      `WHERE rule IS NOT NULL AND ma = mb AND NOT contains(key, chr(30))`,
  );
}

/** The settled pairs per rule id and per currency (count, sum of minor units). */
export async function settledCounts(
  c: DuckDBConnection,
  def: ReconciliationDefinition,
): Promise<{ byRule: Record<string, number>; byCurrency: { currency: string; count: number; sum: bigint }[] }> {
  const byRule: Record<string, number> = {};
  for (const r of await rows(c, 'SELECT rule, count(*) FROM settled GROUP BY rule ORDER BY rule'))
    byRule[def.rules[Number(r[0])].id] = Number(r[1]);
  const byCurrency = (
    await rows(c, 'SELECT cur, count(*), CAST(sum(ma) AS VARCHAR) FROM settled GROUP BY cur ORDER BY cur')
  ).map((r) => ({ currency: String(r[0]), count: Number(r[1]), sum: BigInt(String(r[2])) }));
  return { byRule, byCurrency };
}

/**
 * The records of `table` that `settled` does not hold, normalised again by domain/recon from their raw values
 * (`rid` the record's ordinal: line = rid + 2; `columns` the raw fields, as SQL expressions of `table` in order).
 */
export async function leftovers(
  c: DuckDBConnection,
  def: ReconciliationDefinition,
  side: Side,
  source: string,
  from: { table: string; rid: string; columns: { name: string; sql: string }[]; settled: boolean },
): Promise<NormalisedRecord[]> {
  const col = side === 'a' ? 'ra' : 'rb';
  const { columns } = from;
  const reader = await c.runAndReadAll(
    `SELECT r.${from.rid} AS rid${columns.map((x) => `, r.${x.sql}`).join('')} FROM ${from.table} r ` +
      (from.settled ? `WHERE r.${from.rid} NOT IN (SELECT ${col} FROM settled) ` : '') +
      'ORDER BY rid',
  );
  const normalise = createNormaliser(def, side, { source });
  return (reader.getRows() as (string | null | bigint)[][]).map((r) => {
    const values: Record<string, string | null> = {};
    for (let i = 0; i < columns.length; i++) values[columns[i].name] = r[i + 1] as string | null;
    const raw: RawRecord = { line: Number(r[0]) + 2, values };
    return normalise(raw);
  });
}

/**
 * Reconciles two CSV files on DuckDB (see the head of this file). Throws DuckDbFallback before any result when the
 * definition or the files need the TypeScript plane, NormalisationError for bad input (file, line, field).
 */
export async function reconcileCsvOnDuckDb(
  def: ReconciliationDefinition,
  sources: Record<Side, CsvSideSource>,
  options: DuckDbPlaneOptions = {},
): Promise<ReconResult & { stats: DuckDbPlaneStats }> {
  const nRules = sqlRules(def);
  if (nRules === 0) throw new DuckDbFallback(noSqlRulesReason(def));
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(options.threads ?? 2),
    preserve_insertion_order: 'true',
    // Records stay in memory: no spill files in clear (DuckDB's default is .tmp in the working directory). A run
    // that does not fit fails with DuckDB's out-of-memory error instead. Sealed spilling is for a later slice.
    temp_directory: '',
    max_temp_directory_size: '0B',
  });
  const steps: StepTimes = {};
  const c = timed(await instance.connect(), steps);
  try {
    const prepared = { a: await prepareSide(c, def, 'a', sources.a), b: await prepareSide(c, def, 'b', sources.b) };
    const readMs = prepared.a.readMs + prepared.b.readMs;
    const normaliseMs = prepared.a.normaliseMs + prepared.b.normaliseMs;
    const currencies = [...new Set([...prepared.a.currencies, ...prepared.b.currencies])].sort();
    const scales = scalesOf(def, currencies);

    let t = performance.now();
    await settle(c, def, nRules, currencies);
    const labelA = def.a.name ?? 'a';
    const labelB = def.b.name ?? 'b';
    // One text per 64k pairs, ids and amounts already written by SQL (fields split by U+001F, pairs by U+001E, the
    // key last): converting values one by one through the node API cost 3x more.
    const amountText = perCurrency('cur', currencies, (cur) => `CAST(${atScale(scales, cur)} AS VARCHAR)`);
    const texts = (
      await rows(
        c,
        `SELECT string_agg(${lit(`${labelA}:`)} || (ra + 2) || chr(31) || ${lit(`${labelB}:`)} || (rb + 2) || chr(31) || ` +
          `${amountText} || chr(31) || rule || chr(31) || cur || chr(31) || key, chr(30) ORDER BY ra) ` +
          `FROM settled GROUP BY ra // 65536 ORDER BY ra // 65536`,
      )
    ).map((r) => String(r[0]));
    const t1 = performance.now();
    const matches: ReconMatch[] = [];
    const zero = new Map(currencies.map((cur) => [cur, formatMinor(0, scales.get(cur) as number)]));
    const ruleOf = def.rules.map((r) => ({ id: r.id, type: r.type }));
    for (const text of texts)
      for (const row of text.split('\u001e')) {
        const f = row.split('\u001f');
        const rule = ruleOf[Number(f[3])];
        matches.push({
          id: f[0],
          rule: rule.id,
          rule_type: rule.type,
          key: f[5],
          currency: f[4],
          a: [f[0]],
          b: [f[1]],
          amount_a: f[2],
          amount_b: f[2],
          difference: zero.get(f[4]) as string,
        });
      }
    steps['js: settled pairs as matches'] = performance.now() - t1;
    const settledPairs = matches.length;
    const counts = await settledCounts(c, def);
    const matchMs = performance.now() - t;

    t = performance.now();
    const left = (side: Side) =>
      leftovers(c, def, side, sources[side].name, {
        table: `raw_${side}`,
        rid: 'rowid',
        columns: prepared[side].read.columns.map((x) => ({ name: x, sql: ident(x) })),
        settled: true,
      });
    const leftA = await left('a');
    const leftB = await left('b');
    const leftoversMs = performance.now() - t;

    t = performance.now();
    const rest = reconcile(leftA, leftB, def);
    const summary = mergeSummaries([sqlSummary(def, counts.byRule, counts.byCurrency), rest.summary]);
    const engineMs = performance.now() - t;
    for (const m of rest.matches) matches.push(m);
    return {
      matches,
      exceptions: rest.exceptions,
      gave_up: rest.gave_up,
      summary,
      stats: {
        readMs,
        normaliseMs,
        matchMs,
        leftoversMs,
        engineMs,
        settledPairs,
        leftover: { a: leftA.length, b: leftB.length },
        steps,
      },
    };
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
