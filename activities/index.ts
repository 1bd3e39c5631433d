import { createApprovalActivities, type ApprovalActivityConfig } from './approval';
import { reconcileTablesWith } from './reconcile-tables';
import type { SystemRegistry } from './systems';

export interface ActivityDeps {
  systems: SystemRegistry;
  /** Keys that approval tokens must be signed with, outbox and webhook (activities/approval/index.ts). */
  approval?: ApprovalActivityConfig;
}

/** Activities are built from their dependencies, so tests hand in real or fake ones through the same door. */
export function createActivities(deps: ActivityDeps) {
  return {
    reconcileTables: (input: Parameters<typeof reconcileTablesWith>[1]) => reconcileTablesWith(deps.systems, input),
    ...createApprovalActivities({ systems: deps.systems, approval: deps.approval }),
  };
}
