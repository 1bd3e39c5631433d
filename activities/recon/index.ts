// The reconciliation engine's activities: extract a side (stream a source, normalise, spill into hash buckets),
// reconcile one partition (engine + result store), write the reports, and validate the source systems of a close.
// Workflow history carries only what these return: counts, control totals, ids, file paths and hashes.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
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
  type ReconSummary,
  type ReconciliationDefinition,
  type Side,
} from '../../domain/recon';
import { MinorSum, formatMinor } from '../../domain/recon/minor';
import { toSourceFailure } from '../connectors/source-error';
import { type ReportFile, type ReportInput, writeExceptionsReport, writeSummaryReport } from '../reports';
import { createResultStore, exceptionFromRecon, matchFromRecon, type ResultStore } from '../result-store';
import type { SystemRegistry } from '../systems';
import { openSource, parseReconSource } from './sources';
import { SpillWriter, readBuckets, removeRunDir, sideDir, sideInfo } from './spill';
import { validateSubsystemsWith, type ValidateSubsystemsInput, type ValidateSubsystemsResult } from './validate';

export type { ValidateSubsystemsInput, ValidateSubsystemsResult } from './validate';

export interface ReconActivityConfig {
  /** Spill files of running reconciliations (default FINFLOW_WORK_DIR or <tmp>/finflow-recon). Workers that share a
   * reconciliation must share this directory. */
  workDir?: string;
  /** Report files (default FINFLOW_REPORTS_DIR or ./reports). */
  reportsDir?: string;
  /** Relative file paths of sources resolve against it (default FINFLOW_FILES_DIR or the working directory). */
  filesDir?: string;
  /** The result store; default one on the registry's `results` system (DATABASE_URL unless configured). */
  resultStore?: ResultStore;
  /** Rows per matches/exceptions write. */
  storeBatchSize?: number;
}

export interface ReconActivityDeps {
  systems: SystemRegistry;
  recon?: ReconActivityConfig;
}

/** Control totals of one side as extracted: per currency, exact decimal strings. */
export interface ExtractedSide {
  side: Side;
  source: string;
  records: number;
  amounts: { currency: string; amount: string }[];
  /** Records per spill bucket (hash of the key mod `partitions`). */
  bucketCounts: number[];
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
}

export interface ReconcilePartitionInput {
  runId: string;
  reconId: string;
  /** 0 .. partitions-1. */
  partition: number;
  /** Partitions of this run (default: spillPartitions). Reads the buckets b with b mod partitions = partition. */
  partitions?: number;
  /** Buckets the sides were spilled into; a multiple of `partitions`. */
  spillPartitions: number;
  definition: unknown;
}

export interface WriteReconReportsInput {
  runId: string;
  reconId: string;
  company: string;
  period: string;
  /** Business date in the file names, yyyy-mm-dd. */
  asOfDate: string;
  /** The merged summary, recorded with the run (the summary report shows it). */
  summary?: unknown;
  status?: 'balanced' | 'exceptions';
  /** Remove the run's spill files once the reports are written (default true). */
  cleanUp?: boolean;
}

export interface WrittenReport {
  kind: 'exceptions' | 'summary';
  format: 'xlsx' | 'csv' | 'json';
  path: string;
  sha256: string;
  rows: number;
}

function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Not inside an activity (a direct call in a test or script): nobody to tell.
  }
}

function definitionOf(input: unknown, reconId: string): ReconciliationDefinition {
  try {
    return parseDefinition(input);
  } catch (err) {
    if (err instanceof DefinitionError)
      throw ApplicationFailure.nonRetryable(`reconciliation ${reconId}: ${err.message}`, 'InvalidDefinition');
    throw err;
  }
}

/** Bad data is a business refusal: the same bytes fail the same way on retry. */
function refusal(err: unknown): unknown {
  if (err instanceof NormalisationError)
    return ApplicationFailure.nonRetryable(err.message, 'SourceDataError', {
      source: err.source,
      line: err.line,
      field: err.field,
      reason: err.problem,
    });
  if (err instanceof PartitionInputError || err instanceof ControlTotalsError)
    return ApplicationFailure.nonRetryable(err.message, err.name);
  return toSourceFailure(err);
}

