// The reconciliation engine's activities: extract a side (stream a source, normalise, spill into hash buckets),
// reconcile one partition (engine + result store), write the reports, and validate the source systems of a close.
// Workflow history carries only what these return: counts, control totals, ids, file paths and hashes.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ReconReportRef } from '../../contracts';
import type { ReconSummary, Side } from '../../domain/recon';
import { createResultStore, type ResultStore, type RunSealer } from '../result-store';
import { ColumnSealer } from '../security/column-seal';
import {
  DataKeyMissingError,
  toActivityFailure,
  type DatasetCipher,
  type EnvelopeEncryption,
  type ThreadDataKey,
} from '../security/envelope';
import {
  extractOnDuckDb,
  matchesDirOf,
  matchesFileOf,
  reconcileOnDuckDb,
  recordEngine,
  requestedEngine,
  runEngine,
  withEngine,
} from './duckdb/activity';
import { isParquetSide } from './duckdb/plane';
import {
  checkPartitions,
  definitionOf,
  matchAndWritePartition,
  refusal,
  writePartition,
  sourceDepsOf,
  type SourceDeps,
  type ExtractReconSideInput,
  type ExtractedSide,
} from './extract';
import { runExtraction, runMatch, runMatchAndWrite } from './extract-runner';
import { removeRunDir, sideDir, sideInfo } from './spill';
import { type WriteReconReportsInput, type WrittenReport, writeRunReports } from './write-reports';
import { type RewriteReconReportsInput, rewriteRunReports } from './rewrite-reports';
import { createSuggestionStore } from '../result-store/suggestions';
import { validateSubsystemsWith, type ValidateSubsystemsInput, type ValidateSubsystemsResult } from './validate';

export type { ValidateSubsystemsInput, ValidateSubsystemsResult } from './validate';
export type { ExtractReconSideInput, ExtractedSide } from './extract';
export { folderName, type WriteReconReportsInput, type WrittenReport } from './write-reports';

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
  /**
   * Encrypts spill files (the extracts) and the result store's sensitive columns (keys, evidence, explanations)
   * at rest with the dataset key of each reconciliation (dataset = its workflow id), so shredding that dataset
   * makes them unreadable. The worker sets it when it has keys.
   */
  envelope?: EnvelopeEncryption | (() => Promise<EnvelopeEncryption>);
  /** Rows per matches/exceptions write. */
  storeBatchSize?: number;
  /**
   * Extract each side and match each partition in pooled worker threads (default true), so one worker process
   * uses several cores (two sides at once; one partition matched while another's results are written). false: in
   * the activity's own thread.
   */
  extractInThread?: boolean;
}

export interface ReconActivityDeps extends SourceDeps {
  recon?: ReconActivityConfig;
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

function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Not inside an activity (a direct call in a test or script): nobody to tell.
  }
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

/**
 * The result store's sealer on the worker's keys: a run's sensitive columns are sealed with the data key of its
 * reconciliation (the workflow id, as its extracts). A run whose dataset never had a key is kept in clear (it was
 * extracted by a worker without keys); a shredded one can no longer be read or written (non-retryable).
 */
export function envelopeSealer(envelope: EnvelopeEncryption | (() => Promise<EnvelopeEncryption>)): RunSealer {
  return async (runId) => {
    try {
      const env = typeof envelope === 'function' ? await envelope() : envelope;
      const cipher = await env.open(splitRunId(runId).workflowId, { create: false });
      try {
        return ColumnSealer.of(cipher);
      } finally {
        cipher.dispose();
      }
    } catch (err) {
      if (err instanceof DataKeyMissingError) return undefined;
      throw toActivityFailure(err);
    }
  };
}

