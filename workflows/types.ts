// Plain JSON-safe shapes only: workflow inputs, results and query answers cross the wire and land in history.
export type TaskKind = 'reconciliation' | 'approval';
export type TaskState = 'pending' | 'running' | 'done' | 'done_with_exceptions' | 'blocked' | 'failed';

export interface TableRef {
  /** Name of a system registered with the worker (its connection comes from the worker's environment, never a payload). */
  system: string;
  table: string;
  keyField: string;
  valueField: string;
}

export interface ReconciliationTaskConfig {
  reconId: string;
  a: TableRef;
  b: TableRef;
}

export interface ApprovalTaskConfig {
  checkpointId: string;
  /** Role that may approve first; each escalation adds the next role of the path. */
  role: string;
  escalation: { timeout: string; path: string[] };
}

export interface CloseTaskSpec {
  id: string;
  name?: string;
  kind: TaskKind;
  predecessors?: string[];
  config: ReconciliationTaskConfig | ApprovalTaskConfig;
}

export interface MonthEndCloseInput {
  company: string;
  period: string;
  owner?: string;
  tasks: CloseTaskSpec[];
}

export interface ReconciliationInput {
  company: string;
  period: string;
  reconId: string;
  a: TableRef;
  b: TableRef;
}

/** Control totals and counts only: records stay in the systems and the result store. */
export interface ReconciliationSummary {
  reconId: string;
  status: 'balanced' | 'exceptions';
  a: { records: number; amount: string };
  b: { records: number; amount: string };
  keys: { matched: number; amountMismatch: number; missingInA: number; missingInB: number };
  difference: string;
}

export interface CheckpointStatus {
  checkpointId: string;
  state: 'open' | 'approved' | 'rejected' | 'deadlocked';
  allowedRoles: string[];
  escalations: { at: string; toRole: string }[];
  decisions: { at: string; approverId: string; role: string; decision: string; comments?: string }[];
  refusals: { at: string; approverId: string; role: string; reason: string }[];
}

export interface TaskStatus {
  id: string;
  name: string;
  kind: TaskKind;
  state: TaskState;
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
  result?: ReconciliationSummary;
}

export interface CloseStatus {
  closeId: string;
  company: string;
  period: string;
  state: 'running' | 'completed' | 'blocked';
  tasks: TaskStatus[];
  checkpoints: CheckpointStatus[];
  percentDone: number;
}

export type CloseResult = CloseStatus;
