// The close report as Markdown (Mermaid blocks drawn by GitHub, GitLab, most wikis) and as one self-contained
// HTML file whose pictures are SVG drawn by finflow (svg.ts): the HTML loads no script and fetches nothing, so a
// report full of a company's figures shows its Gantt chart and dependency graph offline, archived or printed.
import { closeDependencyGraph, closeGantt } from './mermaid';
import { asOf, type ReportStatus } from './model';
import { ganttSvg, graphSvg } from './svg';
import { shortTime, STATUS_COLUMNS, statusRows } from './table';

/** Markdown table cells: a pipe would split the cell, a newline the row. */
const mdCell = (s: string) =>
  s
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');

const html = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

interface ReconRow {
  task: string;
  reconId: string;
  status: string;
  aRecords: string;
  aAmount: string;
  bRecords: string;
  bAmount: string;
  matched: string;
  mismatched: string;
  missingInA: string;
  missingInB: string;
  difference: string;
}

const RECON_HEAD = [
  'task',
  'reconciliation',
  'status',
  'A records',
  'A amount',
  'B records',
  'B amount',
  'matched',
  'amount mismatch',
  'missing in A',
  'missing in B',
  'difference',
];

/** Figures exactly as the reconciliation returned them (decimal strings): the report does no arithmetic on money. */
function reconRows(status: ReportStatus): ReconRow[] {
  return status.tasks.flatMap((t) =>
    t.result
      ? [
          {
            task: t.id,
            reconId: t.result.reconId,
            status: t.result.status,
            aRecords: String(t.result.a.records),
            aAmount: t.result.a.amount,
            bRecords: String(t.result.b.records),
            bAmount: t.result.b.amount,
            matched: String(t.result.keys.matched),
            mismatched: String(t.result.keys.amountMismatch),
            missingInA: String(t.result.keys.missingInA),
            missingInB: String(t.result.keys.missingInB),
            difference: t.result.difference,
          },
        ]
      : [],
  );
}

export function heading(status: ReportStatus): string[] {
  const lines = [
    `State: **${status.state}**${status.paused ? ' (paused)' : ''}, ${status.percentDone}% done, ` +
      `${status.tasks.length} tasks`,
    `As of: ${shortTime(new Date(asOf(status)).toISOString())}`,
  ];
  if (status.closeDeadline) lines.push(`Close deadline: ${shortTime(status.closeDeadline)}`);
  if (status.criticalPath?.length) lines.push(`Critical path: ${status.criticalPath.join(' -> ')}`);
  const late = status.tasks.filter((t) => t.late).map((t) => t.id);
  if (late.length) lines.push(`Late: ${late.join(', ')}`);
  return lines;
}

export function renderMarkdown(status: ReportStatus): string {
  const out: string[] = [`# Close report ${status.company} ${status.period}`, '', `Close \`${status.closeId}\``, ''];
  for (const l of heading(status)) out.push(`- ${l}`);
  out.push('', '## Timeline', '', '```mermaid', closeGantt(status), '```', '');
  out.push('## Dependencies', '', '```mermaid', closeDependencyGraph(status), '```', '');
  out.push('## Tasks', '');
  out.push(`| ${STATUS_COLUMNS.join(' | ')} |`, `| ${STATUS_COLUMNS.map(() => '---').join(' | ')} |`);
  for (const r of statusRows(status)) out.push(`| ${STATUS_COLUMNS.map((c) => mdCell(r[c])).join(' | ')} |`);
  const recon = reconRows(status);
  out.push('', '## Reconciliations', '');
  if (recon.length === 0) out.push('No reconciliation has reported figures.');
  else {
    out.push(`| ${RECON_HEAD.join(' | ')} |`, `| ${RECON_HEAD.map(() => '---').join(' | ')} |`);
    for (const r of recon) out.push(`| ${Object.values(r).map(mdCell).join(' | ')} |`);
  }
  if (status.checkpoints?.length) {
    out.push('', '## Approval checkpoints', '');
    for (const c of status.checkpoints) out.push(`- ${mdCell(c.checkpointId)}: ${c.state}`);
  }
  if (status.journal?.length) {
    out.push('', '## Actions taken', '', '| at | by | action | task | reason |', '| --- | --- | --- | --- | --- |');
    for (const j of status.journal)
      out.push(
        `| ${[shortTime(j.at), j.by, j.action, j.taskId ?? '', j.reason ?? ''].map((s) => mdCell(s)).join(' | ')} |`,
      );
  }
  return `${out.join('\n')}\n`;
}

function htmlTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    '<table>',
    `<thead><tr>${head.map((h) => `<th>${html(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c) => `<td>${html(c)}</td>`).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}

export function renderHtml(status: ReportStatus): string {
  const title = `Close report ${status.company} ${status.period}`;
  const recon = reconRows(status);
  const parts = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${html(title)}</title>`,
    '<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:1rem 0}' +
      'td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;font-size:.9rem}th{background:#f3f3f3}' +
      'figure{margin:1rem 0;overflow-x:auto}details pre{background:#fafafa;border:1px solid #eee;padding:1rem;overflow:auto}' +
      '@media print{figure{overflow:visible}}</style>',
    '</head>',
    '<body>',
    `<h1>${html(title)}</h1>`,
    `<p>Close <code>${html(status.closeId)}</code></p>`,
    `<ul>${heading(status)
      .map((l) => `<li>${html(l.replace(/\*\*/g, ''))}</li>`)
      .join('')}</ul>`,
    '<h2>Timeline</h2>',
    `<figure>${ganttSvg(status)}</figure>`,
    '<h2>Dependencies</h2>',
    `<figure>${graphSvg(status)}</figure>`,
    // The Mermaid text too, for pasting into a wiki or a repository that draws it.
    `<details><summary>Mermaid source of both pictures</summary><pre>${html(closeGantt(status))}\n\n${html(closeDependencyGraph(status))}</pre></details>`,
    '<h2>Tasks</h2>',
    htmlTable(
      STATUS_COLUMNS,
      statusRows(status).map((r) => STATUS_COLUMNS.map((c) => r[c])),
    ),
    '<h2>Reconciliations</h2>',
    recon.length
      ? htmlTable(
          RECON_HEAD,
          recon.map((r) => Object.values(r)),
        )
      : '<p>No reconciliation has reported figures.</p>',
  ];
  if (status.checkpoints?.length)
    parts.push(
      '<h2>Approval checkpoints</h2>',
      htmlTable(
        ['checkpoint', 'state'],
        status.checkpoints.map((c) => [c.checkpointId, c.state]),
      ),
    );
  if (status.journal?.length)
    parts.push(
      '<h2>Actions taken</h2>',
      htmlTable(
        ['at', 'by', 'action', 'task', 'reason'],
        status.journal.map((j) => [shortTime(j.at), j.by, j.action, j.taskId ?? '', j.reason ?? '']),
      ),
    );
  parts.push('</body>', '</html>');
  return `${parts.join('\n')}\n`;
}
