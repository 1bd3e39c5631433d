// The close workflow's input is a close plan (domain/close/plan.ts, as the CLI reads it from JSON or YAML) with run
// options beside it, or the older slice shape {company, period, tasks: [{id, kind, config}]}. Both become one
// parsed ClosePlan here, so the rest of the workflow knows only plans. A bad plan fails the workflow at start,
// non-retryably, with every problem listed: retrying cannot fix a plan.
import { ApplicationFailure } from '@temporalio/workflow';
import { ClosePlanError, parseClosePlan, type ClosePlan, type ClosePlanInput } from '../../domain/close/plan';
import type { CloseRunOptions, CloseWorkflowInput } from '../types';

const RUN_OPTIONS = [
  'approvalPolicy',
  'allowUnsignedApprovals',
  'searchAttributes',
  'waiverCheckpoint',
  'blockedTimeout',
  'continueAsNewAfterEvents',
  'carried',
] as const satisfies readonly (keyof CloseRunOptions)[];

/** The owner role given to legacy tasks, which name none. */
export const LEGACY_OWNER_ROLE = 'close-owner';

export interface NormalisedInput {
  plan: ClosePlan;
  options: CloseRunOptions;
  legacy: boolean;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Legacy tasks never name an owner role; every task of a plan must. */
export function isLegacyInput(input: unknown): boolean {
  if (!isRecord(input) || !Array.isArray(input.tasks) || input.tasks.length === 0) return false;
  return input.tasks.every((t) => isRecord(t) && !('ownerRole' in t));
}

/**
 * The slice shape as a plan. Its predecessors meant "after the predecessor finished, with or without exceptions"
 * (an approval of a reconciliation with exceptions had to start), which is SS_WARN in the plan's terms.
 */
export function legacyToPlan(input: Record<string, unknown>): ClosePlanInput {
  const tasks = (input.tasks as unknown[]).map((t) => {
    const task = t as Record<string, unknown>;
    const out: Record<string, unknown> = {
      ...task,
      name: typeof task.name === 'string' && task.name.trim() ? task.name : task.id,
      ownerRole: LEGACY_OWNER_ROLE,
      config: task.config ?? {},
    };
    if (Array.isArray(task.predecessors))
      out.predecessors = task.predecessors.map((p) => (typeof p === 'string' ? { task: p, type: 'SS_WARN' } : p));
    return out;
  });
  return {
    company: input.company,
    period: input.period,
    owner: typeof input.owner === 'string' && input.owner.trim() ? input.owner : LEGACY_OWNER_ROLE,
    tasks,
  } as ClosePlanInput;
}

export function invalidPlan(message: string, issues?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type: 'InvalidClosePlan',
    nonRetryable: true,
    details: issues === undefined ? undefined : [issues],
  });
}

export function normaliseInput(input: CloseWorkflowInput): NormalisedInput {
  if (!isRecord(input)) throw invalidPlan('the close input is an object: a close plan, or {company, period, tasks}');
  const options: CloseRunOptions = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if ((RUN_OPTIONS as readonly string[]).includes(k)) (options as Record<string, unknown>)[k] = v;
    else rest[k] = v;
  }
  const legacy = options.carried ? false : isLegacyInput(rest);
  const raw: unknown = options.carried ? options.carried.plan : legacy ? legacyToPlan(rest) : rest;
  try {
    return { plan: parseClosePlan(raw), options, legacy };
  } catch (err) {
    if (err instanceof ClosePlanError) throw invalidPlan(err.message, err.issues);
    throw err;
  }
}
