// What a close task's work came to (issue 19: moved out of workflows/month-end-close.ts, behaviour unchanged):
// finished cleanly or with exceptions, per kind, and the reasons a task's status shows while it is retried, once it
// has failed for good, or while a finish-to-finish predecessor holds it open. Pure: the close runs the work.

export type WorkOutcome = 'done' | 'done_with_exceptions';

/** A reconciliation finishes cleanly only when it balanced. */
export function reconciliationOutcome(summary: { status: string }): WorkOutcome {
  return summary.status === 'balanced' ? 'done' : 'done_with_exceptions';
}

/** An evidence package finishes with exceptions when it says a control did not hold. */
export function evidenceOutcome(out: { allControlsHeld?: boolean }): WorkOutcome {
  return out.allControlsHeld === false ? 'done_with_exceptions' : 'done';
}

/** An activity finishes with exceptions when it says so (status `exceptions`) or returns warnings. */
export function activityOutcome(out: unknown): WorkOutcome {
  const o = typeof out === 'object' && out !== null && !Array.isArray(out) ? (out as Record<string, unknown>) : null;
  const warned = !!o && (o.status === 'exceptions' || (Array.isArray(o.warnings) && o.warnings.length > 0));
  return warned ? 'done_with_exceptions' : 'done';
}

/** Why a task is blocked after its last attempt; the legacy shape showed the failure's message alone. */
export function failedReason(attempt: number, message: string, legacy: boolean): string {
  return legacy ? message : `failed after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${message}`;
}

export function retryingReason(attempt: number, message: string): string {
  return `attempt ${attempt} failed: ${message}; retrying`;
}

/** A task that finished its work but waits for its finish-to-finish predecessors. */
export function finishWaitReason(blockers: readonly string[]): string {
  return `finished its work; waits for ${blockers.join(', ')} to finish (FF)`;
}
