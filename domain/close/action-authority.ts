// Who may take a signed task action on a close (issue 19: moved out of workflows/month-end-close.ts, behaviour
// unchanged). Pure: the close hands in the signer's roles as its approval policy's directory gives them.
import type { TaskAction } from '../../contracts/close';

export interface ActionAuthority {
  /** The directory's roles of a user; undefined when the close has no directory (nothing to check against). */
  rolesOf(userId: string): readonly string[] | undefined;
  /** The task the action names, if any. */
  task?: { id: string; owner?: string; ownerRole?: string };
  /** The close owner (plan owner). */
  planOwner?: string;
  /** The close's closeManagerRoles option; without it, the close owner's own roles. */
  closeManagerRoles?: readonly string[];
  /**
   * Whether the close checks close managers: closes that took signed actions before the check existed replay
   * without it (the workflow answers with a patched() marker). Asked only when the answer matters.
   */
  checksManagers(): boolean;
}

/**
 * Why the proven signer may not take the action; undefined when they may. A completion must come from the task's
 * owner: the person it was reassigned to, or a holder of its owner role. Rerunning a task or asking to waive it is
 * for its owner or a close manager; reassigning, skipping, adding, pausing and resuming are for close managers. Who
 * may attest is the control's rule (the roles it is required from), judged when the action is applied.
 */
export function actionAuthorityProblem(a: TaskAction, ctx: ActionAuthority): string | undefined {
  if (a.action === 'attest') return undefined;
  const roles = ctx.rolesOf(a.by);
  if (roles === undefined) return undefined;
  const t = ctx.task;
  const has = (role: string | undefined) => role !== undefined && roles.includes(role);
  const rolesText = `the directory gives ${a.by} ${roles.length ? roles.join(', ') : 'no role'}`;
  const isOwner = (task: NonNullable<ActionAuthority['task']>) => task.owner === a.by || has(task.ownerRole);
  if (a.action === 'complete') {
    if (t?.ownerRole && !isOwner(t))
      return `${a.by} may not complete ${t.id}: it belongs to role ${t.ownerRole}${t.owner ? ` (assigned to ${t.owner})` : ''}, and ${rolesText}`;
    return undefined;
  }
  if (!ctx.checksManagers()) return undefined;
  const owner = ctx.planOwner;
  const managerRoles = ctx.closeManagerRoles ?? (owner ? (ctx.rolesOf(owner) ?? []) : []);
  if (a.by === owner || managerRoles.some(has)) return undefined;
  const ownersToo = a.action === 'rerun' || a.action === 'waive';
  if (ownersToo && t && isOwner(t)) return undefined;
  const managers = [...(owner ? [`the close owner ${owner}`] : []), ...managerRoles.map((r) => `role ${r}`)];
  const who = ownersToo
    ? `the task's owner${t?.owner ? ` (${t.owner})` : t?.ownerRole ? ` (role ${t.ownerRole})` : ''} or a close manager`
    : 'a close manager';
  return `${a.by} may not ${a.action}${t ? ` ${t.id}` : ' the close'}: that is for ${who} (${managers.join(', ') || 'none named'}), and ${rolesText}`;
}
