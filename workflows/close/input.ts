// The close workflow's input is a close plan (domain/close/plan.ts, as the CLI reads it from JSON or YAML) with run
// options beside it, or the older slice shape {company, period, tasks: [{id, kind, config}]}. Both become one
// parsed ClosePlan here, so the rest of the workflow knows only plans. A bad plan fails the workflow at start,
// non-retryably, with every problem listed: retrying cannot fix a plan.
import { ApplicationFailure } from '@temporalio/workflow';
import { ClosePlanError, parseClosePlan, type ClosePlan, type ClosePlanInput } from '../../domain/close/plan';
import { CLOSE_RUN_OPTIONS as RUN_OPTIONS, normaliseCloseInputKeys } from '../../domain/close/plan-casing';
import type { CloseRunOptions, CloseWorkflowInput } from '../types';

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

/**
 * The checks the slice made, with its messages (callers and tests match on them), before the plan's own: a
 * duplicate id, an unknown predecessor, a cycle.
 */
function legacyGraphProblem(tasks: unknown[]): string | undefined {
  const list = tasks.filter(isRecord).map((t) => ({
    id: String(t.id),
    preds: Array.isArray(t.predecessors) ? t.predecessors.map((p) => (isRecord(p) ? String(p.task) : String(p))) : [],
  }));
  const ids = new Set<string>();
  for (const t of list) {
    if (ids.has(t.id)) return `task id ${t.id} appears twice`;
    ids.add(t.id);
  }
  for (const t of list) for (const p of t.preds) if (!ids.has(p)) return `task ${t.id} depends on unknown task ${p}`;
  // Kahn's algorithm: whatever is left after peeling off tasks with no open predecessors sits on a cycle.
  const indegree = new Map(list.map((t) => [t.id, t.preds.length]));
  const queue = list.filter((t) => indegree.get(t.id) === 0).map((t) => t.id);
  let seen = 0;
  while (queue.length) {
    const id = queue.shift() as string;
    seen++;
    for (const t of list)
      if (t.preds.includes(id)) {
        indegree.set(t.id, (indegree.get(t.id) ?? 0) - 1);
        if (indegree.get(t.id) === 0) queue.push(t.id);
      }
  }
  if (seen === list.length) return undefined;
  const stuck = list.filter((t) => (indegree.get(t.id) ?? 0) > 0).map((t) => t.id);
  return `close plan has a dependency cycle among: ${stuck.join(', ')}`;
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
  // A plan started with the plain Temporal CLI arrives as written (snake_case, issue 19); finflow's own clients
  // send the internal spelling, on which this is the identity (recorded inputs parse as they did).
  const keyed = normaliseCloseInputKeys(input);
  if (keyed.conflicts.length)
    throw invalidPlan(
      `the close input gives fields twice: ${keyed.conflicts.map((c) => `${c.path}: ${c.message}`).join('; ')}`,
      keyed.conflicts,
    );
  const options: CloseRunOptions = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(keyed.value as Record<string, unknown>)) {
    if ((RUN_OPTIONS as readonly string[]).includes(k)) (options as Record<string, unknown>)[k] = v;
    else rest[k] = v;
  }
  const legacy = options.carried ? options.carried.legacy === true : isLegacyInput(rest);
  if (legacy && !options.carried) {
    const problem = legacyGraphProblem(rest.tasks as unknown[]);
    if (problem) throw invalidPlan(problem);
  }
  const raw: unknown = options.carried ? options.carried.plan : legacy ? legacyToPlan(rest) : rest;
  try {
    return { plan: parseClosePlan(raw), options, legacy };
  } catch (err) {
    if (err instanceof ClosePlanError) throw invalidPlan(err.message, err.issues);
    throw err;
  }
}
