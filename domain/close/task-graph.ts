// The dependency graph of a close: validation, order, what may start now, what can no longer happen, and the
// critical path. Pure functions of (plan, per-task states, times given as input), so the close workflow can
// call them on every change and a `status` query can call them without touching workflow state.
//
// Dependency types (the predecessor P of a task T):
//   FS       T starts when P finished cleanly: done, skipped or waived.
//   SS_WARN  as FS, and P finished with warnings is good enough too.
//   FF       T may start at any time but may not finish before P finished cleanly.
// A predecessor that failed or is blocked, or finished with warnings under FS/FF, can no longer satisfy the
// dependency until a person reruns or waives it: T is then blocked, and so is everything waiting on T, while
// branches that do not depend on P go on. Only tasks that failed themselves should be stored as 'blocked';
// dependants stay 'pending' and blockedBy() derives them, so a rerun or waiver frees them with no bookkeeping.
import { durationMs } from '../duration';

export const TASK_STATES = [
  'pending',
  'running',
  'done',
  'done_with_warnings',
  'failed',
  'blocked',
  'skipped',
  'waived',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const DEPENDENCY_TYPES = ['FS', 'FF', 'SS_WARN'] as const;
export type DependencyType = (typeof DEPENDENCY_TYPES)[number];

export type PredecessorRef = string | { task: string; type?: DependencyType };

export interface GraphTask {
  id: string;
  predecessors?: readonly PredecessorRef[];
  /** "2h", "1d"; a task without one counts as taking no time. */
  expectedDuration?: string;
}

export interface GraphPlan {
  /** How many tasks may run at once; no limit when absent. */
  maxParallel?: number;
  tasks: readonly GraphTask[];
}

/** State per task id; a task with no entry is pending. */
export type TaskStates = Readonly<Record<string, TaskState | undefined>>;

/** unknown_task: a caller named a task (in states, or to finishBlockers) that the plan does not have. */
export type GraphIssueCode = 'duplicate_id' | 'unknown_predecessor' | 'cycle' | 'unreachable' | 'unknown_task';

export interface GraphIssue {
  code: GraphIssueCode;
  /** Path inside the tasks array: [taskIndex, 'id'] or [taskIndex, 'predecessors', predecessorIndex]. */
  path: (string | number)[];
  message: string;
}

export class TaskGraphError extends Error {
  constructor(readonly issues: GraphIssue[]) {
    super(`the close plan's task graph is invalid:\n${issues.map((i) => `  - ${i.message}`).join('\n')}`);
    this.name = 'TaskGraphError';
  }
}

/** A task as the validator sees it, with the positions it had in the plan (for error paths). */
export interface GraphNode {
  id: string;
  index: number;
  predecessors: { task: string; type: DependencyType; index: number }[];
}

function toNodes(tasks: readonly GraphTask[]): GraphNode[] {
  return tasks.map((t, index) => ({
    id: t.id,
    index,
    predecessors: (t.predecessors ?? []).map((p, i) =>
      typeof p === 'string'
        ? { task: p, type: 'FS' as const, index: i }
        : { task: p.task, type: p.type ?? 'FS', index: i },
    ),
  }));
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * Everything wrong with a task graph, each with its place in the plan:
 * - duplicate_id: two tasks with one id;
 * - unknown_predecessor: a predecessor that is not a task of the plan;
 * - cycle: tasks that wait for each other, named in order ("a -> b -> c -> a": b waits for a, c for b, a for c);
 * - unreachable: a task that could never be completed even if every task succeeded, because something it
 *   waits for, directly or through other tasks and by any dependency type, is on a cycle or waits for an unknown
 *   task. The tasks on the cycle, and those naming the unknown task, are reported as such, not again here.
 */
export function graphIssues(nodes: readonly GraphNode[]): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const byId = new Map<string, number>();
  for (const n of nodes) {
    const first = byId.get(n.id);
    if (first === undefined) byId.set(n.id, n.index);
    else
      issues.push({
        code: 'duplicate_id',
        path: [n.index, 'id'],
        message: `task id "${n.id}" is used twice (tasks[${first}] and tasks[${n.index}])`,
      });
  }
  const position = new Map(nodes.map((n, i) => [n.id, i]));
  const doomed = new Map<number, string>(); // node position -> why it can never complete
  for (const [i, n] of nodes.entries())
    for (const p of n.predecessors)
      if (!position.has(p.task)) {
        // A near miss is at most two edits away, and fewer for short ids (every 1-letter id is near "zz").
        const near = [...position.keys()].filter(
          (id) => editDistance(id, p.task) <= Math.min(2, Math.floor(Math.max(id.length, p.task.length) / 3)),
        );
        issues.push({
          code: 'unknown_predecessor',
          path: [n.index, 'predecessors', p.index],
          message:
            `task "${n.id}" depends on unknown task "${p.task}"` +
            (near.length ? ` (did you mean ${near.map((x) => `"${x}"`).join(' or ')}?)` : ''),
        });
        if (!doomed.has(i)) doomed.set(i, `waits for unknown task "${p.task}"`);
      }

  // Successor lists over known edges, in plan order.
  const successors: number[][] = nodes.map(() => []);
  for (const [i, n] of nodes.entries())
    for (const p of n.predecessors) {
      const from = position.get(p.task);
      if (from !== undefined && !successors[from].includes(i)) successors[from].push(i);
    }

  for (const component of stronglyConnected(successors)) {
    const cyclic = component.length > 1 || successors[component[0]].includes(component[0]);
    if (!cyclic) continue;
    const start = Math.min(...component);
    const cycle = cycleThrough(start, new Set(component), successors);
    const names = cycle.map((i) => nodes[i].id);
    const others = component
      .filter((i) => !cycle.includes(i))
      .sort((a, b) => a - b)
      .map((i) => `"${nodes[i].id}"`);
    const text = [...names, names[0]].join(' -> ');
    issues.push({
      code: 'cycle',
      path: [nodes[start].index, 'predecessors'],
      message:
        `dependency cycle: ${text} (each task waits for the one before it, so none can start)` +
        (others.length ? `; also caught in it: ${others.join(', ')}` : ''),
    });
    for (const i of component) doomed.set(i, `is on the cycle ${text}`);
  }

  // Breadth-first from every doomed task, in plan order, so each unreachable task gets its shortest chain.
  const via = new Map<number, number>();
  const queue = [...doomed.keys()].sort((a, b) => a - b);
  for (let q = 0; q < queue.length; q++)
    for (const s of successors[queue[q]])
      if (!doomed.has(s) && !via.has(s)) {
        via.set(s, queue[q]);
        queue.push(s);
      }
  for (const [i, n] of nodes.entries()) {
    if (!via.has(i)) continue;
    const chain: number[] = [];
    for (let at = via.get(i); at !== undefined; at = via.get(at)) chain.push(at);
    const root = chain[chain.length - 1];
    const steps = chain.map((c) => `"${nodes[c].id}"`).join(', which waits for ');
    issues.push({
      code: 'unreachable',
      path: [n.index, 'predecessors'],
      message: `task "${n.id}" can never complete: it waits for ${steps}, which ${doomed.get(root)}`,
    });
  }
  return issues;
}

/** Tarjan's algorithm, iterative (a 500-task chain must not overflow the stack). */
function stronglyConnected(successors: number[][]): number[][] {
  const n = successors.length;
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  const out: number[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    while (work.length) {
      const frame = work[work.length - 1];
      const [v, next] = frame;
      if (next === 0) {
        index[v] = low[v] = counter++;
        stack.push(v);
        onStack[v] = true;
      }
      if (next < successors[v].length) {
        frame[1]++;
        const w = successors[v][next];
        if (index[w] === -1) work.push([w, 0]);
        else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low[parent] = Math.min(low[parent], low[v]);
      }
      if (low[v] === index[v]) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop() as number;
          onStack[w] = false;
          component.push(w);
        } while (w !== v);
        out.push(component);
      }
    }
  }
  return out;
}

