// The DuckDB data plane inside the reconciliation's activities (issue 20). extractReconSide reads a CSV side with
// DuckDB, normalises it in SQL (engine.ts prepareSide: bad input refused by file, line and field) and stores it in
// the run's work directory as Parquet, one file per spill bucket (the same MD5 bucket of the normalised key as the
// TypeScript spill files, domain/recon partitionOf), with the raw values beside the normalised ones. Any worker that
// reaches the work directory can then reconcile any partition: reconcilePartition loads its buckets of both sides,
// settles the leading exact/tolerance rules in SQL, hands the rest to domain/recon (engine.ts leftovers), writes the
// exceptions to the result store (the caller) and every match of the partition to one Parquet file beside the
// reports (DuckDB COPY: no JavaScript object per matched pair).
//
// At rest: with the run's data key, every Parquet file is a sealed file (security/file-seal.ts) - DuckDB writes and
// reads clear Parquet only in a private directory on /dev/shm (memory), removed when the step ends; without keys the
// files are in clear, as the spill files and the result store of such a run are.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  currencyScale,
  mergeSummaries,
  reconcile,
  type NormalisedRecord,
  type ReconMatch,
  type ReconResult,
  type ReconciliationDefinition,
  type Side,
} from '../../../domain/recon';
import { formatMinor } from '../../../domain/recon/minor';
import type { DatasetCipher } from '../../security/envelope';
import { openSealedFile, sealingStream } from '../../security/file-seal';
import { DEC, ident, lit, perCurrency } from './sql-text';
import {
  atScale,
  DuckDbFallback,
  leftovers,
  prepareSide,
  scalesOf,
  settle,
  settledCounts,
  sqlRules,
  sqlSummary,
  type CsvSideSource,
} from './engine';
import { rows } from './read-csv';

/** `format` of a side stored by this plane (its complete.json); a side without it is a TypeScript spill. */
export const PARQUET_SIDE_FORMAT = 'finflow-duckdb-parquet/v1';

/** complete.json of a side stored as Parquet: the extraction's control totals and what a partition needs. */
export interface ParquetSideInfo {
  format: typeof PARQUET_SIDE_FORMAT;
  side: Side;
  source: string;
  records: number;
  amounts: { currency: string; amount: string }[];
  bucketCounts: number[];
  /** The raw columns in order (stored as c0, c1, ...). */
  columns: string[];
  /** Files the buckets are grouped in (bucket mod groups). */
  groups: number;
  sealed: boolean;
}

export function isParquetSide(info: unknown): info is ParquetSideInfo {
  return (info as { format?: unknown } | null)?.format === PARQUET_SIDE_FORMAT;
}

const COMPLETE = 'complete.json';
const GROUP_FILE = /^g(\d+)-(\d+)\.parquet(\.sealed)?$/;
/**
 * Files per side: bucket b is stored in group b mod GROUPS, so a partition of a run split in at most GROUPS parts
 * reads whole files (one per side at 16) and a finer one filters its buckets out of its group's file.
 * One file per bucket (256) cost more in file overhead than it saved (100k records: 8 s to write, 6.5 s to load).
 */
const GROUPS = 16;

/** A private directory for clear Parquet: in memory (/dev/shm) when the data is sealed at rest. */
async function stagingDir(sealed: boolean, parent: string): Promise<string> {
  if (!sealed) {
    await mkdir(parent, { recursive: true });
    return mkdtemp(join(parent, '.duckdb-'));
  }
  try {
    return await mkdtemp('/dev/shm/finflow-duckdb-');
  } catch {
    throw new DuckDbFallback('no /dev/shm to hold clear Parquet in memory while sealing it');
  }
}

async function openDuck(threads: number | undefined): Promise<{ c: DuckDBConnection; close: () => void }> {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(threads ?? 2),
    preserve_insertion_order: 'true',
    // No spill files of DuckDB's own: records stay in memory (engine.ts).
    temp_directory: '',
    max_temp_directory_size: '0B',
  });
  const c = await instance.connect();
  return {
    c,
    close: () => {
      c.closeSync();
      instance.closeSync();
    },
  };
}

/** Moves a clear file to `to` (sealed under its name with `cipher` when given: copied sealed, then renamed). */
async function store(from: string, to: string, cipher: DatasetCipher | undefined): Promise<void> {
  if (!cipher) {
    await rename(from, to);
    return;
  }
  const tmp = `${to}.tmp-${process.pid}`;
  await pipeline(createReadStream(from), sealingStream(cipher, basename(to)), createWriteStream(tmp));
  await rename(tmp, to);
}

