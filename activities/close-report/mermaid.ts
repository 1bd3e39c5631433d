// Mermaid pictures of a close: a Gantt chart (what ran when, what is planned) and the dependency graph. Mermaid
// is text, so the pictures live in the Markdown report (GitHub, GitLab and most wikis draw them) and are diffable.
// Task ids and names come from a plan someone wrote: they are reduced to what Mermaid's grammar cannot misread.
import { KIND_TITLES } from './gantt-layout';
import { bars, dependencies, isFinishedState, type ReportStatus } from './model';

/** Mermaid ids: letters, digits and underscores; distinct per task even when two task ids reduce alike. */
export function mermaidIds(taskIds: readonly string[], prefix: string): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const id of taskIds) {
    const base = `${prefix}${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
    let candidate = base;
    for (let n = 2; used.has(candidate); n++) candidate = `${base}_${n}`;
    used.add(candidate);
    out.set(id, candidate);
  }
  return out;
}

/** A Gantt task name ends at ':' and a line at ';' or a newline; '#' starts an entity. */
function ganttText(s: string): string {
  return s
    .replace(/[:;#\r\n\t]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Text inside a quoted flowchart label: quotes and markup become Mermaid entity codes. */
function labelText(s: string): string {
  return s
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/#/g, '#35;')
    .replace(/"/g, '#quot;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;');
}

const pad = (n: number) => String(n).padStart(2, '0');
/** UTC wall time in the chart's dateFormat; the chart shows UTC whatever the reader's zone. */
export function ganttTime(epochMs: number): string {
  const d = new Date(epochMs);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/**
 * The close as a Gantt chart, one section per task kind (in the order kinds first appear). Tags: done (finished),
 * active (running), crit (on the critical path, or late/blocked), milestone (no duration).
 */
export function closeGantt(status: ReportStatus): string {
  const ids = mermaidIds(
    status.tasks.map((t) => t.id),
    't_',
  );
  const critical = new Set(status.criticalPath ?? []);
  const barOf = new Map(bars(status).map((b) => [b.id, b]));
  const lines = [
    'gantt',
    `    title ${ganttText(`Close ${status.company} ${status.period} (${status.state}, ${status.percentDone}% done)`)}`,
    '    dateFormat YYYY-MM-DD HH:mm:ss',
    '    axisFormat %d %b %H:%M',
    '    todayMarker off',
  ];
  const kinds = [...new Set(status.tasks.map((t) => t.kind))];
  for (const kind of kinds) {
    lines.push(`    section ${ganttText(KIND_TITLES[kind] ?? kind)}`);
    for (const t of status.tasks.filter((x) => x.kind === kind)) {
      const b = barOf.get(t.id)!;
      const tags: string[] = [];
      if (isFinishedState(t.state)) tags.push('done');
      else if (t.state === 'running') tags.push('active');
      if (critical.has(t.id) || t.late || t.state === 'blocked' || t.state === 'failed') tags.push('crit');
      if (b.end === b.start) tags.push('milestone');
      const name = ganttText(t.name && t.name !== t.id ? `${t.name} (${t.id})` : t.id) || ids.get(t.id)!;
      lines.push(`    ${name} : ${[...tags, ids.get(t.id)!, ganttTime(b.start), ganttTime(b.end)].join(', ')}`);
    }
  }
  return lines.join('\n');
}

const STATE_CLASSES: Record<string, string> = {
  done: 'done',
  done_with_exceptions: 'warn',
  done_with_warnings: 'warn',
  skipped: 'skipped',
  waived: 'skipped',
  running: 'running',
  blocked: 'blocked',
  failed: 'blocked',
  pending: 'pending',
};

/**
 * The dependency graph, left to right. Edges: FS plain, SS_WARN dotted (starts even after warnings), FF labelled
 * (finish after finish). Nodes are coloured by state; the critical path has a thick border.
 */
export function closeDependencyGraph(status: ReportStatus): string {
  const ids = mermaidIds(
    status.tasks.map((t) => t.id),
    'n_',
  );
  const critical = new Set(status.criticalPath ?? []);
  const lines = ['flowchart LR'];
  for (const t of status.tasks) {
    const flags = [t.late ? 'LATE' : '', t.atRisk ? 'at risk' : ''].filter(Boolean).join(', ');
    const label = [t.id, t.name && t.name !== t.id ? t.name : '', `${t.state}${flags ? ` (${flags})` : ''}`]
      .filter(Boolean)
      .map(labelText)
      .join('<br/>');
    lines.push(`    ${ids.get(t.id)!}["${label}"]`);
  }
  for (const d of dependencies(status.tasks)) {
    const from = ids.get(d.from);
    const to = ids.get(d.to);
    // A predecessor the status does not list cannot be drawn; the plan check at start makes this unreachable.
    if (!from || !to) continue;
    const arrow = d.type === 'SS_WARN' ? '-.->|SS_WARN|' : d.type === 'FF' ? '-->|FF|' : '-->';
    lines.push(`    ${from} ${arrow} ${to}`);
  }
  lines.push(
    '    classDef done fill:#d8f0dc,stroke:#2e7d32',
    '    classDef warn fill:#fff4d6,stroke:#b7791f',
    '    classDef skipped fill:#eeeeee,stroke:#777777,stroke-dasharray:4',
    '    classDef running fill:#dbeafe,stroke:#1d4ed8',
    '    classDef blocked fill:#fde2e2,stroke:#c62828',
    '    classDef pending fill:#ffffff,stroke:#999999',
    '    classDef critical stroke-width:4px',
  );
  const byClass = new Map<string, string[]>();
  for (const t of status.tasks) {
    const cls = STATE_CLASSES[t.state] ?? 'pending';
    byClass.set(cls, [...(byClass.get(cls) ?? []), ids.get(t.id)!]);
  }
  for (const [cls, members] of byClass) lines.push(`    class ${members.join(',')} ${cls}`);
  const crit = status.tasks.filter((t) => critical.has(t.id)).map((t) => ids.get(t.id)!);
  if (crit.length) lines.push(`    class ${crit.join(',')} critical`);
  return lines.join('\n');
}
