// The status table of a close, as rows of text: the same rows in the report (Markdown, HTML) and in
// `finflow close status`, so what a controller reads on screen is what the report keeps.
import type { ReportStatus, ReportTask } from './model';

export const STATUS_COLUMNS = [
  'task',
  'kind',
  'owner',
  'state',
  'deadline',
  'late/at-risk',
  'blockers',
  'critical',
] as const;
export type StatusRow = Record<(typeof STATUS_COLUMNS)[number], string>;

/** "2026-11-03T23:59:00.000Z" -> "2026-11-03 23:59Z": short enough for a terminal, still unambiguous. */
export function shortTime(iso: string | undefined): string {
  if (!iso) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(iso);
  return m ? `${m[1]} ${m[2]}${m[3]}` : iso;
}

/** Why a task cannot go on: its own reason when blocked/failed, else the close's blocker entry for it. */
export function blockersOf(task: ReportTask, status: ReportStatus): string {
  const own = task.blockedReason ?? (task.state === 'blocked' || task.state === 'failed' ? task.reason : undefined);
  if (own) return own;
  for (const b of status.blockers ?? []) {
    if (typeof b !== 'object' || b === null) continue;
    const r = b as { task?: string; root?: string; message?: string };
    if (r.task !== task.id) continue;
    return r.message ?? (r.root && r.root !== task.id ? `waits on ${r.root}` : 'blocked');
  }
  return '';
}

export function statusRows(status: ReportStatus): StatusRow[] {
  const critical = new Set(status.criticalPath ?? []);
  return status.tasks.map((t) => ({
    task: t.id,
    kind: t.kind,
    owner: [t.owner, t.ownerRole && t.ownerRole !== t.owner ? `(${t.ownerRole})` : ''].filter(Boolean).join(' '),
    state: t.state + (t.attempts && t.attempts > 1 ? ` x${t.attempts}` : ''),
    deadline: shortTime(t.deadline),
    'late/at-risk': t.late ? 'LATE' : t.atRisk ? 'at risk' : '',
    blockers: blockersOf(t, status),
    critical: critical.has(t.id) ? '*' : '',
  }));
}

/** Fixed-width text table (no colours: it goes to logs and CI output as well as terminals). */
export function textTable(rows: readonly StatusRow[], maxWidth = 48): string {
  const clip = (s: string) => (s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}~` : s);
  const widths = STATUS_COLUMNS.map((c) => Math.max(c.length, ...rows.map((r) => clip(r[c]).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => clip(c).padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [
    line(STATUS_COLUMNS),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(STATUS_COLUMNS.map((c) => r[c]))),
  ].join('\n');
}