/** A shortest cycle from `start` back to itself inside one strongly connected component. */
function cycleThrough(start: number, members: Set<number>, successors: number[][]): number[] {
  const parent = new Map<number, number>();
  const queue = [start];
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q];
    for (const w of successors[v]) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        for (let at = v; at !== start; at = parent.get(at) as number) path.push(parent.get(at) as number);
        return path.reverse();
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  /* istanbul ignore next -- every node of a cyclic component lies on a cycle */
  throw new Error('internal: no cycle through a cyclic component');
}

export function validateTaskGraph(tasks: readonly GraphTask[]): GraphIssue[] {
  return graphIssues(toNodes(tasks));
}

interface Indexed {
  nodes: GraphNode[];
  position: Map<string, number>;
  preds: { at: number; type: DependencyType }[][];
  successors: number[][];
  order: number[];
  durations: number[];
}

/**
 * What a task list's graph depends on: ids, predecessors and durations. A close workflow asks the graph several
 * questions per step (ready, eligible, schedule, status) of the same list; re-validating and re-sorting 500 tasks
 * for each took milliseconds apiece, and a query is only answered between workflow tasks.
 */
function signature(tasks: readonly GraphTask[]): string {
  return tasks
    .map(
      (t) =>
        `${t.id}\u0000${t.expectedDuration ?? ''}\u0000${(t.predecessors ?? [])
          .map((p) => (typeof p === 'string' ? p : `${p.task}\u0001${p.type ?? 'FS'}`))
          .join('\u0002')}`,
    )
    .join('\u0003');
}

