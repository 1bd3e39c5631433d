// The close's pictures as inline SVG, drawn by finflow itself: no script, no network, nothing for the reader's
// browser to fetch, so the report shows the same pictures offline, archived or printed. The geometry comes from
// gantt-layout.ts and graph-layout.ts; this file only writes markup.
import { ganttLayout, type GanttLayout } from './gantt-layout';
import { graphLayout, r, type GraphLayout } from './graph-layout';
import type { ReportStatus } from './model';
import { shortTime } from './table';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

export const STATE_FILL: Record<string, { fill: string; stroke: string }> = {
  done: { fill: '#9ad0a4', stroke: '#2e7d32' },
  done_with_exceptions: { fill: '#f5d58a', stroke: '#b7791f' },
  done_with_warnings: { fill: '#f5d58a', stroke: '#b7791f' },
  skipped: { fill: '#dddddd', stroke: '#777777' },
  waived: { fill: '#dddddd', stroke: '#777777' },
  running: { fill: '#93c5fd', stroke: '#1d4ed8' },
  blocked: { fill: '#f4a6a6', stroke: '#c62828' },
  failed: { fill: '#f4a6a6', stroke: '#c62828' },
  pending: { fill: '#ffffff', stroke: '#888888' },
};
export const LATE = { fill: '#e53935', stroke: '#b71c1c' };
const CRITICAL_STROKE = '#111111';
const colours = (state: string) => STATE_FILL[state] ?? STATE_FILL.pending;

const iso = (ms: number) => shortTime(new Date(ms).toISOString());

function legend(x: number, y: number, items: [string, string, string, string?][]): string {
  const out: string[] = [];
  let cx = x;
  for (const [label, fill, stroke, dash] of items) {
    out.push(
      `<rect x="${r(cx)}" y="${r(y - 9)}" width="14" height="10" fill="${fill}" stroke="${stroke}"${dash ? ` stroke-dasharray="${dash}"` : ''} stroke-width="${stroke === CRITICAL_STROKE ? 2.5 : 1}"/>`,
      `<text x="${r(cx + 18)}" y="${r(y)}">${esc(label)}</text>`,
    );
    cx += 26 + label.length * 6.2;
  }
  return out.join('');
}

