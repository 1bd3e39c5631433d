// The options of the seed's FinancialWorkflow builder (financial-workflow.ts) and what build() needs beside them:
// the shapes the builder and the reconciliation task (reconciliation-task.ts) both read, in a module of their own
// so neither imports the other for them.
import type { ClosePlanInput } from '../../domain/close/plan';
import type { ConnectorRegistry } from '../../platform/connectors';
import type { ApprovalConfig, CheckpointOptions } from './approval-config';
import type { DataSourceRegistry, MappingRegistry, SystemRegistry } from './registries';
import type { ClassificationLevel, SecurityConfig } from './security-config';

export type TaskInput = ClosePlanInput['tasks'][number];
export type Predecessor = string | { task: string; type?: 'FS' | 'FF' | 'SS_WARN' };

/** What every task of the close says about itself (domain/close/plan.ts): who owns it, after what, by when. */
export interface TaskOptions {
  /** The task id (letters, digits, ".", "_", "-"). */
  id: string;
  name?: string;
  description?: string;
  ownerRole: string;
  predecessors?: Predecessor[];
  /** `'BD+2'`, `'{month_end_date} + 3 business days'`. */
  deadline?: string;
  expectedDuration?: string;
  doneWhen?: string;
  retry?: TaskInput['retry'];
}

/** A matching rule as the definition has it, in camelCase or snake_case (`compareDate` or `compare_date`). */
export type MatchingRule = { id: string; type: string } & Record<string, unknown>;

export interface ReconciliationOptions extends TaskOptions {
  /** The reconciliation's id in reports and workflow ids; default the task id. */
  reconId?: string;
  sourceA: string;
  sourceB: string;
  /** A mapping of the registry, applied to sourceB: its names become sourceA's. */
  mapping?: string;
  matchingRules: MatchingRule[];
  /** `{ roundingTolerance: '0.01', timingWindowDays: 31 }`. */
  categorisation?: Record<string, unknown>;
  currencyDecimals?: Record<string, number>;
  partitions?: number;
}

export interface ApprovalCheckpointOptions extends TaskOptions, Partial<CheckpointOptions> {
  /** The checkpoint's id in the approval policy; default the task id. */
  checkpointId?: string;
  /** The checkpoint's own name, when it differs from the task's. */
  checkpointName?: string;
  /** What is approved: its preparer, amount, reference and evidence. */
  item?: {
    type?: string;
    amount?: string;
    currency?: string;
    preparer: string;
    ref?: string;
    description?: string;
    evidence?: { kind: string; ref: string; sha256?: string }[];
    resolution?: string;
  };
}

export interface ComplianceDocumentationOptions extends TaskOptions {
  regulation: string;
  controlId: string;
  description?: string;
  evidence?: string[];
  attestation?: string | { text: string; requiredFrom: string | string[] };
}

/** The close this workflow is: its company, owner, calendar and deadlines, and which task the results report on. */
export interface CloseIntegrationOptions {
  company: string;
  owner: string;
  /** Default: from the execution parameters (`period`, or the yyyy-mm of `month_end_date`). */
  period?: string;
  fiscalCalendar?: ClosePlanInput['fiscalCalendar'];
  holidays?: ClosePlanInput['holidays'];
  deadline?: string;
  cutoff?: ClosePlanInput['cutoff'];
  maxParallel?: number;
  requireSignedTaskActions?: boolean;
  closeManagerRoles?: string[];
  blockedTimeout?: string;
  /** The task whose state `getResults().closeIntegration.taskStatus` reports; default the close's own state. */
  closeTaskId?: string;
  /** Predecessors of every reconciliation that names none of its own (the seed's `dependencies`). */
  dependencies?: Predecessor[];
}

export interface DataSecurityOptions {
  /** The least classification of this workflow's data: sources classified lower are raised to it. */
  classification: ClassificationLevel;
  /** Refuse to build unless every level this workflow's data has is encrypted at rest. */
  encryptionRequired?: boolean;
}

/** What `build()` needs beside the workflow: the registries and configs, and the execution's parameters. */
export interface BuildContext {
  dataSources: DataSourceRegistry;
  mappings?: MappingRegistry;
  systems?: SystemRegistry;
  /** Plug-in connectors by engine name: a system of such an engine is read through its connector. */
  connectors?: ConnectorRegistry;
  approvals?: ApprovalConfig;
  security?: SecurityConfig;
  /** `{ month_end_date: '2026-10-31' }`: bound to declared query parameters and `{execution.parameters.x}`. */
  parameters?: Record<string, string | number>;
}
