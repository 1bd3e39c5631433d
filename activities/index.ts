import { createApprovalActivities, type ApprovalActivityConfig } from './approval';
import { createCalendarActivities } from './calendar';
import { createCloseStatusActivities } from './close-status';
import { createCloseReportActivities, type CloseReportConfig } from './close-report';
import { createCloseEvidenceActivities, type CloseEvidenceDeps } from './compliance/close-evidence';
import { createExceptionActivities, exceptionActionStoreOf } from './exceptions';
import { createReconActivities, defaultResultStore, type ReconActivityConfig } from './recon';
import { createRollForwardActivities } from './recon/roll-forward';
import { reconcileTablesWith } from './reconcile-tables';
import type { SystemRegistry } from './systems';
import type { ConnectorLookup } from '../contracts/connector';

export interface ActivityDeps {
  systems: SystemRegistry;
  /** Plug-in connectors by engine name, beside finflow's own (contracts/connector.ts, platform/connectors.ts). */
  connectors?: ConnectorLookup;
  /** Keys that approval tokens must be signed with, outbox and webhook (activities/approval/index.ts). */
  approval?: ApprovalActivityConfig;
  /** Where close reports go (default FINFLOW_CLOSE_REPORT_DIR, else .finflow/close-reports). */
  closeReport?: CloseReportConfig;
  /** Evidence packages of the close's documentation tasks; default from the worker's environment (FINFLOW_SIGNING_KEY...). */
  closeEvidence?: CloseEvidenceDeps;
  /** Work, reports and files directories and the result store of the reconciliation engine (activities/recon). */
  recon?: ReconActivityConfig;
}

/** Activities are built from their dependencies, so tests hand in real or fake ones through the same door. */
export function createActivities(deps: ActivityDeps) {
  return {
    reconcileTables: (input: Parameters<typeof reconcileTablesWith>[1]) => reconcileTablesWith(deps.systems, input),
    ...createApprovalActivities({ systems: deps.systems, approval: deps.approval }),
    ...createCalendarActivities(),
    ...createReconActivities(deps),
    ...createRollForwardActivities(deps),
    ...createCloseReportActivities({ closeReport: deps.closeReport }),
    ...createCloseStatusActivities(deps),
    ...createExceptionActivities(deps),
    ...createCloseEvidenceActivities(deps.closeEvidence, {
      resultStore: () => deps.recon?.resultStore ?? defaultResultStore(deps),
      exceptionActions: () => exceptionActionStoreOf(deps),
      // The reconciliations' data keys: their exception values are sealed in the package under them (shreddable).
      ...(deps.recon?.envelope ? { envelope: deps.recon.envelope } : {}),
    }),
  };
}
