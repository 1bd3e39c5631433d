// What the close report reads from a close's `status`. Structural, with every field past the original slice's
// optional, so a status from an older close (or a newer one with more fields) still makes a report.
import { durationMs } from '../../domain/duration';
import type { ReconciliationSummary } from '../../contracts';

export type ReportPredecessor = string | { task: string; type?: string };

export interface ReportTask {
  id: string;
  name?: string;
  kind: string;
  state: string;
  ownerRole?: string;
  owner?: string;
  deadline?: string;
  late?: boolean;
  atRisk?: boolean;
  attempts?: number;
  reason?: string;
  blockedReason?: string;
  startedAt?: string;
  finishedAt?: string;
  /** "2h", "1d": used to plan tasks that have not run yet. */
  expectedDuration?: string;
  predecessors?: ReportPredecessor[];
  result?: ReconciliationSummary;
}

export interface ReportJournalEntry {
  at: string;
  by: string;
  action: string;
  taskId?: string;
  reason?: string;
}

export interface ReportStatus {
  closeId: string;
  company: string;
  period: string;
  state: string;
  percentDone: number;
  tasks: ReportTask[];
  closeDeadline?: string;
  criticalPath?: string[];
  blockers?: unknown[];
  paused?: boolean;
  journal?: ReportJournalEntry[];
  checkpoints?: { checkpointId: string; state: string }[];
}

export interface Dependency {
  from: string;
  to: string;
  type: string;
}

export function dependencies(tasks: readonly ReportTask[]): Dependency[] {
  return tasks.flatMap((t) =>
    (t.predecessors ?? []).map((p) =>
      typeof p === 'string' ? { from: p, to: t.id, type: 'FS' } : { from: p.task, to: t.id, type: p.type ?? 'FS' },
    ),
  );
}

const FINISHED = new Set(['done', 'done_with_exceptions', 'done_with_warnings', 'skipped', 'waived']);
export const isFinishedState = (state: string): boolean => FINISHED.has(state);

export interface Bar {
  id: string;
  /** Epoch ms. */
  start: number;
  end: number;
  /** actual: ran (start and finish known); running: started, finish projected; planned: not started. */
  basis: 'actual' | 'running' | 'planned';
}

const MINUTE = 60_000;
/** A task with no expected duration and no deadline still needs a visible bar; an hour reads as "short". */
const DEFAULT_PLANNED_MS = 60 * MINUTE;