/** Fields the matching step reads from records besides key, amount, currency and date (subset-sum groups). */
function fieldsNeeded(def: ReconciliationDefinition): string[] {
  const out = new Set<string>();
  for (const r of def.rules) if (r.type === 'subset_sum' && r.group_by !== 'key') out.add(r.group_by.field);
  return [...out];
}

function checkPartitions(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1 || n > 65_536)
    throw ApplicationFailure.nonRetryable(`${what} must be an integer from 1 to 65536, got ${n}`, 'InvalidInput');
}

function definitionHash(definition: unknown): string {
  return createHash('sha256').update(JSON.stringify(definition)).digest('hex');
}

/** `<workflowId>/<workflowRunId>` (result-store runIdOf), split at the last slash. */
function splitRunId(runId: string): { workflowId: string; workflowRunId: string } {
  const i = runId.lastIndexOf('/');
  if (i <= 0 || i === runId.length - 1)
    throw ApplicationFailure.nonRetryable(
      `run id ${JSON.stringify(runId)} is not <workflowId>/<runId>`,
      'InvalidInput',
    );
  return { workflowId: runId.slice(0, i), workflowRunId: runId.slice(i + 1) };
}

export function createReconActivities(deps: ReconActivityDeps) {
  const cfg = deps.recon ?? {};
  const workDir = resolve(cfg.workDir ?? process.env.FINFLOW_WORK_DIR ?? join(tmpdir(), 'finflow-recon'));
  const reportsDir = resolve(cfg.reportsDir ?? process.env.FINFLOW_REPORTS_DIR ?? 'reports');
  const filesDir = cfg.filesDir ?? process.env.FINFLOW_FILES_DIR;
  // Created on first use: a worker that never reconciles needs no result-store database.
  let store: Promise<ResultStore> | undefined;
  const resultStore = (): Promise<ResultStore> => {
    store ??= (async () => {
      const s = cfg.resultStore ?? createResultStore({ pool: deps.systems.postgres('results') });
      await s.migrate();
      return s;
    })();
    store.catch(() => {
      store = undefined;
    });
    return store;
  };

  return {
    /**
     * Streams one side's source through its connector, normalises each record and appends it to its hash bucket's
     * spill file. Retries (a dropped connection, a lost worker) redo the side whole and replace the earlier files;
     * bad data is refused without retry. Returns the side's control totals only.
     */
    async extractReconSide(input: ExtractReconSideInput): Promise<ExtractedSide> {
      const def = definitionOf(input.definition, input.reconId);
      checkPartitions(input.partitions, 'partitions');
      const source = parseReconSource(input.source ?? def[input.side].source, input.side);
      const opened = openSource(source, {
        systems: deps.systems,
        filesDir,
        asOf: input.asOf,
        period: input.period,
      });
      const normalise = createNormaliser(def, input.side, { source: opened.name });
      const writer = await SpillWriter.open(
        sideDir(workDir, input.runId, input.side),
        input.partitions,
        fieldsNeeded(def),
      );
      const counts = new Array<number>(input.partitions).fill(0);
      const sums = new Map<string, MinorSum>();
      let records = 0;
      let committed = false;
      try {
        for await (const batch of opened.batches) {
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
          heartbeat({ records });
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
        throw refusal(err);
      } finally {
        if (!committed) await writer.abort();
      }
    },

    /**
     * Reconciles one partition from the spill files of both sides and writes its matches and exceptions to the
     * result store. Writes are keyed by (run, item), so a retry leaves the same rows; the summary it returns is
     * computed again from the same files, so it is the same too.
     */
    async reconcilePartition(input: ReconcilePartitionInput): Promise<ReconSummary> {
      const def = definitionOf(input.definition, input.reconId);
      const partitions = input.partitions ?? input.spillPartitions;
      checkPartitions(partitions, 'partitions');
      checkPartitions(input.spillPartitions, 'spillPartitions');
      if (input.spillPartitions % partitions !== 0)
        throw ApplicationFailure.nonRetryable(
          `spillPartitions ${input.spillPartitions} is not a multiple of partitions ${partitions}`,
          'InvalidInput',
        );
      if (!Number.isInteger(input.partition) || input.partition < 0 || input.partition >= partitions)
        throw ApplicationFailure.nonRetryable(
          `partition ${input.partition} is not in 0..${partitions - 1}`,
          'InvalidInput',
        );
      const buckets: number[] = [];
      for (let b = input.partition; b < input.spillPartitions; b += partitions) buckets.push(b);
      const sides: Record<Side, string> = {
        a: sideDir(workDir, input.runId, 'a'),
        b: sideDir(workDir, input.runId, 'b'),
      };
      for (const side of ['a', 'b'] as const) {
        const info = (await sideInfo(sides[side])) as { bucketCounts?: number[] } | undefined;
        // Not retryable here: the files are on another worker's disk or were cleaned up; the workflow decides.
        if (!info)
          throw ApplicationFailure.nonRetryable(
            `side ${side} of run ${input.runId} has no spill files in ${workDir} (extracted on another worker, or cleaned up)`,
            'SpillMissing',
          );
        if (info.bucketCounts?.length !== input.spillPartitions)
          throw ApplicationFailure.nonRetryable(
            `side ${side} was spilled into ${info.bucketCounts?.length} buckets, not ${input.spillPartitions}`,
            'InvalidInput',
          );
      }
      const st = await resultStore();
      const { workflowId, workflowRunId } = splitRunId(input.runId);
      await st.startRun({
        workflowId,
        workflowRunId,
        reconId: input.reconId,
        definitionHash: definitionHash(input.definition),
      });
      heartbeat({ stage: 'read' });
      let result;
      try {
        const a = await readBuckets(sides.a, 'a', buckets);
        const b = await readBuckets(sides.b, 'b', buckets);
        heartbeat({ stage: 'match', a: a.length, b: b.length });
        result = reconcile(a, b, def);
      } catch (err) {
        throw refusal(err);
      }
      heartbeat({ stage: 'store', matches: result.matches.length, exceptions: result.exceptions.length });
      const p = input.partition;
      const batch = cfg.storeBatchSize ?? 50_000;
      for (let i = 0; i < result.exceptions.length; i += batch) {
        await st.writeExceptions(
          input.runId,
          result.exceptions.slice(i, i + batch).map((x) => exceptionFromRecon(x, p)),
        );
        heartbeat({ stage: 'store', exceptions: i });
      }
      for (let i = 0; i < result.matches.length; i += batch) {
        await st.writeMatches(
          input.runId,
          result.matches.slice(i, i + batch).map((m) => matchFromRecon(m, p)),
        );
        heartbeat({ stage: 'store', matches: i });
      }
      return result.summary;
    },

    /**
     * Records the run's outcome and writes the exceptions and summary reports (xlsx, csv, json) from the result
     * store. Each file is written atomically under its final name, so a retry rewrites it whole.
     */
    async writeReconReports(input: WriteReconReportsInput): Promise<WrittenReport[]> {
      const st = await resultStore();
      if (input.status !== undefined)
        await st.finishRun(input.runId, { status: input.status, summary: input.summary ?? null });
      const base: ReportInput = {
        store: st,
        runId: input.runId,
        reconId: input.reconId,
        date: input.asOfDate,
        dir: reportsDir,
      };
      const out: WrittenReport[] = [];
      for (const kind of ['exceptions', 'summary'] as const)
        for (const format of ['xlsx', 'csv', 'json'] as const) {
          const f: ReportFile =
            kind === 'exceptions' ? await writeExceptionsReport(format, base) : await writeSummaryReport(format, base);
          out.push({ kind, format, path: f.path, sha256: f.sha256, rows: f.rows });
          heartbeat({ kind, format });
        }
      if (input.cleanUp !== false) await removeRunDir(workDir, input.runId);
      return out;
    },

    /** Asks each configured system for its row counts (see validate.ts). */
    async validateSubsystems(input: ValidateSubsystemsInput): Promise<ValidateSubsystemsResult> {
      return validateSubsystemsWith(deps.systems, input);
    },
  };
}
