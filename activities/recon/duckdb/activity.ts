// The reconciliation activities' side of the DuckDB plane (plane.ts): which engine a run asks for, each side's
// extraction on DuckDB or the reason it stays on today's path (logged, and recorded beside the run's spill files
// for the run summary), and a partition reconciled from Parquet sides. Nothing here changes the workflow: the
// activities take the same inputs and give the same control totals and summaries, so a run's history is the same
// shape on either engine.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join, basename } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ReconciliationDefinition, Side } from '../../../domain/recon';
import type { DatasetCipher } from '../../security/envelope';
import type { ExtractReconSideInput, ExtractedSide } from '../extract';
import { isCsvSource, parseReconSource, sourceFilePath } from '../sources';
import { readBuckets, runDirName } from '../spill';
import { DuckDbFallback, type CsvSideSource } from './engine';
import {
  extractSideOnDuckDb,
  isParquetSide,
  reconcilePartitionOnDuckDb,
  type PartitionSide,
  type ParquetPartitionResult,
} from './plane';

export type ReconEngineName = 'typescript' | 'duckdb';

/** The engine a run used for its sides and why: recorded with the run's summary. */
export interface EngineChoice {
  engine: ReconEngineName;
  reason: string;
}

/**
 * The engine the definition asks for (its `engine`), else FINFLOW_RECON_ENGINE, else typescript. Today's engine
 * stays the default: a DuckDB run keeps its matches in Parquet beside the reports, not in the result store's
 * recon_matches table, which is a change readers of that table must opt into.
 */
export function requestedEngine(written: unknown, env: NodeJS.ProcessEnv = process.env): EngineChoice {
  const own = (written as { engine?: unknown } | null)?.engine;
  if (own !== undefined) {
    if (own !== 'typescript' && own !== 'duckdb')
      throw ApplicationFailure.nonRetryable(
        `the definition's engine must be typescript or duckdb, got ${JSON.stringify(own)}`,
        'InvalidDefinition',
      );
    return { engine: own, reason: `the definition asks for engine: ${own}` };
  }
  const v = env.FINFLOW_RECON_ENGINE?.trim().toLowerCase();
  if (v === 'duckdb') return { engine: 'duckdb', reason: 'FINFLOW_RECON_ENGINE=duckdb' };
  if (v === undefined || v === '' || v === 'typescript')
    return {
      engine: 'typescript',
      reason: 'the default (neither the definition nor FINFLOW_RECON_ENGINE asks for duckdb)',
    };
  throw ApplicationFailure.nonRetryable(
    `FINFLOW_RECON_ENGINE must be typescript or duckdb, got ${JSON.stringify(env.FINFLOW_RECON_ENGINE)}`,
    'InvalidInput',
  );
}

function planeFile(workDir: string, runId: string, side: Side): string {
  return join(workDir, runDirName(runId), `engine-${side}.json`);
}

/** Records the engine of one side (outside the side's own directory, which either plane replaces whole). */
export async function recordEngine(workDir: string, runId: string, side: Side, choice: EngineChoice): Promise<void> {
  await mkdir(join(workDir, runDirName(runId)), { recursive: true });
  await writeFile(planeFile(workDir, runId, side), JSON.stringify(choice));
}

/**
 * The run's engine as its sides recorded it: duckdb when both sides were extracted by DuckDB, otherwise
 * typescript with each side's reason; undefined when the records are gone (the run's work directory removed).
 */
