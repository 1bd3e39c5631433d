// Every task's `config` checked by its kind's own schema, and the cross-references between a plan's tasks and its
// approval policy, in one pass: a reconciliation definition that does not parse, an approval task naming a
// checkpoint the policy lacks, or a checkpoint asking for a role nobody defined, shows itself when the close is
// built or started, not days later when that task's turn comes. Pure: no I/O.
import type { z } from 'zod';
import { ApprovalPolicySchema, type ApprovalPolicy } from '../approval/policy';
import { CloseEvidenceConfigSchema } from '../compliance/close-evidence';
import { definitionSchemas } from '../recon/definition';
import type { PlanIssue } from './plan';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function zodIssues(error: z.ZodError, prefix: readonly PropertyKey[], task?: string): PlanIssue[] {
  return error.issues.flatMap((iss) => {
    const paths =
      iss.code === 'unrecognized_keys' ? iss.keys.map((k) => [...iss.path, k]) : [iss.path as PropertyKey[]];
    return paths.map((p) => ({
      path: formatPath([...prefix, ...p]),
      ...(task ? { task } : {}),
      message: iss.code === 'unrecognized_keys' ? 'unknown field' : iss.message,
    }));
  });
}

/**
 * Problems of the tasks' configs and of the approval policy, each with its path in the close input (e.g.
 * `tasks[2].config.definition.rules[0].type`, `approvalPolicy.checkpoints[1].required_roles[0]`). Empty when all
 * is well. `input` is the close input as written: a plan with its run options (approvalPolicy) beside it.
 */
export function taskConfigIssues(input: unknown): PlanIssue[] {
  if (!isRecord(input)) return [];
  const issues: PlanIssue[] = [];
  let policy: ApprovalPolicy | undefined;
  if (input.approvalPolicy !== undefined) {
    const r = ApprovalPolicySchema.safeParse(input.approvalPolicy);
    if (r.success) policy = r.data;
    else issues.push(...zodIssues(r.error, ['approvalPolicy']));
  }
  if (!Array.isArray(input.tasks)) return issues;
  input.tasks.forEach((t: unknown, index) => {
    if (!isRecord(t)) return;
    const task = typeof t.id === 'string' ? t.id : undefined;
    const at = (...p: PropertyKey[]) => formatPath(['tasks', index, 'config', ...p]);
    const config = isRecord(t.config) ? t.config : {};
    switch (t.kind) {
      case 'reconciliation': {
        if (config.definition === undefined) {
          // The legacy slice names two tables (a, b) instead of a definition.
          if (!isRecord(config.a) || !isRecord(config.b))
            issues.push({ path: at('definition'), task, message: 'a reconciliation task needs a definition' });
          break;
        }
        const r = definitionSchemas().reconciliationDefinitionSchema.safeParse(config.definition);
        if (!r.success) issues.push(...zodIssues(r.error, ['tasks', index, 'config', 'definition'], task));
        if (typeof config.reconId !== 'string' || !config.reconId)
          issues.push({ path: at('reconId'), task, message: 'a reconciliation task names its reconId' });
        break;
      }
      case 'documentation': {
        const r = CloseEvidenceConfigSchema.safeParse(config);
        if (!r.success) issues.push(...zodIssues(r.error, ['tasks', index, 'config'], task));
        break;
      }
      case 'approval': {
        if (typeof config.checkpointId !== 'string' || !config.checkpointId) {
          issues.push({ path: at('checkpointId'), task, message: 'an approval task names its checkpointId' });
          break;
        }
        // Legacy slice checkpoints carry their own role and are not in a policy.
        if (config.role !== undefined) break;
        if (input.approvalPolicy === undefined) {
          issues.push({
            path: at('checkpointId'),
            task,
            message: `checkpoint ${config.checkpointId} needs an approvalPolicy that defines it`,
          });
          break;
        }
        if (!policy) break; // the policy's own problems are already listed
        const cp = policy.checkpoints.find((c) => c.id === config.checkpointId);
        if (!cp) {
          issues.push({
            path: at('checkpointId'),
            task,
            message: `the approval policy has no checkpoint ${config.checkpointId} (it has ${policy.checkpoints.map((c) => c.id).join(', ') || 'none'})`,
          });
          break;
        }
        const item = isRecord(config.item) ? config.item : undefined;
        if (item?.type !== undefined && item.type !== cp.item_type)
          issues.push({
            path: at('item', 'type'),
            task,
            message: `item type ${String(item.type)} is not checkpoint ${cp.id}'s item_type ${cp.item_type}`,
          });
        if (typeof item?.preparer === 'string' && policy.users.length > 0)
          if (!policy.users.some((u) => u.userId === item.preparer))
            issues.push({
              path: at('item', 'preparer'),
              task,
              message: `preparer ${item.preparer} is not in the approval policy's user directory`,
            });
        break;
      }
      default:
        break;
    }
  });
  return issues;
}
