// Geometry of the close's Gantt chart, as plain numbers: where each section, bar, deadline and the "as of" line
// go. Pure (no clock, no DOM): the same status gives the same picture, and the geometry is tested on its own;
// svg.ts only turns it into markup.
import { asOf, bars, plannedWindows, type Bar, type ReportStatus } from './model';

export const KIND_TITLES: Record<string, string> = {
  manual: 'Manual',
  reconciliation: 'Reconciliations',
  approval: 'Approvals',
  journal_entry: 'Journal entries',
  documentation: 'Documentation',
  report: 'Reports',
  activity: 'Automated steps',
};

export interface GanttRow {
  taskId: string;
  label: string;
  /** Top of the row. */
  y: number;
  bar: { x: number; width: number; y: number; height: number };
  basis: Bar['basis'];
  state: string;
  late: boolean;
  critical: boolean;
  /** Where the task's deadline falls, when it has one. */
  deadlineX?: number;
  /**
   * The plan beside what happened: a thin strip under the bar of a task that ran or runs, from where the plan put
   * it (see plannedWindows); absent for a task not started (its bar is the plan) or whose plan says nothing.
   */
  plan?: { x: number; width: number; y: number; height: number; start: number; end: number };
  start: number;
  end: number;
  deadline?: number;
}

export interface GanttSection {
  title: string;
  y: number;
  height: number;
}

export interface GanttLayout {
  width: number;
  height: number;
  /** Left edge and right edge of the time axis (the label column is left of it). */
  plotLeft: number;
  plotRight: number;
  axisY: number;
  t0: number;
  t1: number;
  ticks: { x: number; label: string }[];
  sections: GanttSection[];
  rows: GanttRow[];
  /** The moment the report describes (from the status, not the clock). */
  now: { x: number; at: number };
}

export const GANTT = {
  rowHeight: 22,
  barHeight: 14,
  sectionHeight: 20,
  axisHeight: 28,
  charWidth: 6.6,
  labelPad: 16,
  plotWidth: 760,
  minBarWidth: 3,
  planHeight: 3,
  margin: 8,
} as const;

const HOUR = 3_600_000;
const TICK_STEPS = [
  5 * 60_000,
  15 * 60_000,
  30 * 60_000,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  24 * HOUR,
  2 * 24 * HOUR,
  7 * 24 * HOUR,
  14 * 24 * HOUR,
  30 * 24 * HOUR,
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The smallest step that puts at most `maxTicks` ticks on the span (the largest step if none does). */
export function tickStep(spanMs: number, maxTicks = 10): number {
  return TICK_STEPS.find((s) => spanMs / s <= maxTicks) ?? TICK_STEPS[TICK_STEPS.length - 1];
}

const pad = (n: number) => String(n).padStart(2, '0');
/** UTC, like every time in the report: "03 Nov" on day steps, "03 Nov 14:00" below. */
export function tickLabel(at: number, step: number): string {
  const d = new Date(at);
  const day = `${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]}`;
  return step >= 24 * HOUR ? day : `${day} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

export function ganttLabel(t: { id: string; name?: string }): string {
  return t.name && t.name !== t.id ? `${t.name} (${t.id})` : t.id;
}

function ms(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const v = Date.parse(iso);
  return Number.isNaN(v) ? undefined : v;
}

/**
 * Rows grouped in one section per task kind (kinds in the order they first appear), one bar per task. The time
 * axis spans every bar, every deadline and the "as of" moment, with a little room either side; a bar too short
 * to see gets a minimum width so that a task that ran in seconds is still there.
 */
export function ganttLayout(status: ReportStatus): GanttLayout {
  const G = GANTT;
  const now = asOf(status);
  const barOf = new Map(bars(status).map((b) => [b.id, b]));
  const planOf = new Map(plannedWindows(status).map((w) => [w.id, w]));
  const critical = new Set(status.criticalPath ?? []);
  const labelWidth =
    Math.ceil(
      Math.max(
        ...status.tasks.map((t) => ganttLabel(t).length),
        ...Object.values(KIND_TITLES).map((s) => s.length),
        8,
      ) * G.charWidth,
    ) + G.labelPad;
  const plotLeft = G.margin + labelWidth;
  const plotRight = plotLeft + G.plotWidth;

  const times = [now];
  for (const t of status.tasks) {
    const b = barOf.get(t.id)!;
    times.push(b.start, b.end);
    const d = ms(t.deadline);
    if (d !== undefined) times.push(d);
    const p = b.basis !== 'planned' ? planOf.get(t.id) : undefined;
    if (p) times.push(p.start, p.end);
  }
  const closeDeadline = ms(status.closeDeadline);
  if (closeDeadline !== undefined) times.push(closeDeadline);
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (t1 - t0 < HOUR) t1 = t0 + HOUR;
  const room = (t1 - t0) * 0.03;
  t0 -= room;
  t1 += room;
  const x = (t: number) => plotLeft + ((t - t0) / (t1 - t0)) * (plotRight - plotLeft);

  const step = tickStep(t1 - t0);
  const ticks: GanttLayout['ticks'] = [];
  for (let at = Math.ceil(t0 / step) * step; at <= t1; at += step) ticks.push({ x: x(at), label: tickLabel(at, step) });

  const sections: GanttSection[] = [];
  const rows: GanttRow[] = [];
  let y = G.margin + G.axisHeight;
  const kinds = [...new Set(status.tasks.map((t) => t.kind))];
  for (const kind of kinds) {
    const members = status.tasks.filter((t) => t.kind === kind);
    sections.push({ title: KIND_TITLES[kind] ?? kind, y, height: G.sectionHeight + members.length * G.rowHeight });
    y += G.sectionHeight;
    for (const t of members) {
      const b = barOf.get(t.id)!;
      const bx = x(b.start);
      const width = Math.max(G.minBarWidth, x(b.end) - bx);
      const deadline = ms(t.deadline);
      const p = b.basis !== 'planned' ? planOf.get(t.id) : undefined;
      const barY = y + (G.rowHeight - G.barHeight) / 2;
      rows.push({
        taskId: t.id,
        label: ganttLabel(t),
        y,
        bar: { x: bx, width, y: barY, height: G.barHeight },
        ...(p
          ? {
              plan: {
                x: x(p.start),
                width: Math.max(G.minBarWidth, x(p.end) - x(p.start)),
                y: barY + G.barHeight + 1,
                height: G.planHeight,
                start: p.start,
                end: p.end,
              },
            }
          : {}),
        basis: b.basis,
        state: t.state,
        late: !!t.late,
        critical: critical.has(t.id),
        start: b.start,
        end: b.end,
        ...(deadline !== undefined ? { deadline, deadlineX: x(deadline) } : {}),
      });
      y += G.rowHeight;
    }
  }
  return {
    width: plotRight + G.margin + 60,
    height: y + G.margin,
    plotLeft,
    plotRight,
    axisY: G.margin + G.axisHeight,
    t0,
    t1,
    ticks,
    sections,
    rows,
    now: { x: x(now), at: now },
  };
}
