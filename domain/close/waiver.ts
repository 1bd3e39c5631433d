// Waivers of close tasks (issue 19: moved out of workflows/month-end-close.ts, behaviour unchanged). A waiver needs
// an approval. The close's approval policy names a template checkpoint (default `task-waiver`); each task of the
// plan gets its own checkpoint `waive:<taskId>` with the template's roles, limits and escalation, so a waiver is
// decided, signed and audited like any other approval, by the roles the policy trusts with it. Pure: the close
// opens the checkpoint and applies the decision these rules describe.
import type { ApprovalTaskConfig } from '../../contracts/approval';
import type { CloseJournalEntry } from '../../contracts/close';

/** The policy checkpoint whose roles, limits and escalation each task's waiver checkpoint copies. */
export const DEFAULT_WAIVER_TEMPLATE = 'task-waiver';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The checkpoint that decides the waiver of a task. */
export function waiverCheckpointId(taskId: string): string {
  return `waive:${taskId}`;
}

/**
 * The policy with a waiver checkpoint per task, copied from the template; a task that already has one keeps it. A
 * policy without the template (or that is not a policy) comes back as it was.
 */
export function policyWithWaivers(policy: unknown, template: string, taskIds: readonly string[]): unknown {
  if (!isRecord(policy) || !Array.isArray(policy.checkpoints)) return policy;
  const checkpoints = policy.checkpoints as Record<string, unknown>[];
  const tpl = checkpoints.find((c) => isRecord(c) && c.id === template);
  if (!tpl) return policy;
  const have = new Set(checkpoints.map((c) => (isRecord(c) ? c.id : undefined)));
  const extra = taskIds
    .filter((id) => !have.has(waiverCheckpointId(id)))
    .map((id) => ({ ...tpl, id: waiverCheckpointId(id) }));
  return { ...policy, checkpoints: [...checkpoints, ...extra] };
}

/** The template's item type; undefined when the policy has no such template (then no task can be waived). */
export function waiverItemType(policy: unknown, template: string): string | undefined {
  const cps = isRecord(policy) && Array.isArray(policy.checkpoints) ? (policy.checkpoints as unknown[]) : [];
  const tpl = cps.find((c) => isRecord(c) && c.id === template);
  return isRecord(tpl) && typeof tpl.item_type === 'string' ? tpl.item_type : undefined;
}

export interface WaiverRequest {
  task: { id: string; name: string };
  /** Who asks for the waiver (the item's preparer: they may not approve it). */
  by: string;
  reason?: string;
  closeId: string;
  itemType?: string;
}

/** The approval the waiver waits for: the task's waiver checkpoint, with the requester as preparer. */
export function waiverApproval(r: WaiverRequest): ApprovalTaskConfig {
  const checkpointId = waiverCheckpointId(r.task.id);
  return {
    checkpointId,
    item: {
      type: r.itemType,
      preparer: r.by,
      ref: checkpointId,
      description: `waive task ${r.task.id} (${r.task.name}) of close ${r.closeId}: ${r.reason ?? ''}`,
    },
  };
}

export interface WaiverDecision {
  approved: boolean;
  /** The waived task's reason (approved only). */
  taskReason?: string;
  /** The close journal's entry of the decision, by its deciders (or `approval` when no one decided). */
  entry: CloseJournalEntry;
}

/** What the checkpoint's outcome means for the task and the journal. */
export function waiverDecision(
  r: Pick<WaiverRequest, 'by' | 'reason'> & { taskId: string },
  outcome: { state: string; reason?: string },
  deciders: readonly string[],
  at: string,
): WaiverDecision {
  const checkpointId = waiverCheckpointId(r.taskId);
  const by = deciders.length ? deciders.filter((d, i) => deciders.indexOf(d) === i).join(', ') : 'approval';
  const entry: CloseJournalEntry = { at, by, action: 'waive', taskId: r.taskId, accepted: true };
  if (outcome.state === 'approved') {
    entry.note = `waiver approved on ${checkpointId}`;
    return {
      approved: true,
      taskReason: `waived: ${r.reason ?? ''} (requested by ${r.by}, approved on ${checkpointId})`,
      entry,
    };
  }
  entry.accepted = false;
  entry.refusal = `waiver not approved (${outcome.state})${outcome.reason ? `: ${outcome.reason}` : ''}`;
  return { approved: false, entry };
}