/** A stored file as DuckDB can read it: itself when clear, else its clear form opened into `staging`. */
async function load(from: string, staging: string, cipher: DatasetCipher | undefined): Promise<string> {
  if (!from.endsWith('.sealed')) return from;
  if (!cipher) throw new Error(`${from} is sealed and this worker has no keys to open it`);
  const to = join(staging, basename(from).replace(/\.sealed$/, ''));
  await pipeline(Readable.from(openSealedFile(from, cipher)), createWriteStream(to));
  return to;
}

/** Milliseconds per step, printed to stderr when FINFLOW_RECON_PROFILE is set (the bench's profile). */
function profiler(what: string) {
  const on = !!process.env.FINFLOW_RECON_PROFILE;
  const t0 = performance.now();
  let t = t0;
  const parts: string[] = [];
  return {
    step(name: string) {
      const now = performance.now();
      if (on) parts.push(`${name} ${((now - t) / 1000).toFixed(2)} s`);
      t = now;
    },
    done() {
      if (on)
        console.error(`[profile] ${what}: ${((performance.now() - t0) / 1000).toFixed(2)} s (${parts.join('; ')})`);
    },
  };
}

export interface ParquetSideJob {
  def: ReconciliationDefinition;
  side: Side;
  source: CsvSideSource;
  /** The side's directory in the run's work directory (spill.ts sideDir); replaced whole. */
  dir: string;
  spillBuckets: number;
  /** The run's dataset cipher: the files are sealed with it. */
  cipher?: DatasetCipher;
  threads?: number;
}

/**
 * Reads, normalises and stores one side (see the head of this file). Throws DuckDbFallback before anything is
 * stored when the TypeScript plane must take the side, NormalisationError for bad input.
 */
export async function extractSideOnDuckDb(job: ParquetSideJob): Promise<ParquetSideInfo> {
  const { def, side, source, dir } = job;
  const { c, close } = await openDuck(job.threads);
  const staging = await stagingDir(job.cipher !== undefined, dirname(dir));
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  const prof = profiler(`extract side ${side} on DuckDB`);
  try {
    const prepared = await prepareSide(c, def, side, source);
    prof.step(`read ${(prepared.readMs / 1000).toFixed(2)} s + normalise`);
    const scales = scalesOf(def, prepared.currencies);
    const raw = prepared.read.columns.map((x, i) => `r.${ident(x)} AS c${i}`);
    // Every record is checked (prepareSide): minor is its exact amount in minor units, key its normalised key.
    const groups = Math.min(GROUPS, job.spillBuckets);
    const bucket = (key: string) => `CAST(('0x' || substr(md5(${key}), 1, 8)) AS UBIGINT) % ${job.spillBuckets}`;
    // Straight from the query, unsorted and snappy-compressed: at 1M records a materialised copy sorted by bucket
    // with zstd took about as long as reading and normalising (a partition filters its buckets instead).
    await c.run(
      `COPY (SELECT bucket % ${groups} AS grp, * FROM (SELECT ${bucket('n.key')} AS bucket, ` +
        `n.rid, n.key, n.cur, CAST(n.day AS DATE) AS day, CAST(n.amt AS ${DEC}) AS amt, n.minor` +
        `${raw.map((x) => `, ${x}`).join('')} FROM norm_${side} n JOIN ${prepared.read.table} r ON r.rowid = n.rid)) ` +
        `TO ${lit(join(staging, 'side'))} (FORMAT parquet, PARTITION_BY (grp), COMPRESSION snappy)`,
    );
    prof.step(`Parquet in ${groups} files`);
    const bucketCounts = new Array<number>(job.spillBuckets).fill(0);
    for (const r of await rows(c, `SELECT ${bucket('key')}, count(*) FROM norm_${side} GROUP BY 1`))
      bucketCounts[Number(r[0])] = Number(r[1]);
    const amounts = (
      await rows(c, `SELECT cur, CAST(sum(minor) AS VARCHAR) FROM norm_${side} GROUP BY cur ORDER BY cur`)
    ).map((r) => ({
      currency: String(r[0]),
      amount: formatMinor(BigInt(String(r[1])), scales.get(String(r[0])) as number),
    }));
    prof.step('totals');
    await mkdir(tmp, { recursive: true });
    for (const folder of await readdir(join(staging, 'side'))) {
      const group = /^grp=(\d+)$/.exec(folder)?.[1];
      if (group === undefined) continue;
      const files = (await readdir(join(staging, 'side', folder))).sort();
      for (let i = 0; i < files.length; i++)
        await store(
          join(staging, 'side', folder, files[i]),
          join(tmp, `g${group}-${i}.parquet${job.cipher ? '.sealed' : ''}`),
          job.cipher,
        );
    }
    const info: ParquetSideInfo = {
      format: PARQUET_SIDE_FORMAT,
      side,
      source: source.name,
      records: prepared.read.records,
      amounts,
      bucketCounts,
      columns: prepared.read.columns,
      groups,
      sealed: job.cipher !== undefined,
    };
    await writeFile(join(tmp, COMPLETE), JSON.stringify(info));
    // The side whole or not at all: an earlier attempt's files (either plane's) are replaced by this one's.
    await rm(dir, { recursive: true, force: true });
    await mkdir(dirname(dir), { recursive: true });
    await rename(tmp, dir);
    prof.step(job.cipher ? 'sealed and stored' : 'stored');
    prof.done();
    return info;
  } finally {
    close();
    await rm(staging, { recursive: true, force: true });
    await rm(tmp, { recursive: true, force: true });
  }
}

