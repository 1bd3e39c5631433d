// Runs an extraction in a worker thread when it can, so the two sides of a reconciliation (two activities in one
// worker process) use two cores; otherwise in the activity's own thread. The thread gets only the one connection
// its side reads; results and refusals come back as plain messages.
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ApplicationFailure } from '@temporalio/common';
import {
  extractSide,
  matchPartition,
  type ExtractEnv,
  type ExtractReconSideInput,
  type ExtractedSide,
  type MatchJob,
  type MatchOutcome,
  type PartitionWrite,
  type WrittenPartition,
} from './extract';
import type { ExtractJob, ExtractMessage, SerialisedError, ThreadJob } from './extract-thread';
import { SOURCE_UNAVAILABLE, retryWindowOf, withRetryWindow } from './source-outage';
import { isBuiltinSource, parseReconSource } from './sources';

function job(input: ExtractReconSideInput, env: ExtractEnv): ExtractJob | undefined {
  const systems: ExtractJob['systems'] = {};
  let source: unknown = input.source;
  if (source === undefined) {
    const def = input.definition as { [side: string]: { source?: unknown } } | null;
    source = def?.[input.side]?.source;
  }
  // Anything the thread cannot be handed (an odd source, a registry without connections) runs inline, where the
  // usual validation reports it.
  let parsed;
  try {
    parsed = parseReconSource(source, input.side);
  } catch {
    return undefined;
  }
  // A plug-in connector lives in this thread only (the worker was handed it): its sources are read here.
  if (!isBuiltinSource(parsed)) return undefined;
  if ('system' in parsed && parsed.system !== undefined) {
    if (!env.systems.connection) return undefined;
    try {
      systems[parsed.system] = env.systems.connection(parsed.system);
    } catch {
      return undefined;
    }
  }
  return { kind: 'extract', input, filesDir: env.filesDir, workDir: env.workDir, systems, dataKey: env.dataKey };
}

function rebuild(e: SerialisedError): Error {
  if (e.type !== undefined)
    return ApplicationFailure.create({
      message: e.message,
      type: e.type ?? undefined,
      nonRetryable: e.nonRetryable,
      details: e.details,
    });
  const err = new Error(e.message);
  if (e.name) err.name = e.name;
  return err;
}

/**
 * Threads are started once and kept (unreferenced, so they never hold a process open): starting one costs about
 * a second when it compiles the TypeScript sources, too much to pay per extraction.
 */
const idle: Worker[] = [];
const MAX_IDLE = 4;
const THREAD_HEAP_MB = Number(process.env.FINFLOW_RECON_THREAD_HEAP_MB ?? 768);
// Extraction and matching allocate short-lived strings and records at a high rate: a young generation larger than
// V8's default (16 MB semi-spaces) lets most of them die without being copied, about 15% less time per record.
const THREAD_YOUNG_MB = Number(process.env.FINFLOW_RECON_THREAD_YOUNG_MB ?? 192);
let nextJobId = 0;

function startThread(): Worker {
  const ext = extname(__filename);
  // Running from TypeScript sources (tests, `npm run worker`): the thread compiles them the same way.
  const worker = new Worker(join(__dirname, `extract-thread${ext}`), {
    execArgv: ext === '.ts' ? ['-r', '@swc-node/register'] : [],
    // V8 grows an unbounded heap lazily under a high allocation rate (hundreds of MB of garbage per thread); a
    // limit makes it collect instead. A partition of ~100k records per side needs well under half of it.
    resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB, maxYoungGenerationSizeMb: THREAD_YOUNG_MB },
  });
  worker.unref();
  return worker;
}

/** How often the activity's thread beats for a job on a pooled thread: well inside the 30 s heartbeat timeout. */
function threadHeartbeatMs(): number {
  const ms = Number(process.env.FINFLOW_RECON_HEARTBEAT_MS ?? 5_000);
  return Number.isFinite(ms) && ms > 0 ? ms : 5_000;
}

