// The human-readable report of an evidence package, as one self-contained HTML page (no scripts, no external
// resources: an archived page must render the same in ten years). Everything comes from evidence.json; nothing
// here reads a clock, so the page is byte-stable for a given document.
import type { EvidenceDocument } from '../../domain/compliance/evidence';

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

function who(p: { id: string; role: string; at: string } | null): string {
  return p ? `${p.id} (${p.role}) at ${p.at}` : 'not recorded';
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;color:#111}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.held{color:#0a6b2d;font-weight:600}.failed{color:#b00020;font-weight:600}.num{text-align:right}
.mono{font-family:ui-monospace,monospace;font-size:.85em}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}`;

/** The report page. The exception table lists every exception, however many (it is the reviewer's full list). */
export function renderEvidenceHtml(doc: EvidenceDocument): string {
  const c = doc.control;
  const t = doc.population.totals;
  const parts: string[] = [];
  parts.push(
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(`${c.regulation} ${c.controlId} ${doc.close.company} ${doc.close.period}`)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${esc(c.regulation)} control ${esc(c.controlId)}: evidence for ${esc(doc.close.company)} ${esc(doc.close.period)}</h1>`,
    `<dl><dt>Package</dt><dd class="mono">${esc(doc.packageId)}</dd><dt>Close</dt><dd class="mono">${esc(doc.close.closeId)}</dd>`,
    `<dt>Close state</dt><dd>${esc(doc.close.state)}</dd>`,
    doc.close.startedAt ? `<dt>Started</dt><dd>${esc(doc.close.startedAt)}</dd>` : '',
    `<dt>Completed</dt><dd>${esc(doc.close.completedAt)}</dd>`,
    `<dt>Prepared by</dt><dd>${esc(who(doc.preparedBy))}</dd><dt>Reviewed by</dt><dd${doc.reviewedBy ? '' : ' class="failed"'}>${esc(who(doc.reviewedBy))}</dd>`,
    `<dt>Schema</dt><dd class="mono">${esc(doc.schema)} v${doc.schemaVersion}</dd></dl>`,
    `<h2>Control</h2><p>${esc(c.description)}</p>`,
    table(
      ['Evidence required', 'Satisfied by'],
      doc.evidence.map((e) => [e.kind, e.satisfiedBy.join(', ')]),
    ),
    `<h2>Controls validated</h2><p class="${doc.allControlsHeld ? 'held' : 'failed'}">${doc.allControlsHeld ? 'All controls held.' : 'At least one control did not hold.'}</p>`,
    `<table><thead><tr><th>Control</th><th>Result</th><th>Detail</th></tr></thead><tbody>`,
    ...Object.entries(doc.controlsValidated).map(
      ([name, r]) =>
        `<tr><td>${esc(CONTROL_NAMES[name] ?? name)}</td><td class="${r.held ? 'held' : 'failed'}">${r.held ? 'held' : 'NOT HELD'}</td><td>${esc(r.detail)}</td></tr>`,
    ),
    `</tbody></table>`,
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
    `<h2>Exceptions and their resolution</h2><p>${doc.exceptions.count} exceptions, ${doc.exceptions.open} still open.</p>`,
    table(['Category', 'Count'], Object.entries(doc.exceptions.byCategory)),
    table(['Resolution', 'Count'], Object.entries(doc.exceptions.byResolution)),
  );
  parts.push(
    `<table class="exceptions"><thead><tr><th>Id</th><th>Reconciliation</th><th>Key</th><th>Category</th><th>Amount A</th><th>Amount B</th><th>Difference</th><th>Resolution</th><th>By</th><th>At</th><th>Note</th><th>Reference</th></tr></thead><tbody>`,
  );
  for (const e of doc.exceptions.items) {
    const r = e.resolution;
    parts.push(
      `<tr><td>${esc(e.id)}</td><td>${esc(e.reconId)}</td><td>${esc(e.key)}</td><td>${esc(e.category)}</td><td>${esc(e.amountA)}</td><td>${esc(e.amountB)}</td><td>${esc(e.difference)}</td><td${r.status === 'open' ? ' class="failed"' : ''}>${esc(r.status)}</td><td>${esc(r.by)}</td><td>${esc(r.at)}</td><td>${esc(r.note)}</td><td>${esc(r.reference)}</td></tr>`,
    );
  }
  parts.push(`</tbody></table>`);
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
    `<h2>Attestation</h2><blockquote>${esc(doc.attestation.text)}</blockquote><p>Required from: ${esc(doc.attestation.requiredFrom.join(', '))}.</p>`,
    doc.attestation.given.length
      ? table(
          ['Attested by', 'Role', 'At', 'Statement'],
          doc.attestation.given.map((a) => [a.id, a.role, a.at, a.statement]),
        )
      : '',
    doc.attestation.missingFrom.length
      ? `<p class="failed">Attestation still required from: ${esc(doc.attestation.missingFrom.join(', '))}.</p>`
      : '<p class="held">Every required attestation is given.</p>',
    `<h2>Attached files</h2>`,
    table(
      ['Kind', 'File', 'Mode', 'SHA-256', 'Bytes', 'Description'],
      doc.attachments.map((a) => [a.kind, a.file ?? a.source, a.mode, a.sha256, a.bytes, a.description]),
      'mono',
    ),
    `<h2>Integrity</h2><p>Every file of this package is listed with its SHA-256 in manifest.json, whose Ed25519 signature is manifest.json.sig. Check it with <code>finflow evidence verify &lt;package directory&gt; --public-key &lt;key.pem&gt;</code>.</p>`,
    `</body></html>\n`,
  );
  return parts.join('\n');
}

export const CONTROL_NAMES: Record<string, string> = {
  controlTotalsBalanced: 'Control totals balanced',
  segregationOfDuties: 'Segregation of duties held',
  approvalsWithinLimits: 'Approvals within limits',
  exceptionsAccountedFor: 'Every exception accounted for',
};