/** The Gantt chart: one `rect.bar` per task, a dashed line at the "as of" moment, a tick at each deadline. */
export function ganttSvg(status: ReportStatus, layout: GanttLayout = ganttLayout(status)): string {
  const L = layout;
  const legendY = L.height + 16;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="gantt" role="img" style="max-width:100%;height:auto" width="${r(L.width)}" height="${r(legendY + 8)}" viewBox="0 0 ${r(L.width)} ${r(legendY + 8)}" font-family="system-ui,sans-serif" font-size="11">`,
    `<title>${esc(`Timeline of close ${status.company} ${status.period}`)}</title>`,
  ];
  L.sections.forEach((s, i) => {
    if (i % 2 === 0)
      out.push(`<rect x="0" y="${r(s.y)}" width="${r(L.width)}" height="${r(s.height)}" fill="#f6f7f9"/>`);
    out.push(`<text x="8" y="${r(s.y + 14)}" font-weight="600">${esc(s.title)}</text>`);
  });
  for (const t of L.ticks)
    out.push(
      `<line x1="${r(t.x)}" y1="${r(L.axisY)}" x2="${r(t.x)}" y2="${r(L.height)}" stroke="#e2e2e2"/>`,
      `<text x="${r(t.x)}" y="${r(L.axisY - 8)}" text-anchor="middle" fill="#555">${esc(t.label)}</text>`,
    );
  out.push(`<line x1="${r(L.plotLeft)}" y1="${r(L.axisY)}" x2="${r(L.plotRight)}" y2="${r(L.axisY)}" stroke="#999"/>`);
  for (const row of L.rows) {
    const c = row.late ? LATE : colours(row.state);
    const b = row.bar;
    const dash = row.basis === 'planned' ? ' stroke-dasharray="4 2"' : '';
    const opacity = row.basis === 'planned' ? ' fill-opacity="0.55"' : '';
    const what =
      `${row.label}: ${row.state}${row.late ? ', LATE' : ''}${row.critical ? ', critical path' : ''}; ` +
      `${row.basis === 'actual' ? 'ran' : row.basis === 'running' ? 'running' : 'planned'} ${iso(row.start)} to ${iso(row.end)}` +
      (row.deadline !== undefined ? `; deadline ${iso(row.deadline)}` : '');
    out.push(
      `<text x="${r(L.plotLeft - 8)}" y="${r(row.y + 15)}" text-anchor="end"${row.late ? ` fill="${LATE.stroke}" font-weight="600"` : ''}>${esc(row.label)}</text>`,
      `<rect class="bar${row.late ? ' late' : ''}${row.critical ? ' critical' : ''}" data-task="${esc(row.taskId)}" data-basis="${row.basis}" x="${r(b.x)}" y="${r(b.y)}" width="${r(b.width)}" height="${r(b.height)}" rx="2" fill="${c.fill}"${opacity} stroke="${row.critical ? CRITICAL_STROKE : c.stroke}" stroke-width="${row.critical ? 2.5 : 1}"${dash}><title>${esc(what)}</title></rect>`,
    );
    if (row.plan)
      out.push(
        `<rect class="plan" data-task="${esc(row.taskId)}" x="${r(row.plan.x)}" y="${r(row.plan.y)}" width="${r(row.plan.width)}" height="${r(row.plan.height)}" fill="#555"><title>${esc(`${row.label}: planned ${iso(row.plan.start)} to ${iso(row.plan.end)}`)}</title></rect>`,
      );
    if (row.deadlineX !== undefined)
      out.push(
        `<path class="deadline" d="M${r(row.deadlineX)},${r(b.y - 3)} l4,-4 l-8,0 z M${r(row.deadlineX)},${r(b.y - 3)} L${r(row.deadlineX)},${r(b.y + b.height + 2)}" fill="#444" stroke="#444"><title>${esc(`deadline ${iso(row.deadline!)}`)}</title></path>`,
      );
  }
  out.push(
    `<line class="now" x1="${r(L.now.x)}" y1="${r(L.axisY - 4)}" x2="${r(L.now.x)}" y2="${r(L.height)}" stroke="#1d4ed8" stroke-width="1.5" stroke-dasharray="5 3"/>`,
    // The label sits on whichever side of the line has room for it.
    L.now.x > L.plotRight - 130
      ? `<text x="${r(L.now.x - 4)}" y="${r(L.height - 4)}" text-anchor="end" fill="#1d4ed8">${esc(`as of ${iso(L.now.at)}`)}</text>`
      : `<text x="${r(L.now.x + 4)}" y="${r(L.height - 4)}" fill="#1d4ed8">${esc(`as of ${iso(L.now.at)}`)}</text>`,
    `<g font-size="10">${legend(8, legendY, [
      ['done', STATE_FILL.done.fill, STATE_FILL.done.stroke],
      ['with exceptions', STATE_FILL.done_with_exceptions.fill, STATE_FILL.done_with_exceptions.stroke],
      ['running', STATE_FILL.running.fill, STATE_FILL.running.stroke],
      ['planned', '#ffffff', '#888888', '4 2'],
      ['plan of a task that ran', '#555555', '#555555'],
      ['late', LATE.fill, LATE.stroke],
      ['critical path', '#ffffff', CRITICAL_STROKE],
    ])}<path d="M${r(L.plotRight - 150)},${r(legendY - 6)} l4,-4 l-8,0 z M${r(L.plotRight - 150)},${r(legendY - 6)} L${r(L.plotRight - 150)},${r(legendY + 2)}" fill="#444" stroke="#444"/><text x="${r(L.plotRight - 140)}" y="${r(legendY)}">deadline (times UTC)</text></g>`,
    '</svg>',
  );
  return out.join('\n');
}

/** The dependency graph: one `g.node` per task, one `path.edge` per dependency, arrows pointing right. */
export function graphSvg(status: ReportStatus, layout: GraphLayout = graphLayout(status)): string {
  const L = layout;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="dag" role="img" style="max-width:100%;height:auto" width="${r(L.width)}" height="${r(L.height)}" viewBox="0 0 ${r(L.width)} ${r(L.height)}" font-family="system-ui,sans-serif" font-size="11">`,
    `<title>${esc(`Task dependencies of close ${status.company} ${status.period}`)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
  ];
  for (const e of L.edges) {
    const dash = e.type === 'SS_WARN' ? ' stroke-dasharray="5 3"' : '';
    out.push(
      `<path class="edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}" d="${e.path}" fill="none" stroke="${e.critical ? CRITICAL_STROKE : '#777'}" stroke-width="${e.critical ? 2.2 : 1.2}"${dash} marker-end="url(#arrow)"/>`,
    );
    if (e.type !== 'FS')
      out.push(
        `<text x="${e.labelAt.x}" y="${e.labelAt.y}" text-anchor="middle" font-size="9" fill="#555">${esc(e.type)}</text>`,
      );
  }
  for (const n of L.nodes) {
    const c = n.late ? LATE : colours(n.state);
    const fill = n.late ? '#fbd4d4' : c.fill;
    out.push(
      `<g class="node${n.critical ? ' critical' : ''}${n.late ? ' late' : ''}" data-task="${esc(n.taskId)}">`,
      `<rect x="${r(n.x)}" y="${r(n.y)}" width="${r(n.width)}" height="${r(n.height)}" rx="5" fill="${fill}" stroke="${n.critical ? CRITICAL_STROKE : c.stroke}" stroke-width="${n.critical ? 3 : 1.2}"${n.state === 'skipped' || n.state === 'waived' ? ' stroke-dasharray="4 2"' : ''}/>`,
      ...n.lines.map(
        (line, i) =>
          `<text x="${r(n.x + 7)}" y="${r(n.y + 7 + 10 + i * 13)}"${i === 0 ? ' font-weight="600"' : ''}${i === n.lines.length - 1 && n.late ? ` fill="${LATE.stroke}"` : ''}>${esc(line)}</text>`,
      ),
      '</g>',
    );
  }
  out.push('</svg>');
  return out.join('\n');
}
