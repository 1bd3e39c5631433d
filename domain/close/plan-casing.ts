// The close input (a plan with its run options, tasks' configs and approval policy) in one casing (issue 19): a
// file writes snake_case (`owner_role`, `max_parallel`, `approval_policy.users[].user_id`, `config.recon_id`); the
// camelCase spelling these fields were first given is the internal one, still read and reported as deprecated.
// Each task's config is walked with its kind's schema; the other kinds' configs (activity arguments, free text)
// are left as written. See domain/casing.ts for why the internal shape stays.
import { z } from 'zod';
import type { CloseRunOptions } from '../../contracts/close';
import { ApprovalPolicySchema } from '../approval/policy';
import { EvidenceRefSchema } from '../approval/decision';
import { normaliseKeys, type CasingResult } from '../casing';
import { CloseEvidenceConfigSchema } from '../compliance/close-evidence';
import { definitionSchemas } from '../recon/definition';
import { closePlanSchema, closeTaskSchema } from './plan';

/**
 * The close input's run options (beside the plan's own fields): the close workflow tells them apart by this list,
 * and a file may write each in snake_case. An option added here is read in both spellings with nothing else to do.
 */
export const CLOSE_RUN_OPTIONS = [
  'approvalPolicy',
  'allowUnsignedApprovals',
  'searchAttributes',
  'waiverCheckpoint',
  'blockedTimeout',
  'continueAsNewAfterEvents',
  'reconciliationTaskQueue',
  'requireSignedTaskActions',
  'closeManagerRoles',
  'carried',
] as const satisfies readonly (keyof CloseRunOptions)[];

function buildCasingSchemas() {
  const any = z.unknown();
  const tableRef = z.object({ system: any, table: any, keyField: any, valueField: any });
  /** contracts/recon.ts ReconciliationTaskConfig. */
  const reconciliationConfig = z.object({
    reconId: any,
    a: tableRef,
    b: tableRef,
    definition: definitionSchemas().reconciliationDefinitionSchema,
    partitions: any,
    asOf: any,
    maxParallel: any,
  });
  /** contracts/approval.ts ApprovalTaskConfig. */
  const approvalConfig = z.object({
    checkpointId: any,
    item: z.object({
      type: any,
      amount: any,
      currency: any,
      preparer: any,
      ref: any,
      description: any,
      evidence: z.array(EvidenceRefSchema),
      resolution: any,
    }),
    role: any,
    escalation: z.object({ timeout: any, path: any }),
  });
  /** The run options; carried is the workflow's own state: never written, never walked. */
  const runOptions: Record<string, z.ZodType> = {
    ...Object.fromEntries(CLOSE_RUN_OPTIONS.map((k) => [k, any])),
    approvalPolicy: ApprovalPolicySchema,
  };
  const configByKind: Record<string, z.ZodType> = {
    reconciliation: reconciliationConfig,
    approval: approvalConfig,
    documentation: CloseEvidenceConfigSchema,
  };
  return { runOptions, configByKind };
}
let built: ReturnType<typeof buildCasingSchemas> | undefined;
const casingSchemas = () => (built ??= buildCasingSchemas());

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One task (as in a plan's tasks, or a task added during the close) with its config in its kind's casing. */
export function normaliseTaskKeys(raw: unknown, path = ''): CasingResult {
  const task = normaliseKeys(raw, closeTaskSchema, path);
  if (!isRecord(task.value) || typeof task.value.kind !== 'string') return task;
  const schema = casingSchemas().configByKind[task.value.kind];
  if (!schema || task.value.config === undefined) return task;
  const config = normaliseKeys(task.value.config, schema, path ? `${path}.config` : 'config');
  return {
    value: { ...task.value, config: config.value },
    deprecated: [...task.deprecated, ...config.deprecated],
    conflicts: [...task.conflicts, ...config.conflicts],
  };
}

/**
 * A close input as written (plan, run options beside it) in the internal spelling, with the old spellings found
 * and the fields given twice. Identity on an input already in the internal spelling, so a recorded workflow input
 * parses as it did.
 */
export function normaliseCloseInputKeys(raw: unknown): CasingResult {
  const top = normaliseKeys(raw, z.object({ ...closePlanSchemaShape(), ...casingSchemas().runOptions }));
  if (!isRecord(top.value) || !Array.isArray(top.value.tasks)) return top;
  const deprecated = [...top.deprecated];
  const conflicts = [...top.conflicts];
  const tasks = top.value.tasks.map((t, i) => {
    const r = normaliseTaskKeys(t, `tasks[${i}]`);
    deprecated.push(...r.deprecated);
    conflicts.push(...r.conflicts);
    return r.value;
  });
  return { value: { ...top.value, tasks }, deprecated, conflicts };
}

/** The plan's own fields (tasks are walked one by one, each config by its kind). */
function closePlanSchemaShape(): Record<string, z.ZodType> {
  const shape = (closePlanSchema as unknown as { _zod: { def: { getter: () => z.ZodObject } } })._zod.def.getter()
    .shape as Record<string, z.ZodType>;
  return { ...shape, tasks: z.unknown() };
}
