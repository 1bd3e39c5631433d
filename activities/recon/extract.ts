// Extraction of one side: stream the source through its connector, normalise each record, append it to its hash
// bucket's spill file, and keep the control totals. Runs in the activity's thread or in a worker thread
// (extract-thread.ts); both call extractSide.
import { ApplicationFailure } from '@temporalio/common';
import type { ConnectorLookup } from '../../contracts/connector';
import {
  ControlTotalsError,
  DefinitionError,
  NormalisationError,
  PartitionInputError,
  createNormaliser,
  currencyScale,
  parseDefinition,
  partitionOf,
  reconcile,
  type ReconResult,
  type ReconSummary,
  type ReconciliationDefinition,
  type Side,
} from '../../domain/recon';
import { MinorSum, formatMinor } from '../../domain/recon/minor';
import { toSourceFailure } from '../connectors/source-error';
import { exceptionFromRecon, matchFromRecon, type ResultStore } from '../result-store';
import type { SystemRegistry } from '../systems';
import { sourceUnavailable, stallMsOf, unavailableReason, withStallTimeout } from './source-outage';
import { openSource, parseReconSource } from './sources';
import { DataDecryptionError, cipherFromThreadKey, toActivityFailure, type ThreadDataKey } from '../security/envelope';
import { SpillWriter, readBuckets, sideDir, type SpillCipher } from './spill';

/** Control totals of one side as extracted: per currency, exact decimal strings. */
export interface ExtractedSide {
  side: Side;
  source: string;
  records: number;
  amounts: { currency: string; amount: string }[];
  /** Records per spill bucket (hash of the key mod `partitions`). */
  bucketCounts: number[];
  /** Set when the DuckDB data plane extracted the side (its Parquet files): the workflow plans fewer partitions. */
  engine?: 'duckdb';
}

export interface ExtractReconSideInput {
  runId: string;
  reconId: string;
  side: Side;
  /** The side's source; default the definition's (`definition[side].source`). */
  source?: unknown;
  /** The reconciliation definition as written (validated again here). */
  definition: unknown;
  /** Spill buckets: hash of the normalised key mod this. */
  partitions: number;
  /** yyyy-mm-dd, bound to :as_of_date. */
  asOf: string;
  period?: string;
  /** The period's first and last day (bound to :period_start and :period_end); default a yyyy-mm period's month. */
  periodStart?: string;
  periodEnd?: string;
}

export function definitionOf(input: unknown, reconId: string): ReconciliationDefinition {
  try {
    return parseDefinition(input);
  } catch (err) {
    if (err instanceof DefinitionError)
      throw ApplicationFailure.nonRetryable(`reconciliation ${reconId}: ${err.message}`, 'InvalidDefinition');
    throw err;
  }
}

/** Bad data is a business refusal: the same bytes fail the same way on retry. */
export function refusal(err: unknown): unknown {
  if (err instanceof NormalisationError)
    return ApplicationFailure.nonRetryable(err.message, 'SourceDataError', {
      source: err.source,
      line: err.line,
      field: err.field,
      reason: err.problem,
    });
  if (err instanceof PartitionInputError || err instanceof ControlTotalsError)
    return ApplicationFailure.nonRetryable(err.message, err.name);
  if (err instanceof DataDecryptionError) return toActivityFailure(err);
  return toSourceFailure(err);
}

/**
 * Fields the matching step reads from records besides key, amount, currency and date (subset-sum groups, match_on,
 * item counts, where_a / where_b conditions, the bank reconciling items' text fields).
 */
export function fieldsNeeded(def: ReconciliationDefinition): string[] {
  const out = new Set<string>();
  for (const r of def.rules) {
    if (r.type === 'subset_sum' && r.group_by !== 'key') out.add(r.group_by.field);
    if ('match_on' in r && r.match_on !== undefined) for (const f of r.match_on) out.add(f);
    if ('count_field' in r && r.count_field !== undefined) out.add(r.count_field);
    // A rule's where_a / where_b read their fields from the records the matching step gets back from the spill.
    for (const w of [r.where_a, r.where_b]) if (w !== undefined) for (const f of Object.keys(w)) out.add(f);
  }
  const bank = def.categorisation.bank;
  if (bank?.fee_field !== undefined) out.add(bank.fee_field);
  if (bank?.check_field !== undefined) out.add(bank.check_field);
  return [...out];
}

export function checkPartitions(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1 || n > 65_536)
    throw ApplicationFailure.nonRetryable(`${what} must be an integer from 1 to 65536, got ${n}`, 'InvalidInput');
}

/** What a source is opened with: the worker's systems, and the plug-in connectors it was given (by engine name). */
export interface SourceDeps {
  systems: SystemRegistry;
  connectors?: ConnectorLookup;
}

/** The systems and connectors of a dependency bag, and nothing else of it. */
export const sourceDepsOf = (d: SourceDeps): SourceDeps => ({ systems: d.systems, connectors: d.connectors });

export interface ExtractEnv extends SourceDeps {
  filesDir?: string;
  workDir: string;
  /** The run's dataset key when spill files are encrypted at rest (the worker has keys). */
  dataKey?: ThreadDataKey;
}

/** The spill cipher of one side of a run, or undefined when spill files are written in clear. */
function spillCipher(dataKey: ThreadDataKey | undefined, runId: string, side: Side): SpillCipher | undefined {
  return dataKey ? { cipher: cipherFromThreadKey(dataKey), context: `${runId}/${side}` } : undefined;
}

