// Worker-thread entry (see extract-runner.ts): extractions (one side, its own connection) and partition matching,
// one job at a time, on a core of its own.
import { parentPort } from 'node:worker_threads';
import { ApplicationFailure } from '@temporalio/common';
import { systemsFromEnv } from '../systems';
import { extractSide, matchPartition, type ExtractReconSideInput, type MatchJob, type MatchOutcome } from './extract';

export interface ExtractJob {
  kind: 'extract';
  input: ExtractReconSideInput;
  filesDir?: string;
  workDir: string;
  /** Only the system the side reads, if any: FINFLOW_SYSTEMS form. */
  systems: Record<string, { engine: 'postgres' | 'mysql'; url: string }>;
}

export interface SerialisedError {
  message: string;
  name?: string;
  /** Set for ApplicationFailure: rebuilt as one on the activity's side. */
  type?: string | null;
  nonRetryable?: boolean;
  details?: unknown[];
}

export type ThreadJob = ExtractJob | (MatchJob & { kind: 'match' });

export type ExtractMessage =
  | { progress: { records: number } }
  | { result: Awaited<ReturnType<typeof extractSide>> | MatchOutcome }
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

async function run(id: number, job: ThreadJob): Promise<void> {
  const port = parentPort!;
  const post = (m: ExtractMessage) => port.postMessage({ id, ...m });
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
    const result = await extractSide(job.input, { systems, filesDir: job.filesDir, workDir: job.workDir }, (p) =>
      post({ progress: p }),
    );
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
