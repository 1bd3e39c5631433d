// The state one approval checkpoint keeps inside its workflow, and the small helpers its host's modules share.
// Plain JSON-safe data: the workflow's status query shows it, and replay rebuilds it.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import {
  EvidenceRefSchema,
  type ApprovalPolicy,
  type AuditEntry,
  type CheckpointState,
  type EvidenceRef,
} from '../../domain/approval';
import type { CheckpointStatus } from '../types';

export interface CheckpointOutcome {
  state: 'approved' | 'rejected' | 'deadlocked';
  /** Why the task cannot go on, for the close's blockers (absent when approved). */
  reason?: string;
}

/** Key id recorded for an unsigned decision counted under allowUnsignedApprovals. */
export const UNSIGNED_KID = 'unsigned-development';
export const UNSIGNED_NONCE = 'unsigned:';
export const UNSIGNED_WARNING =
  'DEVELOPMENT ONLY: this workflow counts unsigned approvals (allowUnsignedApprovals); approver identities are claimed, not proven';
export const UNSIGNED_REFUSED =
  'unsigned approval: identity must be proven by a token from the approval gateway (or `finflow approve --key-file`)';
/** A flood of refused attempts must not grow the state without bound; they stay in history regardless. */
export const MAX_REFUSALS_KEPT = 200;
export const MAX_UNROUTED = 50;
export const MAX_RESUBMISSION_LOG = 100;
export const USER_ID = /^[A-Za-z0-9][A-Za-z0-9._:@+-]*$/;

export interface ResubmissionLogEntry {
  at: string;
  by: string;
  outcome: 'accepted' | 'refused';
  reason?: string;
  message: string;
}

export interface Instance {
  checkpointId: string;
  phase: 'pending' | 'running' | 'closed';
  policy?: ApprovalPolicy;
  legacy: boolean;
  item?: CheckpointStatus['item'];
  state?: CheckpointState;
  /** Attempts refused before the checkpoint opened (round 0); they head the audit trail once it does. */
  preOpen: AuditEntry[];
  closed?: { state: CheckpointOutcome['state']; reason?: string; at: string };
  resubmitRemindersSent: number;
  resubmitNonces: string[];
  resubmissions: ResubmissionLogEntry[];
  notifications: { queued: number; failed: number; lastError?: string };
  refusalsNotKept: number;
  /** Bumped on every change: the run loop's condition wakes on it. */
  version: number;
}

export function fail(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

export function refusal(reason: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'ApprovalRefused', message, nonRetryable: true, details: [{ reason }] });
}

export function causeMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

export const unique = (xs: string[]): string[] => xs.filter((x, i) => xs.indexOf(x) === i);
export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function parseEvidence(v: unknown): EvidenceRef[] {
  const r = EvidenceRefSchema.array()
    .max(50)
    .safeParse(v ?? []);
  return r.success ? r.data : [];
}

/** A checkpoint not yet opened: decisions sent to it before its task starts are kept for its trail. */
export function newInstance(checkpointId: string): Instance {
  return {
    checkpointId,
    phase: 'pending',
    legacy: false,
    preOpen: [],
    resubmitRemindersSent: 0,
    resubmitNonces: [],
    resubmissions: [],
    notifications: { queued: 0, failed: 0 },
    refusalsNotKept: 0,
    version: 0,
  };
}