/** A side of a partition: stored by this plane, or records read from a TypeScript spill (spill.ts readBuckets). */
export type PartitionSide =
  { kind: 'parquet'; dir: string; info: ParquetSideInfo } | { kind: 'records'; records: NormalisedRecord[] };

export interface ParquetPartitionJob {
  def: ReconciliationDefinition;
  sides: Record<Side, PartitionSide>;
  buckets: readonly number[];
  partition: number;
  /** Where the partition's matches go (Parquet, sealed when `cipher` is given); replaced whole. */
  matchesFile: string;
  cipher?: DatasetCipher;
  threads?: number;
}

export interface ParquetPartitionResult extends Omit<ReconResult, 'matches'> {
  /** Matches written to `matchesFile`. */
  matches: number;
  settledPairs: number;
}

/** Loads a Parquet side's buckets into the table side_<side> (bucket, rid, key, cur, day, amt, minor, c0..). */
async function loadSide(
  c: DuckDBConnection,
  side: Side,
  s: Extract<PartitionSide, { kind: 'parquet' }>,
  buckets: ReadonlySet<number>,
  staging: string,
  cipher: DatasetCipher | undefined,
): Promise<void> {
  const raw = s.info.columns.map((_, i) => `, c${i} VARCHAR`).join('');
  await c.run(
    `CREATE TABLE side_${side} (bucket UBIGINT, rid BIGINT, key VARCHAR, cur VARCHAR, day DATE, amt ${DEC}, minor BIGINT${raw})`,
  );
  const files: string[] = [];
  await mkdir(join(staging, side), { recursive: true });
  const groups = new Set([...buckets].map((b) => b % s.info.groups));
  for (const f of (await readdir(s.dir)).sort()) {
    const m = GROUP_FILE.exec(f);
    if (!m || !groups.has(Number(m[1]))) continue;
    files.push(await load(join(s.dir, f), join(staging, side), cipher));
  }
  if (files.length > 0)
    await c.run(
      `INSERT INTO side_${side} BY NAME SELECT * FROM read_parquet([${files.map(lit).join(', ')}], hive_partitioning = false) ` +
        `WHERE bucket IN (${[...buckets].join(', ')})`,
    );
}

/** A JSON array of one record id as SQL text: the side's label (JSON-escaped) and the record's line. */
const idList = (label: string, rid: string) =>
  `${lit(`["${JSON.stringify(`${label}:`).slice(1, -1)}`)} || (${rid} + 2) || '"]'`;

/**
 * The partition's matches as one SELECT: the settled pairs formatted by SQL as they are written (not materialised
 * first) and domain/recon's, appended to the table `rest_matches`.
 */
async function matchesQuery(
  c: DuckDBConnection,
  def: ReconciliationDefinition,
  currencies: readonly string[],
  settled: boolean,
  rest: readonly ReconMatch[],
  partition: number,
): Promise<string> {
  await c.run(
    'CREATE TABLE rest_matches (item_id VARCHAR, rule VARCHAR, rule_type VARCHAR, key VARCHAR, currency VARCHAR, ' +
      'a_items VARCHAR, b_items VARCHAR, amount_a VARCHAR, amount_b VARCHAR, difference VARCHAR, part INTEGER)',
  );
  let query = 'SELECT * FROM rest_matches';
  if (settled && currencies.length > 0) {
    const scales = scalesOf(def, currencies);
    const labelA = def.a.name ?? 'a';
    const labelB = def.b.name ?? 'b';
    const amount = perCurrency('cur', currencies, (cur) => `CAST(${atScale(scales, cur)} AS VARCHAR)`);
    const zero = perCurrency('cur', currencies, (cur) => lit(formatMinor(0, currencyScale(def, cur))));
    const ruleId = `CASE rule ${def.rules.map((r, i) => `WHEN ${i} THEN ${lit(r.id)}`).join(' ')} END`;
    const ruleType = `CASE rule ${def.rules.map((r, i) => `WHEN ${i} THEN ${lit(r.type)}`).join(' ')} END`;
    query =
      `SELECT ${lit(`${labelA}:`)} || (ra + 2) AS item_id, ${ruleId} AS rule, ${ruleType} AS rule_type, key, cur AS currency, ` +
      `${idList(labelA, 'ra')} AS a_items, ${idList(labelB, 'rb')} AS b_items, ${amount} AS amount_a, ${amount} AS amount_b, ` +
      `${zero} AS difference, ${partition} AS part FROM settled ` +
      `UNION ALL ${query}`;
  }
  if (rest.length === 0) return query;
  const app = await c.createAppender('rest_matches');
  try {
    for (const m of rest) {
      app.appendVarchar(m.id);
      app.appendVarchar(m.rule);
      app.appendVarchar(m.rule_type);
      app.appendVarchar(m.key);
      app.appendVarchar(m.currency);
      app.appendVarchar(JSON.stringify(m.a));
      app.appendVarchar(JSON.stringify(m.b));
      app.appendVarchar(m.amount_a);
      app.appendVarchar(m.amount_b);
      app.appendVarchar(m.difference);
      app.appendInteger(partition);
      app.endRow();
    }
    app.flushSync();
  } finally {
    app.closeSync();
  }
  return query;
}