function ms(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

function expectedMs(t: ReportTask): number | undefined {
  if (!t.expectedDuration) return undefined;
  try {
    return durationMs(t.expectedDuration);
  } catch {
    return undefined;
  }
}

/**
 * The moment the report describes: the latest time any task started or finished, or the close's deadline's
 * eve when nothing ran yet. Taken from the status, never the clock, so the same status gives the same report.
 */
export function asOf(status: ReportStatus): number {
  let latest = -Infinity;
  for (const t of status.tasks)
    for (const v of [ms(t.startedAt), ms(t.finishedAt)]) if (v !== undefined && v > latest) latest = v;
  for (const j of status.journal ?? []) {
    const v = ms(j.at);
    if (v !== undefined && v > latest) latest = v;
  }
  if (Number.isFinite(latest)) return latest;
  const deadlines = status.tasks.map((t) => ms(t.deadline)).filter((v): v is number => v !== undefined);
  const first = ms(status.closeDeadline) ?? (deadlines.length ? Math.min(...deadlines) : undefined);
  return first !== undefined ? first - 24 * 60 * MINUTE : 0;
}

/**
 * One bar per task, in the tasks' order: what ran as it ran; a running task to now or its expected end; a task
 * not started from the latest end of its predecessors (or now), for its expected duration, else up to its
 * deadline, else an hour. FF predecessors hold back the end, not the start.
 */
export function bars(status: ReportStatus): Bar[] {
  const now = asOf(status);
  const byId = new Map(status.tasks.map((t) => [t.id, t]));
  const deps = dependencies(status.tasks);
  const preds = new Map<string, Dependency[]>();
  for (const d of deps) preds.set(d.to, [...(preds.get(d.to) ?? []), d]);
  const memo = new Map<string, Bar>();
  const visiting = new Set<string>();

  const bar = (id: string): Bar => {
    const known = memo.get(id);
    if (known) return known;
    const t = byId.get(id) as ReportTask;
    // A cycle cannot reach a running close (the plan is refused at start); guard anyway rather than recurse forever.
    visiting.add(id);
    const predBars = (preds.get(id) ?? [])
      .filter((d) => byId.has(d.from) && !visiting.has(d.from))
      .map((d) => ({ d, b: bar(d.from) }));
    visiting.delete(id);
    const started = ms(t.startedAt);
    const finished = ms(t.finishedAt);
    const expected = expectedMs(t);
    let result: Bar;
    if (finished !== undefined && isFinishedState(t.state))
      // A skipped or waived task may never have started: it shows as a point at the moment it was settled.
      result = { id, start: started ?? finished, end: Math.max(finished, started ?? finished), basis: 'actual' };
    else if (started !== undefined && (t.state === 'running' || finished === undefined))
      result = { id, start: started, end: Math.max(now, started + (expected ?? 0)), basis: 'running' };
    else {
      let start = now;
      for (const { d, b } of predBars) if (d.type !== 'FF') start = Math.max(start, b.end);
      const deadline = ms(t.deadline);
      let end =
        expected !== undefined
          ? start + expected
          : deadline !== undefined && deadline > start
            ? deadline
            : start + DEFAULT_PLANNED_MS;
      for (const { d, b } of predBars) if (d.type === 'FF') end = Math.max(end, b.end);
      result = { id, start, end, basis: 'planned' };
    }
    memo.set(id, result);
    return result;
  };
  return status.tasks.map((t) => bar(t.id));
}

export interface PlannedWindow {
  id: string;
  start: number;
  end: number;
}

/**
 * The plan, for comparing with what happened. A task with a deadline was planned to finish at its deadline, after
 * its expected duration (else an hour): the latest schedule that keeps the close calendar, so a bar right of its
 * plan ran late and one left of it early. A task without a deadline follows its predecessors' plans from the moment
 * the close's first task started, for its expected duration; FF predecessors hold back its end. Only tasks whose
 * plan says something (an expected duration or a deadline) get a window; nothing is planned before the close started.
 */
export function plannedWindows(status: ReportStatus): PlannedWindow[] {
  const starts = status.tasks.map((t) => ms(t.startedAt)).filter((v): v is number => v !== undefined);
  if (starts.length === 0) return [];
  const closeStart = Math.min(...starts);
  const byId = new Map(status.tasks.map((t) => [t.id, t]));
  const preds = new Map<string, Dependency[]>();
  for (const d of dependencies(status.tasks)) preds.set(d.to, [...(preds.get(d.to) ?? []), d]);
  const memo = new Map<string, PlannedWindow>();
  const visiting = new Set<string>();
  const window = (id: string): PlannedWindow => {
    const known = memo.get(id);
    if (known) return known;
    const t = byId.get(id) as ReportTask;
    visiting.add(id);
    const before = (preds.get(id) ?? [])
      .filter((d) => byId.has(d.from) && !visiting.has(d.from))
      .map((d) => ({ d, w: window(d.from) }));
    visiting.delete(id);
    const expected = expectedMs(t);
    const deadline = ms(t.deadline);
    if (deadline !== undefined) {
      const result = { id, start: deadline - (expected ?? DEFAULT_PLANNED_MS), end: deadline };
      memo.set(id, result);
      return result;
    }
    let start = closeStart;
    for (const { d, w } of before) if (d.type !== 'FF') start = Math.max(start, w.end);
    let end = start + (expected ?? DEFAULT_PLANNED_MS);
    for (const { d, w } of before) if (d.type === 'FF') end = Math.max(end, w.end);
    const result = { id, start, end };
    memo.set(id, result);
    return result;
  };
  return status.tasks
    .filter((t) => expectedMs(t) !== undefined || ms(t.deadline) !== undefined)
    .map((t) => window(t.id));
}
