// Worker-thread entry (see extract-runner.ts): extractions (one side, its own connection) and partition matching,
// one job at a time, on a core of its own.
import { parentPort } from 'node:worker_threads';
import { ApplicationFailure } from '@temporalio/common';
import { resilientPool } from '../pg-pool';
import { createResultStore, type ResultStore } from '../result-store';
import { ColumnSealer } from '../security/column-seal';
import type { ThreadDataKey } from '../security/envelope';
import { systemsFromEnv } from '../systems';
import {
  extractSide,
  matchAndWritePartition,
  matchPartition,
  type ExtractReconSideInput,
  type MatchJob,
  type MatchOutcome,
  type PartitionWrite,
  type WrittenPartition,
} from './extract';

export interface ExtractJob {
  kind: 'extract';
  input: ExtractReconSideInput;
  filesDir?: string;
  workDir: string;
  /** Only the system the side reads, if any: FINFLOW_SYSTEMS form. */
  systems: Record<string, { engine: 'postgres' | 'mysql'; url: string }>;
  /** The run's dataset key when spill files are encrypted. */
  dataKey?: ThreadDataKey;
}

export interface SerialisedError {
  message: string;
  name?: string;
  /** Set for ApplicationFailure: rebuilt as one on the activity's side. */
  type?: string | null;
  nonRetryable?: boolean;
  details?: unknown[];
}

/** Match a partition and write its results from this thread: only the summary crosses back. */
export interface MatchWriteJob {
  kind: 'match-write';
  job: MatchJob;
  write: PartitionWrite;
  /** The result store's PostgreSQL URL (the `results` system); the thread keeps one connection to it. */
  storeUrl: string;
}

export type ThreadJob = ExtractJob | (MatchJob & { kind: 'match' }) | MatchWriteJob;

export type ExtractMessage =
  | { progress: unknown }
  | { result: Awaited<ReturnType<typeof extractSide>> | MatchOutcome | WrittenPartition }
  | { error: SerialisedError };

function serialise(err: unknown): SerialisedError {
  if (err instanceof ApplicationFailure)
    return {
      message: err.message,
      name: err.name,
      type: err.type,
      nonRetryable: err.nonRetryable === true,
      details: (err.details ?? []) as unknown[],
    };
  if (err instanceof Error) return { message: err.message, name: err.name };
  return { message: String(err) };
}

/**
 * The dataset keys of the runs whose partitions this thread is writing: the store seals their sensitive columns
 * with them, as the activity's own store would with the worker's keys.
 */
const runKeys = new Map<string, ThreadDataKey>();

/** One store (one connection, unreferenced) per result-store URL, kept for the thread's later jobs. */
const stores = new Map<string, ResultStore>();
function storeAt(url: string): ResultStore {
  let s = stores.get(url);
  if (s === undefined) {
    const pool = resilientPool({ connectionString: url, max: 1, allowExitOnIdle: true });
    s = createResultStore({
      pool,
      sealerFor: async (runId) => {
        const k = runKeys.get(runId);
        return k && new ColumnSealer(k.dataset, k.key);
      },
    });
    stores.set(url, s);
  }
  return s;
}

async function run(id: number, job: ThreadJob): Promise<void> {
  const port = parentPort!;
  const post = (m: ExtractMessage) => port.postMessage({ id, ...m });
  if (job.kind === 'match-write') {
    // A copy: matching wipes the job's key once the spill files are read, and the results are written after.
    const sealed = job.job.sealed;
    const key = sealed && { dataset: sealed.dataKey.dataset, key: new Uint8Array(sealed.dataKey.key) };
    if (key) runKeys.set(job.write.runId, key);
    try {
      post({
        result: await matchAndWritePartition(job.job, storeAt(job.storeUrl), job.write, (p) => post({ progress: p })),
      });
    } catch (err) {
      post({ error: serialise(err) });
    } finally {
      if (key) {
        runKeys.delete(job.write.runId);
        key.key.fill(0);
      }
    }
    return;
  }
  if (job.kind === 'match') {
    try {
      post({ result: await matchPartition(job) });
    } catch (err) {
      post({ error: serialise(err) });
    }
    return;
  }
  const systems = systemsFromEnv({ FINFLOW_SYSTEMS: JSON.stringify(job.systems) });
  try {
    const env = { systems, filesDir: job.filesDir, workDir: job.workDir, dataKey: job.dataKey };
    const result = await extractSide(job.input, env, (p) => post({ progress: p }));
    post({ result });
  } catch (err) {
    post({ error: serialise(err) });
  } finally {
    await systems.close();
  }
}

// A pooled thread takes one job at a time (the pool never sends a second before the first is answered).
parentPort?.on('message', (m: { id: number; job: ThreadJob }) => {
  void run(m.id, m.job);
});