export async function runEngine(workDir: string, runId: string): Promise<EngineChoice | undefined> {
  const sides: Partial<Record<Side, EngineChoice>> = {};
  for (const side of ['a', 'b'] as const) {
    try {
      sides[side] = JSON.parse(await readFile(planeFile(workDir, runId, side), 'utf8')) as EngineChoice;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  const { a, b } = sides;
  if (!a || !b) return undefined;
  if (a.engine === b.engine && a.reason === b.reason) return a;
  if (a.engine === 'duckdb' && b.engine === 'duckdb')
    return { engine: 'duckdb', reason: `a: ${a.reason}; b: ${b.reason}` };
  return {
    engine: a.engine === 'duckdb' || b.engine === 'duckdb' ? 'duckdb' : 'typescript',
    reason: `side a on ${a.engine} (${a.reason}); side b on ${b.engine} (${b.reason})`,
  };
}

/** The side's CSV source with its path resolved, or DuckDbFallback for any other connector. */
function csvSource(
  input: ExtractReconSideInput,
  def: ReconciliationDefinition,
  filesDir: string | undefined,
): CsvSideSource {
  const src = parseReconSource(input.source ?? def[input.side].source, input.side);
  if (!isCsvSource(src)) throw new DuckDbFallback(`side ${input.side} reads ${src.connector}, not a CSV file`);
  // Rendered for the run as today's path renders it ({period}, {as_of_date}, ...), under the files directory.
  const path = sourceFilePath(src.path, {
    filesDir,
    asOf: input.asOf,
    period: input.period,
    ...(input.periodStart && input.periodEnd ? { periodStart: input.periodStart, periodEnd: input.periodEnd } : {}),
  });
  return {
    path,
    name: basename(path),
    delimiter: src.delimiter,
    encoding: src.encoding,
    header: src.header,
    quote: src.quote,
  };
}

export interface DuckExtractEnv {
  workDir: string;
  filesDir?: string;
  /** The side's directory (spill.ts sideDir). */
  dir: string;
  cipher?: DatasetCipher;
  heartbeat: (details?: unknown) => void;
  log: (line: string) => void;
}

/**
 * Extracts one side on DuckDB, or says why today's path must take it (undefined: the caller runs today's
 * extraction). Bad input is thrown as domain/recon's NormalisationError, as today's path throws it.
 */
export async function extractOnDuckDb(
  input: ExtractReconSideInput,
  def: ReconciliationDefinition,
  env: DuckExtractEnv,
  asked: EngineChoice,
): Promise<ExtractedSide | undefined> {
  const beat = setInterval(() => env.heartbeat({ stage: 'extract', engine: 'duckdb' }), 5000);
  try {
    const info = await extractSideOnDuckDb({
      def,
      side: input.side,
      source: csvSource(input, def, env.filesDir),
      dir: env.dir,
      spillBuckets: input.partitions,
      cipher: env.cipher,
    });
    await recordEngine(env.workDir, input.runId, input.side, asked);
    const { side, source, records, amounts, bucketCounts } = info;
    return { side, source, records, amounts, bucketCounts, engine: 'duckdb' };
  } catch (err) {
    if (!(err instanceof DuckDbFallback)) throw err;
    env.log(
      `reconciliation ${input.reconId} side ${input.side}: the DuckDB data plane falls back to the TypeScript one: ${err.message}`,
    );
    await recordEngine(env.workDir, input.runId, input.side, { engine: 'typescript', reason: err.message });
    return undefined;
  } finally {
    clearInterval(beat);
  }
}

/**
 * A partition with at least one Parquet side (plane.ts): a side spilled by today's extraction is read from its
 * bucket files (readBuckets); the heartbeat is kept while DuckDB works.
 */
export async function reconcileOnDuckDb(
  def: ReconciliationDefinition,
  job: {
    runId: string;
    partition: number;
    dirs: Record<Side, string>;
    infos: Partial<Record<Side, unknown>>;
    buckets: number[];
    matchesFile: string;
    cipher?: DatasetCipher;
  },
  heartbeat: (details?: unknown) => void,
): Promise<ParquetPartitionResult> {
  const { cipher } = job;
  const sideOf = async (s: Side): Promise<PartitionSide> => {
    const info = job.infos[s];
    if (isParquetSide(info)) return { kind: 'parquet', dir: job.dirs[s], info };
    const spill = cipher ? { cipher, context: `${job.runId}/${s}` } : undefined;
    return { kind: 'records', records: await readBuckets(job.dirs[s], s, job.buckets, spill) };
  };
  const beat = setInterval(() => heartbeat({ stage: 'match', engine: 'duckdb' }), 5000);
  try {
    const sides = { a: await sideOf('a'), b: await sideOf('b') };
    const out = await reconcilePartitionOnDuckDb({ def, sides, ...job });
    heartbeat({ stage: 'store', matches: out.matches, exceptions: out.exceptions.length });
    return out;
  } finally {
    clearInterval(beat);
  }
}

/** Where a DuckDB run's matches go: one Parquet file per partition in a folder of the run beside the reports. */
export function matchesDirOf(reportsDir: string, runId: string): string {
  return join(reportsDir, 'matches', runDirName(runId));
}

export function matchesFileOf(
  reportsDir: string,
  runId: string,
  partition: number,
  partitions: number,
  sealed: boolean,
): string {
  return join(
    matchesDirOf(reportsDir, runId),
    `partition-${partition}-of-${partitions}.parquet${sealed ? '.sealed' : ''}`,
  );
}

/** The run summary with the engine the run used and why (and, for DuckDB, where its matches are). */
export function withEngine(summary: unknown, engine: EngineChoice | undefined, matchesDir: string): unknown {
  if (engine === undefined || summary === null || typeof summary !== 'object' || Array.isArray(summary)) return summary;
  return {
    ...summary,
    engine: engine.engine,
    engineReason: engine.reason,
    ...(engine.engine === 'duckdb' ? { matchesDir } : {}),
  };
}
