// While a reconciliation waits for a source that is down, it says so twice: to whoever asks the reconciliation
// (`reconSourceWaits` query) and to its close (`reconSourceWait` signal to the parent), whose task then shows the
// source, the error and the next attempt in its reason. Stable names: running closes and the CLI depend on them.
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { ExtractedSide } from '../activities/recon';
import { nextSourceAttemptMs, retryWindowMs, sourceGaveUpMessage, type SourceWait } from '../domain/source-wait';

/** A reconciliation's sources being waited for (empty when none): one per side at most. */
export const reconSourceWaitsQuery = defineQuery<SourceWait[]>('reconSourceWaits');

/** A reconciliation (by its workflow id) waits for sources (`waits`), or waits no more (`waits` empty). */
export interface SourceWaitNotice {
  workflowId: string;
  waits: SourceWait[];
}

export const reconSourceWaitSignal = defineSignal<[SourceWaitNotice]>('reconSourceWait');

/** The source, error and window of an extraction that failed because its source could not be reached. */
function outageOf(err: unknown): { source: string; error: string; windowMs: number } | undefined {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return undefined;
  if (err.cause.type !== 'SourceUnavailable') return undefined;
  const d = (err.cause.details?.[0] ?? {}) as { source?: unknown; error?: unknown; windowMs?: unknown };
  return {
    source: typeof d.source === 'string' ? d.source : 'source',
    error: typeof d.error === 'string' ? d.error : err.cause.message,
    windowMs: retryWindowMs(d.windowMs),
  };
}

export type Extract = (side: 'a' | 'b') => Promise<ExtractedSide>;

/**
 * Extraction that waits for a source that is down: attempts with backoff until the window from the first failure
 * is spent (domain/source-wait.ts), each wait shown by the reconciliationSourceWaits query and told to the close.
 */
export function waitingExtraction(extract: Extract, label: (side: 'a' | 'b') => string): Extract {
  const waits = new Map<'a' | 'b', SourceWait>();
  setHandler(reconSourceWaitsQuery, () => [...waits.values()]);
  const info = workflowInfo();
  const tell = async () => {
    if (!info.parent) return;
    try {
      await getExternalWorkflowHandle(info.parent.workflowId).signal(reconSourceWaitSignal, {
        workflowId: info.workflowId,
        waits: [...waits.values()],
      });
    } catch (err) {
      // A close that has ended (or was never a close) has nobody to show it to; the wait goes on regardless.
      if (isCancellation(err)) throw err;
    }
  };
  return async (side) => {
    let first: number | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await extract(side);
        if (waits.delete(side)) await tell();
        return out;
      } catch (err) {
        const down = outageOf(err);
        if (!down) {
          if (waits.delete(side)) await tell();
          throw err;
        }
        const now = new Date().getTime(); // the workflow clock
        first ??= now;
        const waitMs = nextSourceAttemptMs(attempt, first, now, down.windowMs);
        const since = new Date(first).toISOString();
        if (waitMs === undefined)
          throw ApplicationFailure.create({
            message: `${label(side)}: ${sourceGaveUpMessage({ side, ...down, attempts: attempt, since })}`,
            type: 'SourceUnavailable',
            nonRetryable: true,
            cause: err as Error,
          });
        waits.set(side, {
          side,
          ...down,
          attempts: attempt,
          since,
          nextAttemptAt: new Date(now + waitMs).toISOString(),
        });
        await tell();
        await sleep(waitMs);
      }
    }
  };
}
