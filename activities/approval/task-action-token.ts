// Signed task actions: a person's `complete`, `rerun`, `waive`, `reassign`, `skip`, ... of a close task, signed by
// the approval gateway (or `finflow task ... --signing-key`) like an approval decision, so the close's journal can
// show who acted as proven, not as claimed. The token carries the whole action; the close takes the action from
// the verified claims and refuses a signal whose plain fields say something else.
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import {
  issuesText,
  signTokenClaims,
  type ApprovalSigningKey,
  type SignApprovalOptions,
  type SignedApproval,
  type VerifyApprovalOptions,
} from './signing';
import { verifyPersonToken, type PersonTokenFailure, type TokenProof } from './person-token';

export const TASK_ACTION_TOKEN_TYPE = 'finflow-task-action+jwt';

// 'cancel' signs a close's cancellation note (client/close-cancel.ts): the close checks it when it ends cancelled and
// refuses it as a task action (domain/close/task-actions.ts does not list it).
const ACTIONS = [
  'complete',
  'rerun',
  'waive',
  'reassign',
  'skip',
  'add',
  'pause',
  'resume',
  'attest',
  'cancel',
] as const;
const text = (max: number) => z.string().trim().min(1).max(max);

/** What a task-action token says (its subject, `by`, is who acts). */
export const TaskActionClaimsSchema = z
  .object({
    workflowId: text(512),
    action: z.enum(ACTIONS),
    by: text(256),
    taskId: text(256).optional(),
    reason: text(4000).optional(),
    to: text(256).optional(),
    note: text(4000).optional(),
    /** attest: the attestation text, signed exactly as given (not trimmed: the close compares it character for character). */
    statement: z.string().min(1).max(8000).optional(),
    task: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type TaskActionClaimsInput = z.input<typeof TaskActionClaimsSchema>;

/** The verified action, with the proof the close's journal keeps. */
export interface SignedTaskAction {
  action: (typeof ACTIONS)[number];
  by: string;
  taskId?: string;
  reason?: string;
  to?: string;
  note?: string;
  statement?: string;
  task?: Record<string, unknown>;
  proof: TokenProof;
}

export type TaskActionVerification = { ok: true; action: SignedTaskAction } | PersonTokenFailure;

/** Signs one person's task action for one close. */
export async function signTaskAction(
  action: TaskActionClaimsInput,
  key: ApprovalSigningKey,
  options: SignApprovalOptions,
): Promise<SignedApproval> {
  const parsed = TaskActionClaimsSchema.safeParse(action);
  if (!parsed.success) throw new Error(`task action not signed: ${issuesText(parsed.error.issues, 'action')}`);
  const { by, ...claims } = parsed.data;
  return signTokenClaims(key, options, TASK_ACTION_TOKEN_TYPE, by, claims);
}

/** Verifies a task-action token: signature, type, issuer, audience, lifetime, claims, and the close it is for. */
export async function verifyTaskActionToken(
  token: string,
  keys: JSONWebKeySet,
  options: VerifyApprovalOptions,
): Promise<TaskActionVerification> {
  const checked = await verifyPersonToken(token, keys, TASK_ACTION_TOKEN_TYPE, TaskActionClaimsSchema, options);
  if (!checked.ok) return checked;
  const { workflowId: _w, ...action } = checked.claims;
  return { ok: true, action: { ...action, proof: checked.proof } };
}