const indexed = new WeakMap<readonly GraphTask[], { signature: string; graph: Indexed }>();

/** The index of a task list, kept while the list (same array, same content) is asked again. */
function indexPlan(plan: GraphPlan): Indexed {
  const sig = signature(plan.tasks);
  const hit = indexed.get(plan.tasks);
  if (hit?.signature === sig) return hit.graph;
  const graph = buildIndex(plan);
  indexed.set(plan.tasks, { signature: sig, graph });
  return graph;
}

function buildIndex(plan: GraphPlan): Indexed {
  const nodes = toNodes(plan.tasks);
  const issues = graphIssues(nodes);
  if (issues.length) throw new TaskGraphError(issues);
  const position = new Map(nodes.map((n, i) => [n.id, i]));
  const preds = nodes.map((n) => n.predecessors.map((p) => ({ at: position.get(p.task) as number, type: p.type })));
  const successors: number[][] = nodes.map(() => []);
  preds.forEach((list, i) => list.forEach((p) => successors[p.at].push(i)));
  // Kahn's algorithm taking the earliest task in plan order among the ready ones, so the order is stable.
  const waiting = preds.map((l) => l.length);
  const ready = nodes.map((_, i) => i).filter((i) => waiting[i] === 0);
  const order: number[] = [];
  while (ready.length) {
    const v = ready.shift() as number;
    order.push(v);
    for (const s of successors[v])
      if (--waiting[s] === 0) {
        const at = ready.findIndex((r) => r > s);
        ready.splice(at < 0 ? ready.length : at, 0, s);
      }
  }
  const durations = plan.tasks.map((t) => (t.expectedDuration === undefined ? 0 : durationMs(t.expectedDuration)));
  return { nodes, position, preds, successors, order, durations };
}

/**
 * Task ids so that every task comes after its predecessors; at each step the earliest task in the plan whose
 * predecessors are all placed comes next, so the order is stable. Throws on an invalid graph.
 */
export function topologicalOrder(plan: GraphPlan): string[] {
  const g = indexPlan(plan);
  return g.order.map((i) => g.nodes[i].id);
}

const FINISHED: ReadonlySet<TaskState> = new Set(['done', 'done_with_warnings', 'skipped', 'waived']);

export function isFinished(state: TaskState): boolean {
  return FINISHED.has(state);
}

type PredStatus = 'met' | 'waiting' | 'never';

function predecessorStatus(state: TaskState, type: DependencyType): PredStatus {
  if (state === 'done' || state === 'skipped' || state === 'waived') return 'met';
  if (state === 'done_with_warnings') return type === 'SS_WARN' ? 'met' : 'never';
  if (state === 'failed' || state === 'blocked') return 'never';
  return 'waiting';
}

function stateOf(g: Indexed, states: TaskStates): TaskState[] {
  for (const id of Object.keys(states))
    if (!g.position.has(id))
      throw new TaskGraphError([{ code: 'unknown_task', path: [], message: `state given for unknown task "${id}"` }]);
  return g.nodes.map((n) => states[n.id] ?? 'pending');
}

