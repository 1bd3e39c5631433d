// The documentation step's reports of the reconciliations as their exceptions stand (issue 15): a run writes its
// exceptions and summary reports with every exception open, and people explain, resolve and decide suggestions
// afterwards; before the evidence package is built, each reconciliation's reports are rewritten from the result
// store and the task's result names the new SHA-256s, which the package checks and lists. Closes documented
// before this replay unchanged (patched).
import { patched, proxyActivities } from '@temporalio/workflow';
import type { createReconActivities } from '../../activities/recon';
import type { ReconReportRef } from '../types';
import { bump, type CloseRun } from './state';

/** patched() id: the documentation step rewrites the reconciliations' reports first. */
export const FINAL_REPORTS_PATCH = 'documentation-final-reports';

function classifications(config: Record<string, unknown> | undefined): string[] | undefined {
  const def = config?.definition as { a?: { classification?: unknown }; b?: { classification?: unknown } } | undefined;
  const a = def?.a?.classification;
  const b = def?.b?.classification;
  return typeof a === 'string' && typeof b === 'string' ? [a, b] : undefined;
}

export async function rewriteFinalReports(r: CloseRun): Promise<void> {
  const recons = r.tasks.filter((t) => t.kind === 'reconciliation' && t.result?.runId && t.result.reports?.length);
  if (!recons.length || !patched(FINAL_REPORTS_PATCH)) return;
  // The activity lives where the reconciliation's ran (its reports directory and keys). As the run's own report
  // writing: read back from the store in batches, written atomically, so a retry rewrites them whole.
  const recon = proxyActivities<ReturnType<typeof createReconActivities>>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 5 },
    ...(r.options.reconciliationTaskQueue ? { taskQueue: r.options.reconciliationTaskQueue } : {}),
  });
  for (const t of recons) {
    const result = t.result as NonNullable<typeof t.result>;
    const c = classifications(r.specById.get(t.id)?.config);
    const reports: ReconReportRef[] = await recon.rewriteReconReports({
      runId: result.runId as string,
      reconId: result.reconId,
      reports: result.reports as ReconReportRef[],
      ...(c ? { classifications: c } : {}),
    });
    t.result = { ...result, reports };
    bump(r);
  }
}