/** Extracts one side; throws refusals (non-retryable ApplicationFailure) for bad definitions and bad data. */
export async function extractSide(
  input: ExtractReconSideInput,
  env: ExtractEnv,
  progress: (details: { records: number }) => void,
): Promise<ExtractedSide> {
  const def = definitionOf(input.definition, input.reconId);
  checkPartitions(input.partitions, 'partitions');
  const source = parseReconSource(input.source ?? def[input.side].source, input.side);
  const opened = openSource(source, {
    systems: env.systems,
    connectors: env.connectors,
    filesDir: env.filesDir,
    asOf: input.asOf,
    period: input.period,
    ...(input.periodStart && input.periodEnd ? { periodStart: input.periodStart, periodEnd: input.periodEnd } : {}),
  });
  // A database that sends nothing for the stall timeout is reported as unavailable (it may be frozen).
  const isDb = 'system' in source;
  const batches = isDb ? withStallTimeout(opened.batches, opened.name, stallMsOf(source)) : opened.batches;
  const normalise = createNormaliser(def, input.side, { source: opened.name });
  const cipher = spillCipher(env.dataKey, input.runId, input.side);
  const writer = await SpillWriter.open(
    sideDir(env.workDir, input.runId, input.side),
    input.partitions,
    fieldsNeeded(def),
    cipher,
  );
  const counts = new Array<number>(input.partitions).fill(0);
  const sums = new Map<string, MinorSum>();
  let records = 0;
  let committed = false;
  try {
    for await (const batch of batches) {
      for (let i = 0; i < batch.length; i++) {
        const r = normalise(batch[i]);
        const bucket = partitionOf(r.key, input.partitions);
        counts[bucket]++;
        let s = sums.get(r.currency);
        if (s === undefined) {
          s = new MinorSum();
          sums.set(r.currency, s);
        }
        s.add(r.amountMinor);
        writer.add(bucket, r);
      }
      records += batch.length;
      await writer.drain();
      progress({ records });
    }
    const result: ExtractedSide = {
      side: input.side,
      source: opened.name,
      records,
      amounts: [...sums.keys()].sort().map((currency) => ({
        currency,
        amount: formatMinor((sums.get(currency) as MinorSum).value(), currencyScale(def, currency)),
      })),
      bucketCounts: counts,
    };
    await writer.commit(result);
    committed = true;
    return result;
  } catch (err) {
    const down = isDb ? unavailableReason(err) : undefined;
    if (down !== undefined) throw sourceUnavailable(opened.name, down);
    throw refusal(err);
  } finally {
    cipher?.cipher.dispose();
    env.dataKey?.key.fill(0);
    if (!committed) await writer.abort();
  }
}

export interface MatchJob {
  definition: unknown;
  reconId: string;
  /** Spill directories of the two sides and the buckets of the partition. */
  dirs: Record<Side, string>;
  buckets: number[];
  /** When the run's spill files are encrypted: its dataset key and run id (the chunks' context). */
  sealed?: { dataKey: ThreadDataKey; runId: string };
}

/** Matches, exceptions and summary of one partition (the records stay in the thread that read them). */
export type MatchOutcome = Pick<ReconResult, 'matches' | 'exceptions' | 'summary'>;

/** Reads a partition's buckets of both sides and runs the engine; throws refusals like extractSide. */
export async function matchPartition(job: MatchJob): Promise<MatchOutcome> {
  const def = definitionOf(job.definition, job.reconId);
  const ca = spillCipher(job.sealed?.dataKey, job.sealed?.runId ?? '', 'a');
  const cb = spillCipher(job.sealed?.dataKey, job.sealed?.runId ?? '', 'b');
  try {
    const a = await readBuckets(job.dirs.a, 'a', job.buckets, ca);
    const b = await readBuckets(job.dirs.b, 'b', job.buckets, cb);
    const { matches, exceptions, summary } = reconcile(a, b, def);
    return { matches, exceptions, summary };
  } catch (err) {
    throw refusal(err);
  } finally {
    ca?.cipher.dispose();
    cb?.cipher.dispose();
    job.sealed?.dataKey.key.fill(0);
  }
}

/** Where a partition's results go: the run and partition they belong to, written in batches of `batchSize`. */
export interface PartitionWrite {
  runId: string;
  partition: number;
  batchSize: number;
}

/**
 * Writes a partition's exceptions, then its matches, to the result store in batches (each batch one transaction,
 * keyed by run and item, so a retry rewrites the same rows).
 */
export async function writePartition(
  store: ResultStore,
  out: MatchOutcome,
  w: PartitionWrite,
  progress: (details: unknown) => void,
): Promise<void> {
  const { runId, partition: p, batchSize: batch } = w;
  for (let i = 0; i < out.exceptions.length; i += batch) {
    await store.writeExceptions(
      runId,
      out.exceptions.slice(i, i + batch).map((x) => exceptionFromRecon(x, p)),
    );
    progress({ stage: 'store', exceptions: i });
  }
  for (let i = 0; i < out.matches.length; i += batch) {
    await store.writeMatches(
      runId,
      out.matches.slice(i, i + batch).map((m) => matchFromRecon(m, p)),
    );
    progress({ stage: 'store', matches: i });
  }
}

/** The summary of a partition matched and written where it was read (a worker thread): nothing else comes back. */
export interface WrittenPartition {
  summary: ReconSummary;
  matches: number;
  exceptions: number;
}

/** Matches a partition and writes its results to `store` in the same thread. */
export async function matchAndWritePartition(
  job: MatchJob,
  store: ResultStore,
  w: PartitionWrite,
  progress: (details: unknown) => void,
): Promise<WrittenPartition> {
  const out = await matchPartition(job);
  await writePartition(store, out, w, progress);
  return { summary: out.summary, matches: out.matches.length, exceptions: out.exceptions.length };
}