export interface BlockedTask {
  task: string;
  /** 'start' for a task that has not begun; 'finish' for a running task held by a finish-to-finish predecessor. */
  cannot: 'start' | 'finish';
  /** From the direct predecessor to the task at the root of the trouble, e.g. ['b', 'a'] for c <- b <- a. */
  chain: string[];
  root: string;
  rootState: TaskState;
  /** What is wrong at the root, e.g. "failed". */
  rootReason: string;
  /** Every distinct root cause, when the task waits on more than one broken branch. */
  roots: string[];
  message: string;
}

function describeRoot(state: TaskState, type: DependencyType): string {
  if (state === 'done_with_warnings')
    return `finished with warnings, which a ${type} dependency does not accept (waive or rerun it)`;
  return state === 'failed' ? 'failed' : 'is blocked';
}

function analyse(g: Indexed, state: TaskState[]): (BlockedTask | undefined)[] {
  const blocked: (BlockedTask | undefined)[] = g.nodes.map(() => undefined);
  for (const i of g.order) {
    if (state[i] !== 'pending' && state[i] !== 'running') continue;
    let first: { chain: string[]; root: string; rootState: TaskState; why: string } | undefined;
    const roots = new Set<string>();
    for (const p of g.preds[i]) {
      // A running task already passed its start gates; only a finish-to-finish predecessor can still hold it.
      if (state[i] === 'running' && p.type !== 'FF') continue;
      const pid = g.nodes[p.at].id;
      const upstream = blocked[p.at];
      if (predecessorStatus(state[p.at], p.type) === 'never') {
        roots.add(pid);
        first ??= { chain: [pid], root: pid, rootState: state[p.at], why: describeRoot(state[p.at], p.type) };
      } else if (upstream) {
        upstream.roots.forEach((r) => roots.add(r));
        first ??= {
          chain: [pid, ...upstream.chain],
          root: upstream.root,
          rootState: upstream.rootState,
          why: upstream.rootReason,
        };
      }
    }
    if (!first) continue;
    const id = g.nodes[i].id;
    const cannot = state[i] === 'running' ? 'finish' : 'start';
    blocked[i] = {
      task: id,
      cannot,
      chain: first.chain,
      root: first.root,
      rootState: first.rootState,
      rootReason: first.why,
      roots: [...roots],
      message: `"${id}" cannot ${cannot}: it waits for ${first.chain.map((c) => `"${c}"`).join(', which waits for ')}, which ${first.why}`,
    };
  }
  return blocked;
}

/** Tasks whose dependencies can no longer be met, each with the chain of reasons; in dependency order. */
export function blockedBy(plan: GraphPlan, states: TaskStates): BlockedTask[] {
  const g = indexPlan(plan);
  return blockedList(g, analyse(g, stateOf(g, states)));
}

function blockedList(g: Indexed, blocked: (BlockedTask | undefined)[]): BlockedTask[] {
  return g.order.map((i) => blocked[i]).filter((b): b is BlockedTask => b !== undefined);
}

/** Pending tasks whose start conditions are all met, ignoring the parallelism limit; critical work first. */
export function eligibleTasks(plan: GraphPlan, states: TaskStates): string[] {
  const g = indexPlan(plan);
  const state = stateOf(g, states);
  return eligible(g, state, analyse(g, state)).map((i) => g.nodes[i].id);
}

function eligible(g: Indexed, state: TaskState[], blocked: (BlockedTask | undefined)[]): number[] {
  const tail = tailLengths(g);
  return g.nodes
    .map((_, i) => i)
    .filter(
      (i) =>
        state[i] === 'pending' &&
        !blocked[i] &&
        g.preds[i].every((p) => p.type === 'FF' || predecessorStatus(state[p.at], p.type) === 'met'),
    )
    .sort((a, b) => tail[b] - tail[a] || a - b);
}

/** Longest expected time from a task's start to the end of the close along its successors. */
function tailLengths(g: Indexed): number[] {
  const tail = g.durations.slice();
  for (let k = g.order.length - 1; k >= 0; k--) {
    const v = g.order[k];
    for (const s of g.successors[v]) tail[v] = Math.max(tail[v], g.durations[v] + tail[s]);
  }
  return tail;
}