/** The result store on the `results` system (DATABASE_URL unless configured), sealing with the worker's keys. */
export function defaultResultStore(deps: ReconActivityDeps): ResultStore {
  const envelope = deps.recon?.envelope;
  return createResultStore({
    pool: deps.systems.postgres('results'),
    ...(envelope ? { sealerFor: envelopeSealer(envelope) } : {}),
  });
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
      const s = cfg.resultStore ?? defaultResultStore(deps);
      await s.migrate();
      return s;
    })();
    store.catch(() => {
      store = undefined;
    });
    return store;
  };

  /**
   * Where partition threads write results themselves: the `results` system's URL, when the store is the default
   * one on it (an injected store, or one the thread could not open alike, is written from this thread).
   */
  const threadStoreUrl = (): string | undefined => {
    if (cfg.resultStore !== undefined || cfg.extractInThread === false || !deps.systems.connection) return undefined;
    try {
      const c = deps.systems.connection('results');
      return c.engine === 'postgres' ? c.url : undefined;
    } catch {
      return undefined;
    }
  };

  /** The run's dataset cipher (its reconciliation's data key, made on extraction), or undefined without keys. */
  const runCipher = async (runId: string, create: boolean): Promise<DatasetCipher | undefined> => {
    if (!cfg.envelope) return undefined;
    const envelope = typeof cfg.envelope === 'function' ? await cfg.envelope() : cfg.envelope;
    return envelope.open(splitRunId(runId).workflowId, { create });
  };

  /** The run's dataset key for a thread (create: on extraction), or undefined when spill files are in clear. */
  const dataKeyOf = async (runId: string, create: boolean): Promise<ThreadDataKey | undefined> => {
    try {
      const cipher = await runCipher(runId, create);
      if (!cipher) return undefined;
      try {
        return { dataset: cipher.dataset, key: cipher.keyForThread() };
      } finally {
        cipher.dispose();
      }
    } catch (err) {
      throw toActivityFailure(err);
    }
  };

  /** The run's dataset cipher for sealing its reports, or undefined without keys or when the run has no data key. */
  const reportCipherOf = async (runId: string): Promise<DatasetCipher | undefined> => {
    try {
      return await runCipher(runId, false);
    } catch (err) {
      if (err instanceof DataKeyMissingError) return undefined;
      throw toActivityFailure(err);
    }
  };

  return {
    /**
     * Streams one side's source through its connector, normalises each record and appends it to its hash bucket's
     * spill file. Retries (a dropped connection, a lost worker) redo the side whole and replace the earlier files;
     * bad data is refused without retry. Returns the side's control totals only.
     */
    async extractReconSide(input: ExtractReconSideInput): Promise<ExtractedSide> {
      // The DuckDB plane when the definition or FINFLOW_RECON_ENGINE asks for it and the side can take it
      // (duckdb/activity.ts); otherwise, or when it cannot, today's extraction, the reason logged and recorded.
      const asked = requestedEngine(input.definition);
      if (asked.engine === 'duckdb') {
        const def = definitionOf(input.definition, input.reconId);
        checkPartitions(input.partitions, 'partitions');
        let cipher: DatasetCipher | undefined;
        try {
          cipher = await runCipher(input.runId, true);
          const dir = sideDir(workDir, input.runId, input.side);
          const log = (line: string) => console.warn(line);
          const out = await extractOnDuckDb(input, def, { workDir, filesDir, dir, cipher, heartbeat, log }, asked);
          if (out) return out;
        } catch (err) {
          // A shredded or never-keyed dataset stays so: non-retryable, as today's path's dataKeyOf makes it.
          throw refusal(toActivityFailure(err));
        } finally {
          cipher?.dispose();
        }
      }
      const dataKey = await dataKeyOf(input.runId, true);
      try {
        const out = await runExtraction(
          input,
          { ...sourceDepsOf(deps), filesDir, workDir, threads: cfg.extractInThread, dataKey },
          heartbeat,
        );
        if (asked.engine === 'typescript') await recordEngine(workDir, input.runId, input.side, asked);
        return out;
      } finally {
        dataKey?.key.fill(0);
      }
    },

    /**
     * Reconciles one partition from the spill files of both sides and writes its matches and exceptions to the
     * result store. Writes are keyed by (run, item), so a retry leaves the same rows; the summary it returns is
     * computed again from the same files, so it is the same too.
     */
    async reconcilePartition(input: ReconcilePartitionInput): Promise<ReconSummary> {
      // Validated here too, so a bad definition is refused before any file is read.
      definitionOf(input.definition, input.reconId);
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
      const infos: Partial<Record<Side, unknown>> = {};
      for (const side of ['a', 'b'] as const) {
        const info = (await sideInfo(sides[side])) as { bucketCounts?: number[] } | undefined;
        infos[side] = info;
        // Retryable: with several workers on one queue but separate disks, another attempt may land on the worker
        // that holds the files (give such workers a shared FINFLOW_WORK_DIR to make this moot).
        if (!info)
          throw ApplicationFailure.retryable(
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
      heartbeat({ stage: 'match' });
      const write = { runId: input.runId, partition: input.partition, batchSize: cfg.storeBatchSize ?? 50_000 };
      if (isParquetSide(infos.a) || isParquetSide(infos.b)) {
        // A side extracted by DuckDB: the partition is reconciled there (duckdb/activity.ts).
        const def = definitionOf(input.definition, input.reconId);
        const cipher = await reportCipherOf(input.runId);
        try {
          const matchesFile = matchesFileOf(reportsDir, input.runId, input.partition, partitions, cipher !== undefined);
          const job = { runId: input.runId, partition: input.partition, dirs: sides, infos, buckets, matchesFile, cipher };
          const out = await reconcileOnDuckDb(def, job, heartbeat);
          await writePartition(st, { matches: [], exceptions: out.exceptions, summary: out.summary }, write, heartbeat);
          return out.summary;
        } catch (err) {
          throw refusal(err);
        } finally {
          cipher?.dispose();
        }
      }
      const dataKey = await dataKeyOf(input.runId, false);
      const job = {
        definition: input.definition,
        reconId: input.reconId,
        dirs: sides,
        buckets,
        ...(dataKey ? { sealed: { dataKey, runId: input.runId } } : {}),
      };
      try {
        const url = threadStoreUrl();
        if (url !== undefined)
          return (
            await runMatchAndWrite(job, write, url, heartbeat, () => matchAndWritePartition(job, st, write, heartbeat))
          ).summary;
        const result = await runMatch(job, cfg.extractInThread, heartbeat);
        heartbeat({ stage: 'store', matches: result.matches.length, exceptions: result.exceptions.length });
        await writePartition(st, result, write, heartbeat);
        return result.summary;
      } finally {
        dataKey?.key.fill(0);
      }
    },

    /**
     * Records the run's outcome and writes the exceptions and summary reports (xlsx, csv, json) from the result
     * store (write-reports.ts).
     */
    async writeReconReports(input: WriteReconReportsInput): Promise<WrittenReport[]> {
      const store = await resultStore();
      // Per-rule counts read the suggestion decisions beside the default store (an injected store has no pool).
      const ruleCounts =
        cfg.resultStore === undefined
          ? (runId: string) =>
              createSuggestionStore({ pool: deps.systems.postgres('results'), results: store }).ruleCounts(runId)
          : undefined;
      // The engine the run's sides used and why, recorded with its summary (from the work directory; a retry after
      // the clean-up keeps what the first attempt recorded).
      const prior = (await store.getRun(input.runId))?.summary as { engine?: string; engineReason?: string } | null;
      const engine =
        (await runEngine(workDir, input.runId)) ??
        (prior?.engine === 'duckdb' || prior?.engine === 'typescript'
          ? { engine: prior.engine, reason: prior.engineReason ?? '' }
          : undefined);
      const summary = withEngine(input.summary, engine, matchesDirOf(reportsDir, input.runId));
      return writeRunReports(
        { store, reportsDir, workDir, reportCipherOf, heartbeat, filesDir, ...(ruleCounts ? { ruleCounts } : {}) },
        { ...input, ...(summary !== undefined ? { summary } : {}) },
      );
    },

    /**
     * Rewrites a run's exceptions and summary reports as its exceptions stand now (rewrite-reports.ts): the close's
     * documentation step asks before it builds the evidence package. Retried like writeReconReports (atomic files).
     */
    async rewriteReconReports(input: RewriteReconReportsInput): Promise<ReconReportRef[]> {
      const store = await resultStore();
      const ruleCounts =
        cfg.resultStore === undefined
          ? (runId: string) =>
              createSuggestionStore({ pool: deps.systems.postgres('results'), results: store }).ruleCounts(runId)
          : undefined;
      return rewriteRunReports({ store, reportCipherOf, heartbeat, ...(ruleCounts ? { ruleCounts } : {}) }, input);
    },

    /**
     * After a failed run: records it as failed in the result store (when a partition had started it) and removes
     * its spill files. Idempotent; the reason is the workflow's failure message (no records).
     */
    async abandonReconRun(input: { runId: string; reason: string }): Promise<{ recorded: boolean }> {
      const st = await resultStore();
      const run = await st.getRun(input.runId);
      if (run) await st.finishRun(input.runId, { status: 'failed', summary: { reason: input.reason } });
      await removeRunDir(workDir, input.runId);
      return { recorded: run !== undefined };
    },

    /** Asks each configured system for its row counts (see validate.ts). */
    async validateSubsystems(input: ValidateSubsystemsInput): Promise<ValidateSubsystemsResult> {
      return validateSubsystemsWith(deps.systems, input);
    },
  };
}
