// The human-readable report of an evidence package, as one self-contained HTML page (no scripts, no external
// resources: an archived page must render the same in ten years). Everything comes from evidence.json; nothing
// here reads a clock, so the page is byte-stable for a given document.
import type { EvidenceDocument } from '../../domain/compliance/evidence';
import { CONTROL_NAMES, conclusionFacts, exceptionGroups, noSum, signOffs, viewNote } from './evidence-view';

export { CONTROL_NAMES } from './evidence-view';

export interface HtmlOptions {
  /** SHA-256 of the package's evidence.json, shown at the head and foot of the page as in the PDF. */
  evidenceSha256?: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const NEEDS_ESCAPE = /[&<>"']/;

export function esc(value: unknown): string {
  const s = value === null || value === undefined ? '' : String(value);
  return NEEDS_ESCAPE.test(s) ? s.replace(/[&<>"']/g, (c) => ESCAPES[c]) : s;
}

function table(head: string[], rows: unknown[][], cls = ''): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;color:#111}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.held{color:#0a6b2d;font-weight:600}.failed{color:#b00020;font-weight:600}.num{text-align:right}
.mono{font-family:ui-monospace,monospace;font-size:.85em}.stamp{color:#555;font-size:.8em}.foot{margin-top:2em;border-top:1px solid #ccc;padding-top:.5em}
.conclusion{font-size:1.15em}tr.group-head th{background:#e8eef6;text-align:left}tr.subtotal td{background:#f6f3e6;font-weight:600}
table.exceptions td:nth-child(-n+2){white-space:nowrap;font-family:ui-monospace,monospace;font-size:.85em}@media print{h2.page{break-before:page}}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}`;

/** The report page. The exception table lists every exception, however many (it is the reviewer's full list). */
export function renderEvidenceHtml(doc: EvidenceDocument, opts: HtmlOptions = {}): string {
  const c = doc.control;
  const t = doc.population.totals;
  const conclusion = conclusionFacts(doc);
  const stamp = `Package ${esc(doc.packageId)}${opts.evidenceSha256 ? ` · evidence.json SHA-256 <span class="mono">${esc(opts.evidenceSha256)}</span> (listed in the signed manifest.json)` : ''}`;
  const parts: string[] = [];
  parts.push(
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(`${c.regulation} ${c.controlId} ${doc.close.company} ${doc.close.period}`)}</title><style>${STYLE}</style></head><body>`,
    `<p class="stamp">${stamp}</p>`,
    `<h1>${esc(c.regulation)} control ${esc(c.controlId)}: evidence for ${esc(doc.close.company)} ${esc(doc.close.period)}</h1>`,
    `<dl><dt>Package</dt><dd class="mono">${esc(doc.packageId)}</dd><dt>Close</dt><dd class="mono">${esc(doc.close.closeId)}</dd>`,
    `<dt>Close state</dt><dd>${esc(doc.close.state)}</dd>`,
    doc.close.startedAt ? `<dt>Started</dt><dd>${esc(doc.close.startedAt)}</dd>` : '',
    `<dt>Completed</dt><dd>${esc(doc.close.completedAt)}</dd>`,
    `<dt>Schema</dt><dd class="mono">${esc(doc.schema)} v${doc.schemaVersion}</dd></dl>`,
    `<h2>Control</h2><p>${esc(c.description)}</p>`,
    `<h2>Conclusion</h2><p class="conclusion ${conclusion.held ? 'held' : 'failed'}">${esc(conclusion.headline)}</p><p>${esc(conclusion.facts)}</p>`,
    `<table><thead><tr><th>Control</th><th>Result</th><th>Detail</th></tr></thead><tbody>`,
    ...Object.entries(doc.controlsValidated)
      .filter(([, r]) => r)
      .map(
        ([name, r]) =>
          `<tr><td>${esc(CONTROL_NAMES[name] ?? name)}</td><td class="${r!.held ? 'held' : 'failed'}">${r!.held ? 'held' : 'NOT HELD'}</td><td>${esc(r!.detail)}</td></tr>`,
      ),
    `</tbody></table>`,
    `<h2>Attestation</h2><blockquote>${esc(doc.attestation.text)}</blockquote><p>Required from: ${esc(doc.attestation.requiredFrom.join(', '))}.</p>`,
    doc.attestation.missingFrom.length
      ? `<p class="failed">Attestation still required from: ${esc(doc.attestation.missingFrom.join(', '))}.</p>`
      : '<p class="held">Every required attestation is given.</p>',
    `<h2>Sign-offs</h2>`,
    table(
      ['Step', 'Who', 'Role', 'At', 'Detail'],
      signOffs(doc).map((s) => [s.step, s.who, s.role, s.at, s.detail]),
    ),
    `<h2 class="page">Evidence required and where it is</h2>`,
    table(
      ['Evidence required', 'Satisfied by'],
      doc.evidence.map((e) => [e.kind, e.satisfiedBy.join(', ')]),
    ),
    `<h2>Population</h2><p>${t.reconciliations} reconciliations (${t.balanced} balanced, ${t.withExceptions} with exceptions); side A ${t.recordsA} records totalling ${esc(t.amountA)}, side B ${t.recordsB} records totalling ${esc(t.amountB)}; ${t.matchedKeys} keys matched, ${t.exceptionKeys} exception keys.</p>`,
    table(
      [
        'Reconciliation',
        'Status',
        'A records',
        'A amount',
        'B records',
        'B amount',
        'Matched',
        'Mismatch',
        'Missing in A',
        'Missing in B',
        'Difference',
        'Exceptions listed',
      ],
      doc.population.reconciliations.map((r) => [
        r.name ? `${r.reconId} (${r.name})` : r.reconId,
        r.status,
        r.a.records,
        r.a.amount,
        r.b.records,
        r.b.amount,
        r.keys.matched,
        r.keys.amountMismatch,
        r.keys.missingInA,
        r.keys.missingInB,
        r.difference,
        r.exceptionsListed,
      ]),
    ),
    `<h2>Exceptions and their resolution</h2><p>${doc.exceptions.count} exceptions, ${doc.exceptions.open} still open, grouped by reconciliation and category. An empty amount: the record is missing on that side.</p>`,
    ...(viewNote(doc) ? [`<p>${esc(viewNote(doc))}</p>`] : []),
    table(['Category', 'Count'], Object.entries(doc.exceptions.byCategory)),
    table(['Resolution', 'Count'], Object.entries(doc.exceptions.byResolution)),
  );
  const HEAD = ['Id', 'Key', 'Amount A', 'Amount B', 'Difference', 'Resolution', 'By', 'At', 'Note', 'Reference'];
  const NUMERIC = new Set([2, 3, 4]);
  parts.push(
    `<table class="exceptions"><thead><tr>${HEAD.map((h, i) => `<th${NUMERIC.has(i) ? ' class="num"' : ''}>${h}</th>`).join('')}</tr></thead>`,
  );
  for (const g of exceptionGroups(doc)) {
    const s = g.subtotal;
    parts.push(
      `<tbody class="group"><tr class="group-head"><th colspan="${HEAD.length}">${esc(g.reconName ? `${g.reconId} (${g.reconName})` : g.reconId)} / ${esc(g.category)}: ${s.count} exceptions, ${s.open} open</th></tr>`,
    );
    for (const e of g.items) {
      const r = e.resolution;
      parts.push(
        `<tr><td>${esc(e.id)}</td><td>${esc(e.key)}</td><td class="num">${esc(e.amountA)}</td><td class="num">${esc(e.amountB)}</td><td class="num">${esc(e.difference)}</td><td${r.status === 'open' ? ' class="failed"' : ''}>${esc(r.status)}</td><td>${esc(r.by)}</td><td>${esc(r.at)}</td><td>${esc(r.note)}</td><td>${esc(r.reference)}</td></tr>`,
      );
    }
    const mixed = noSum(s);
    parts.push(
      `<tr class="subtotal"><td>Subtotal ${esc(g.category)}</td><td>${s.count} exceptions</td><td class="num">${esc(s.amountA ?? mixed)}</td><td class="num">${esc(s.amountB ?? mixed)}</td><td class="num">${esc(s.difference ?? mixed)}</td><td>${s.open} open</td><td colspan="4"></td></tr></tbody>`,
    );
  }
  parts.push(`</table>`);
  parts.push(
    `<h2>Approvals</h2>`,
    table(
      ['Checkpoint', 'Decision', 'Approver', 'Role', 'At', 'Amount', 'Limit', 'Comments', 'Identity'],
      doc.approvals.decisions.map((a) => [
        a.checkpointId,
        a.decision,
        a.approverId,
        a.role,
        a.at,
        a.amount,
        a.limit,
        a.comments,
        a.signed === undefined
          ? ''
          : a.signed
            ? `signed token, nonce ${a.nonce ?? '?'}`
            : 'UNSIGNED (claimed, development mode)',
      ]),
    ),
    `<h3>Refused attempts</h3>`,
    doc.approvals.refusals.length
      ? table(
          ['Checkpoint', 'Who', 'Role', 'At', 'Reason'],
          doc.approvals.refusals.map((r) => [r.checkpointId, r.approverId, r.role, r.at, r.reason]),
        )
      : '<p>None.</p>',
    ...(doc.closeJournal
      ? [
          `<h2>Actions on the close</h2>`,
          doc.closeJournal.length
            ? table(
                ['At', 'By', 'Action', 'Task', 'Reason', 'Outcome'],
                doc.closeJournal.map((j) => [
                  j.at,
                  j.by,
                  j.to ? `${j.action} to ${j.to}` : j.action,
                  j.taskId,
                  [j.reason, j.note].filter(Boolean).join('; '),
                  j.accepted === false ? `refused: ${j.refusal ?? ''}` : 'carried out',
                ]),
              )
            : '<p>None: no task was waived, skipped, rerun or reassigned.</p>',
        ]
      : []),
    `<h2>Attached files</h2>`,
    table(
      ['Kind', 'File', 'Mode', 'SHA-256', 'Bytes', 'Description'],
      doc.attachments.map((a) => [a.kind, a.file ?? a.source, a.mode, a.sha256, a.bytes, a.description]),
      'mono',
    ),
    `<h2>Integrity</h2><p>Every file of this package is listed with its SHA-256 in manifest.json, whose Ed25519 signature is manifest.json.sig. Check it with <code>finflow evidence verify &lt;package directory&gt; --public-key &lt;key.pem&gt;</code>.</p>`,
    `<p class="stamp foot">${stamp}</p>`,
    `</body></html>\n`,
  );
  return parts.join('\n');
}