/**
 * The tasks to start now: eligible tasks (all start dependencies met, nothing upstream broken), longest remaining
 * chain of work first so the critical path is never starved, capped so that running + started <= maxParallel.
 */
export function readyTasks(plan: GraphPlan, states: TaskStates): string[] {
  const g = indexPlan(plan);
  const state = stateOf(g, states);
  return readyOf(g, state, analyse(g, state), plan.maxParallel);
}

function readyOf(
  g: Indexed,
  state: TaskState[],
  blocked: (BlockedTask | undefined)[],
  maxParallel: number | undefined,
): string[] {
  const ready = eligible(g, state, blocked);
  const running = state.filter((s) => s === 'running').length;
  const slots = maxParallel === undefined ? ready.length : Math.max(0, maxParallel - running);
  return ready.slice(0, slots).map((i) => g.nodes[i].id);
}

/** Finish-to-finish predecessors that have not yet finished cleanly: the task may not be marked done before them. */
export function finishBlockers(plan: GraphPlan, states: TaskStates, taskId: string): string[] {
  const g = indexPlan(plan);
  const state = stateOf(g, states);
  const i = g.position.get(taskId);
  if (i === undefined)
    throw new TaskGraphError([{ code: 'unknown_task', path: [], message: `unknown task "${taskId}"` }]);
  return g.preds[i]
    .filter((p) => p.type === 'FF' && predecessorStatus(state[p.at], p.type) !== 'met')
    .map((p) => g.nodes[p.at].id);
}

export interface PercentDone {
  finished: number;
  total: number;
  /** Whole percent, rounded down: 100 only when everything is finished. */
  percent: number;
}

/**
 * Share of tasks finished (done, done with warnings, skipped or waived). With `weighted`, tasks weigh their
 * expected duration (a task with none weighs nothing unless no task has one, then all weigh the same).
 */
export function percentDone(plan: GraphPlan, states: TaskStates, opts: { weighted?: boolean } = {}): PercentDone {
  const g = indexPlan(plan);
  return percentOf(g, stateOf(g, states), opts);
}

function percentOf(g: Indexed, state: TaskState[], opts: { weighted?: boolean }): PercentDone {
  const useDurations = opts.weighted === true && g.durations.some((d) => d > 0);
  const weight = (i: number) => (useDurations ? g.durations[i] : 1);
  let finished = 0;
  let total = 0;
  state.forEach((s, i) => {
    total += weight(i);
    if (isFinished(s)) finished += weight(i);
  });
  return { finished, total, percent: Math.floor((finished * 100) / total) };
}

export interface ScheduleOptions {
  /** Epoch milliseconds (the workflow clock). */
  now: number;
  states?: TaskStates;
  /** When running tasks started, epoch ms; a running task without one is taken to start now. */
  startedAt?: Readonly<Record<string, number>>;
  /** Per-task deadlines, epoch ms (resolveDeadline(...).dueAtMs). */
  deadlines?: Readonly<Record<string, number>>;
  /** The close's own deadline, which every task must meet. */
  closeDeadline?: number;
  /** A task is at risk when its slack against a deadline is at most this, ms; default 0. */
  atRiskMargin?: number;
}

export interface TaskSchedule {
  id: string;
  state: TaskState;
  earliestStart: number;
  earliestFinish: number;
  /** Latest finish that keeps every deadline and the projected end; null for finished tasks. */
  latestFinish: number | null;
  slack: number | null;
  critical: boolean;
  /** Not finished, not yet late, and no more slack against a deadline than atRiskMargin. */
  atRisk: boolean;
  /** Not finished and its own deadline (or the close's) has passed. */
  late: boolean;
}

export interface Schedule {
  tasks: TaskSchedule[];
  /** Unfinished tasks, in order, that set the projected end; empty when everything is finished. */
  criticalPath: string[];
  projectedEnd: number;
}

/**
 * Critical-path scheduling on expected durations from `now`. Finished tasks take no more time; running tasks
 * end at start + duration (or now, if overdue); failed and blocked tasks are planned as if rerun from scratch.
 * FS/SS_WARN: a task starts after its predecessor's finish; FF: it finishes no earlier than the predecessor.
 */
export function schedule(plan: GraphPlan, opts: ScheduleOptions): Schedule {
  const g = indexPlan(plan);
  return scheduleOf(g, stateOf(g, opts.states ?? {}), opts);
}