/**
 * Reconciles one partition (see the head of this file): returns its exceptions and summary, and writes its matches
 * to `matchesFile`. The same partition reconciled again writes the same file and returns the same result.
 */
export async function reconcilePartitionOnDuckDb(job: ParquetPartitionJob): Promise<ParquetPartitionResult> {
  const { def } = job;
  const { c, close } = await openDuck(job.threads);
  const staging = await stagingDir(job.cipher !== undefined, dirname(job.matchesFile));
  const prof = profiler(`partition ${job.partition} on DuckDB`);
  try {
    const buckets = new Set(job.buckets);
    const left: Partial<Record<Side, NormalisedRecord[]>> = {};
    for (const side of ['a', 'b'] as const) {
      const s = job.sides[side];
      if (s.kind === 'parquet') await loadSide(c, side, s, buckets, staging, job.cipher);
      else left[side] = s.records;
    }
    prof.step('load');
    // Set-based only when both sides are in SQL and the definition starts with rules SQL runs.
    const nRules = job.sides.a.kind === 'parquet' && job.sides.b.kind === 'parquet' ? sqlRules(def) : 0;
    let currencies: string[] = [];
    let counts: Awaited<ReturnType<typeof settledCounts>> = { byRule: {}, byCurrency: [] };
    if (nRules > 0) {
      for (const side of ['a', 'b'] as const)
        await c.run(`CREATE VIEW norm_${side} AS SELECT rid, key, cur, day, amt, minor FROM side_${side}`);
      currencies = (
        await rows(c, 'SELECT DISTINCT cur FROM (SELECT cur FROM side_a UNION ALL SELECT cur FROM side_b) ORDER BY cur')
      ).map((r) => String(r[0]));
      await settle(c, def, nRules, currencies);
      counts = await settledCounts(c, def);
    }
    prof.step('settle');
    for (const side of ['a', 'b'] as const) {
      const s = job.sides[side];
      if (s.kind !== 'parquet') continue;
      left[side] = await leftovers(c, def, side, s.info.source, {
        table: `side_${side}`,
        rid: 'rid',
        columns: s.info.columns.map((name, i) => ({ name, sql: `c${i}` })),
        settled: nRules > 0,
      });
    }
    prof.step(`leftovers a ${left.a?.length} b ${left.b?.length}`);
    const rest = reconcile(left.a ?? [], left.b ?? [], def);
    const summary =
      nRules > 0 ? mergeSummaries([sqlSummary(def, counts.byRule, counts.byCurrency), rest.summary]) : rest.summary;
    prof.step('domain/recon');
    const matches = await matchesQuery(c, def, currencies, nRules > 0, rest.matches, job.partition);
    const clear = join(staging, 'matches.parquet');
    await c.run(`COPY (${matches}) TO ${lit(clear)} (FORMAT parquet, COMPRESSION snappy)`);
    await mkdir(dirname(job.matchesFile), { recursive: true });
    await store(clear, job.matchesFile, job.cipher);
    prof.step('matches to Parquet');
    prof.done();
    return {
      exceptions: rest.exceptions,
      gave_up: rest.gave_up,
      summary,
      matches: summary.matches,
      settledPairs: counts.byCurrency.reduce((n, x) => n + x.count, 0),
    };
  } finally {
    close();
    await rm(staging, { recursive: true, force: true });
  }
}

/** The rows of a matches file (sealed or not) as DuckDB reads them: for tests and tools, not for large runs. */
export async function readMatchesFile(file: string, cipher?: DatasetCipher): Promise<Record<string, unknown>[]> {
  const { c, close } = await openDuck(1);
  const staging = await stagingDir(cipher !== undefined, tmpdir());
  try {
    const clear = await load(file, staging, cipher);
    const reader = await c.runAndReadAll(`SELECT * FROM read_parquet(${lit(clear)})`);
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    close();
    await rm(staging, { recursive: true, force: true });
  }
}