/** Runs a job on a pooled thread; `inline` runs it here instead if the thread cannot start. */
function onThread<T>(j: ThreadJob, heartbeat: (details: unknown) => void, inline: () => Promise<T>): Promise<T> {
  const worker = idle.pop() ?? startThread();
  const id = ++nextJobId;
  return new Promise<T>((resolve, reject) => {
    let heard = false;
    let settled = false;
    // The thread reports progress per batch, but one batch of matching can take longer than the activity's
    // heartbeat timeout; this thread is free meanwhile, so it beats for the job while the job runs. A worker that
    // dies stops beating, and the server retries the activity elsewhere once the (short) heartbeat timeout passes.
    let progress: unknown;
    const beat = setInterval(() => heartbeat(progress), threadHeartbeatMs());
    const done = (keep: boolean, f: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(beat);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (keep && idle.length < MAX_IDLE) idle.push(worker);
      else if (keep) void worker.terminate();
      f();
    };
    const onMessage = (m: ExtractMessage & { id: number }) => {
      if (m.id !== id) return;
      heard = true;
      if ('progress' in m) {
        progress = m.progress;
        heartbeat(m.progress);
      } else if ('result' in m) done(true, () => resolve(m.result as T));
      else done(true, () => reject(rebuild(m.error)));
    };
    const onError = (err: Error) => {
      // A thread that could not even start (no compiler for the sources, a missing file): run inline.
      if (!heard)
        done(false, () => {
          inline().then(resolve, reject);
        });
      else done(false, () => reject(err));
    };
    const onExit = (code: number) => done(false, () => reject(new Error(`worker thread stopped (exit code ${code})`)));
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ id, job: j });
  });
}

export async function runExtraction(
  input: ExtractReconSideInput,
  env: ExtractEnv & { threads?: boolean },
  heartbeat: (details: unknown) => void,
): Promise<ExtractedSide> {
  const j = env.threads === false ? undefined : job(input, env);
  try {
    if (!j) return await extractSide(input, env, heartbeat);
    return await onThread<ExtractedSide>(j, heartbeat, () => extractSide(input, env, heartbeat));
  } catch (err) {
    // The window is the worker's to say (the source's, its system's or the environment's): the workflow waits it out.
    if (err instanceof ApplicationFailure && err.type === SOURCE_UNAVAILABLE)
      throw withRetryWindow(err, retryWindowOf(sourceOf(input), env.systems.retryWindow?.bind(env.systems)));
    throw err;
  }
}

/** The side's source as written (the definition's unless the input names one). */
function sourceOf(input: ExtractReconSideInput): { retry_window?: string; system?: string } | undefined {
  let source: unknown = input.source;
  if (source === undefined)
    source = (input.definition as { [side: string]: { source?: unknown } } | null)?.[input.side]?.source;
  return source !== null && typeof source === 'object'
    ? (source as { retry_window?: string; system?: string })
    : undefined;
}

/** Reads and matches a partition on a pooled thread (the activity's thread stays free to write results). */
export async function runMatch(
  j: MatchJob,
  threads: boolean | undefined,
  heartbeat: (details: unknown) => void = () => undefined,
): Promise<MatchOutcome> {
  if (threads === false) return matchPartition(j);
  // The activity's thread beats while the pooled thread matches: a long match must not look like a dead worker.
  return onThread<MatchOutcome>({ kind: 'match', ...j }, heartbeat, () => matchPartition(j));
}

/**
 * Matches a partition and writes its results to the result store at `storeUrl` from a pooled thread, so the
 * matches never cross to the activity's thread (copying 100k match objects between threads costs as much as
 * matching them). `inline` does the same here if the thread cannot start.
 */
export async function runMatchAndWrite(
  j: MatchJob,
  write: PartitionWrite,
  storeUrl: string,
  heartbeat: (details: unknown) => void,
  inline: () => Promise<WrittenPartition>,
): Promise<WrittenPartition> {
  return onThread<WrittenPartition>({ kind: 'match-write', job: j, write, storeUrl }, heartbeat, inline);
}
