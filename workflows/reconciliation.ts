import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { ReconciliationInput, ReconciliationSummary } from './types';

const { reconcileTables } = proxyActivities<ReturnType<typeof createActivities>>({
  // A set-based comparison inside the database: minutes at most even for large tables. The retry policy
  // covers a dropped connection or a failover; a bad table or column is a non-retryable refusal.
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 5 },
});

/** One reconciliation of one close: a child workflow, so its history and retries stay its own. */
export async function reconciliationWorkflow(input: ReconciliationInput): Promise<ReconciliationSummary> {
  return reconcileTables({ reconId: input.reconId, a: input.a, b: input.b });
}