function scheduleOf(g: Indexed, state: TaskState[], opts: ScheduleOptions): Schedule {
  const n = g.nodes.length;
  const now = opts.now;
  const es = new Array<number>(n).fill(now);
  const ef = new Array<number>(n).fill(now);
  const dur = g.durations.map((d, i) => (isFinished(state[i]) ? 0 : d));
  for (const i of g.order) {
    if (isFinished(state[i])) continue;
    if (state[i] === 'running') {
      es[i] = opts.startedAt?.[g.nodes[i].id] ?? now;
      ef[i] = Math.max(now, es[i] + dur[i]);
    } else {
      for (const p of g.preds[i]) if (p.type !== 'FF') es[i] = Math.max(es[i], ef[p.at]);
      ef[i] = es[i] + dur[i];
    }
    for (const p of g.preds[i]) if (p.type === 'FF') ef[i] = Math.max(ef[i], ef[p.at]);
  }
  const unfinished = g.order.filter((i) => !isFinished(state[i]));
  const projectedEnd = unfinished.reduce((m, i) => Math.max(m, ef[i]), now);

  const deadlineOf = (i: number) =>
    Math.min(opts.deadlines?.[g.nodes[i].id] ?? Infinity, opts.closeDeadline ?? Infinity);
  const lfProject = new Array<number>(n).fill(projectedEnd);
  const lfDeadline = g.nodes.map((_, i) => deadlineOf(i));
  for (let k = g.order.length - 1; k >= 0; k--) {
    const v = g.order[k];
    for (const s of g.successors[v]) {
      if (isFinished(state[s])) continue;
      const type = g.preds[s].find((p) => p.at === v)?.type;
      const shift = type === 'FF' ? 0 : dur[s];
      lfProject[v] = Math.min(lfProject[v], lfProject[s] - shift);
      lfDeadline[v] = Math.min(lfDeadline[v], lfDeadline[s] - shift);
    }
  }

  const critical = new Set<number>();
  if (unfinished.length) {
    let at: number | undefined = unfinished.reduce((best, i) => (ef[i] > ef[best] ? i : best), unfinished[0]);
    while (at !== undefined) {
      critical.add(at);
      const v: number = at;
      at = g.preds[v].find(
        (p) =>
          !isFinished(state[p.at]) &&
          (p.type === 'FF' ? ef[p.at] === ef[v] && ef[v] > es[v] + dur[v] : ef[p.at] === es[v] && es[v] > now),
      )?.at;
    }
  }
  const margin = opts.atRiskMargin ?? 0;
  const tasks = g.nodes.map((node, i): TaskSchedule => {
    const finished = isFinished(state[i]);
    const latest = finished ? null : Math.min(lfProject[i], lfDeadline[i]);
    const late = !finished && deadlineOf(i) <= now;
    return {
      id: node.id,
      state: state[i],
      earliestStart: es[i],
      earliestFinish: ef[i],
      latestFinish: latest,
      slack: latest === null ? null : latest - ef[i],
      critical: critical.has(i),
      atRisk: !finished && !late && Number.isFinite(lfDeadline[i]) && lfDeadline[i] - ef[i] <= margin,
      late,
    };
  });
  const criticalPath = g.order.filter((i) => critical.has(i)).map((i) => g.nodes[i].id);
  return { tasks, criticalPath, projectedEnd };
}

export interface GraphStatus {
  ready: string[];
  blocked: BlockedTask[];
  percent: PercentDone;
  schedule: Schedule;
}

/**
 * readyTasks, blockedBy, percentDone and schedule in one pass over the graph: what a `status` query needs,
 * at the cost of indexing and validating the plan once instead of four times.
 */
export function graphStatus(plan: GraphPlan, opts: ScheduleOptions & { weighted?: boolean }): GraphStatus {
  const g = indexPlan(plan);
  const state = stateOf(g, opts.states ?? {});
  const blocked = analyse(g, state);
  return {
    ready: readyOf(g, state, blocked, plan.maxParallel),
    blocked: blockedList(g, blocked),
    percent: percentOf(g, state, opts),
    schedule: scheduleOf(g, state, opts),
  };
}
