// The workflow bundle's entry. Each export loads its workflow's module on first call instead of at import: the SDK
// evaluates the bundle's modules afresh for every workflow run (each run has its own module cache), so a static
// re-export made every reconciliation child build the close's and the approvals' modules too (zod schemas included:
// ~17 ms of a busy workflow thread per child in bench:close). Types come from the modules themselves.
/* eslint-disable @typescript-eslint/no-require-imports -- a synchronous require() is how webpack loads a module on demand within the bundle */
import type * as Approval from './approval/approval-workflow';
import type * as Schedule from './close-schedule';
import type * as Close from './month-end-close';
import type * as Recon from './reconciliation';

export function monthEndCloseWorkflow(
  ...args: Parameters<typeof Close.monthEndCloseWorkflow>
): ReturnType<typeof Close.monthEndCloseWorkflow> {
  return (require('./month-end-close') as typeof Close).monthEndCloseWorkflow(...args);
}

export function reconciliationWorkflow(
  ...args: Parameters<typeof Recon.reconciliationWorkflow>
): ReturnType<typeof Recon.reconciliationWorkflow> {
  return (require('./reconciliation') as typeof Recon).reconciliationWorkflow(...args);
}

export function approvalWorkflow(
  ...args: Parameters<typeof Approval.approvalWorkflow>
): ReturnType<typeof Approval.approvalWorkflow> {
  return (require('./approval/approval-workflow') as typeof Approval).approvalWorkflow(...args);
}

export function scheduledCloseWorkflow(
  ...args: Parameters<typeof Schedule.scheduledCloseWorkflow>
): ReturnType<typeof Schedule.scheduledCloseWorkflow> {
  return (require('./close-schedule') as typeof Schedule).scheduledCloseWorkflow(...args);
}
