// The PDF form of the report (pdfkit). A reviewer prints and signs this one, so it carries the same facts as the
// HTML page. Page 1 is what a reviewer signs against: the control, the conclusion with its facts, the attestation
// and every sign-off. Then the population, and the exceptions grouped by reconciliation and category with
// subtotals, each with both sides' amounts and the difference. No value is cut short: columns take the width
// their values need and free text wraps (pdf-table.ts). Every page's foot carries "page X of Y", the package id
// and the SHA-256 of evidence.json (the signed manifest lists it; the manifest's own hash cannot be printed in a
// file the manifest lists). Only the exception table is capped (a 100,000-row PDF helps nobody): open exceptions
// come first, and the page says how many more there are and where the complete list lives. The document's
// creation date is the close's completion time, not the wall clock, so the bytes are stable for a given input.
import PDFDocument from 'pdfkit';
import type { EvidenceDocument } from '../../domain/compliance/evidence';
import { CONTROL_NAMES, conclusionFacts, exceptionGroups, noSum, signOffs, viewNote } from './evidence-view';
import { drawTable, type PdfColumn, type PdfRow } from './pdf-table';

export const PDF_MAX_EXCEPTION_ROWS = 1000;

/** Windows-1252 beyond Latin-1: what the PDF's standard Helvetica can show besides ASCII and Latin-1. */
const CP1252_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');

/**
 * The standard PDF fonts cover Windows-1252 only; anything else would print as wrong glyphs (a wrong name on a
 * signed report). Such characters are written as <U+XXXX> instead, and the PDF says so: evidence.json and
 * report.html carry them as they are.
 */
export function pdfText(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff) || CP1252_EXTRA.has(ch) || ch === '\n') out += ch;
    else out += `<U+${cp.toString(16).toUpperCase().padStart(4, '0')}>`;
  }
  return out;
}

const MARGIN = 40;
/** Room under the last line of a page for the foot (page number, package id, evidence hash). */
const FOOT = 22;

/** The exceptions the PDF lists (open ones first, at most PDF_MAX_EXCEPTION_ROWS) and what it says of the rest. */
export function pdfExceptionSelection(doc: EvidenceDocument): {
  shown: EvidenceDocument['exceptions']['items'];
  note?: string;
} {
  const items = doc.exceptions.items;
  const shown = [
    ...items.filter((e) => e.resolution.status === 'open'),
    ...items.filter((e) => e.resolution.status !== 'open'),
  ].slice(0, PDF_MAX_EXCEPTION_ROWS);
  if (shown.length === items.length) return { shown };
  return {
    shown,
    note:
      `This PDF lists ${shown.length} of ${items.length} exceptions, open ones first. The complete list with ` +
      `every resolution is in evidence.json and report.html, both covered by the signed manifest. Subtotals ` +
      `cover every exception of their group, listed or not.`,
  };
}

export interface PdfOptions {
  /** SHA-256 of the package's evidence.json, printed on every page to tie the paper to the signed manifest. */
  evidenceSha256?: string;
}

const EXCEPTION_COLUMNS: PdfColumn[] = [
  { title: 'Id' },
  { title: 'Key' },
  { title: 'Amount A', numeric: true },
  { title: 'Amount B', numeric: true },
  { title: 'Difference', numeric: true },
  { title: 'Resolution' },
  { title: 'Resolved by, at' },
  { title: 'Note', wrap: true, grow: 1 },
];

function exceptionRows(doc: EvidenceDocument, shownIds: Set<string>): PdfRow[] {
  const rows: PdfRow[] = [];
  for (const g of exceptionGroups(doc)) {
    const listed = g.items.filter((e) => shownIds.has(e.id));
    rows.push({
      heading:
        `${g.reconName ? `${g.reconId} (${g.reconName})` : g.reconId} / ${g.category}: ` +
        `${g.subtotal.count} exceptions, ${g.subtotal.open} open` +
        (listed.length < g.items.length ? ` (${listed.length} listed here)` : ''),
    });
    for (const e of listed)
      rows.push({
        cells: [
          e.id,
          e.key,
          e.amountA ?? '-',
          e.amountB ?? '-',
          e.difference,
          e.resolution.status,
          [e.resolution.by, e.resolution.at].filter(Boolean).join('\n'),
          [e.resolution.note, e.resolution.reference].filter(Boolean).join('; '),
        ],
      });
    const t = g.subtotal;
    rows.push({
      style: 'subtotal',
      cells: [
        `Subtotal ${g.category}`,
        `${t.count} exceptions`,
        t.amountA ?? noSum(t),
        t.amountB ?? noSum(t),
        t.difference ?? noSum(t),
        `${t.open} open`,
        '',
        '',
      ],
    });
  }
  return rows;
}

export async function renderEvidencePdf(doc: EvidenceDocument, opts: PdfOptions = {}): Promise<Buffer> {
  const c = doc.control;
  const when = new Date(doc.close.completedAt);
  const pdf = new PDFDocument({
    // Landscape: the exception table needs room for whole ids, keys, both amounts and the difference side by side.
    size: 'A4',
    layout: 'landscape',
    margins: { top: MARGIN, left: MARGIN, right: MARGIN, bottom: MARGIN + FOOT },
    bufferPages: true,
    info: {
      Title: `${c.regulation} ${c.controlId} evidence: ${doc.close.company} ${doc.close.period}`,
      Author: doc.preparedBy.id,
      Subject: c.description,
      Keywords: `${c.regulation} ${c.controlId} ${doc.packageId}`,
      CreationDate: when,
      ModDate: when,
    },
  });
  const chunks: Buffer[] = [];
  pdf.on('data', (b: Buffer) => chunks.push(b));
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });

  const width = pdf.page.width - 2 * MARGIN;
  const bottom = () => pdf.page.height - MARGIN - FOOT;
  const ctx = { pdf, left: MARGIN, width, bottom, text: pdfText };
  const table = (cols: PdfColumn[], rows: string[][]) =>
    drawTable(
      ctx,
      cols,
      rows.map((cells) => ({ cells })),
    );
  const heading = (s: string) => {
    if (pdf.y > bottom() - 60) pdf.addPage();
    pdf.moveDown(0.5).font('Helvetica-Bold').fontSize(11).text(pdfText(s), MARGIN, pdf.y, { width }).moveDown(0.2);
    pdf.font('Helvetica').fontSize(9);
  };
  const para = (s: string, o: { bold?: boolean; color?: string; size?: number } = {}) => {
    pdf
      .font(o.bold ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(o.size ?? 9)
      .fillColor(o.color ?? 'black')
      .text(pdfText(s), MARGIN, pdf.y, { width });
    pdf.fillColor('black');
  };
  const fieldLine = (k: string, v: string) => {
    pdf
      .font('Helvetica-Bold')
      .fontSize(9)
      .text(`${pdfText(k)}: `, MARGIN, pdf.y, { continued: true, width });
    pdf.font('Helvetica').text(pdfText(v));
  };

  // Page 1: what the reviewer signs against.
  pdf
    .font('Helvetica-Bold')
    .fontSize(15)
    .text(pdfText(`${c.regulation} control ${c.controlId}`), { width })
    .fontSize(11)
    .text(pdfText(`Evidence for ${doc.close.company}, period ${doc.close.period}`), { width })
    .moveDown(0.5);
  pdf.font('Helvetica').fontSize(9);
  fieldLine('Package', doc.packageId);
  fieldLine('Close', `${doc.close.closeId} (${doc.close.state})`);
  if (doc.close.startedAt) fieldLine('Started', doc.close.startedAt);
  fieldLine('Completed', doc.close.completedAt);

  heading('Control');
  para(c.description);

  heading('Conclusion');
  const conclusion = conclusionFacts(doc);
  para(conclusion.headline, { bold: true, size: 11, color: conclusion.held ? '#0a6b2d' : '#b00020' });
  para(conclusion.facts);
  pdf.moveDown(0.3);
  table(
    [{ title: 'Control' }, { title: 'Result' }, { title: 'Detail', wrap: true, grow: 1 }],
    Object.entries(doc.controlsValidated)
      .filter(([, r]) => r)
      .map(([k, r]) => [CONTROL_NAMES[k] ?? k, r!.held ? 'held' : 'NOT HELD', r!.detail]),
  );

  heading('Attestation');
  para(doc.attestation.text);
  pdf.moveDown(0.3);
  para(`Required from: ${doc.attestation.requiredFrom.join(', ')}.`);
  if (doc.attestation.missingFrom.length)
    para(`Attestation still required from: ${doc.attestation.missingFrom.join(', ')}.`, {
      bold: true,
      color: '#b00020',
    });

  heading('Sign-offs');
  table(
    [{ title: 'Step' }, { title: 'Who' }, { title: 'Role' }, { title: 'At' }, { title: 'Detail', wrap: true, grow: 1 }],
    signOffs(doc).map((s) => [s.step, s.who, s.role, s.at, s.detail]),
  );

  pdf.addPage();
  // Which file answers each kind of evidence the control asks for: detail, so after the page a reviewer signs.
  heading('Evidence required and where it is');
  table(
    [{ title: 'Evidence required' }, { title: 'Satisfied by', wrap: true, grow: 1 }],
    doc.evidence.map((e) => [e.kind, e.satisfiedBy.join(', ')]),
  );
  const t = doc.population.totals;
  heading('Population');
  para(
    `${t.reconciliations} reconciliations (${t.balanced} balanced, ${t.withExceptions} with exceptions). ` +
      `Side A: ${t.recordsA} records, ${t.amountA}. Side B: ${t.recordsB} records, ${t.amountB}. ` +
      `${t.matchedKeys} keys matched, ${t.exceptionKeys} exception keys.`,
  );
  table(
    [
      { title: 'Reconciliation', wrap: true, grow: 1 },
      { title: 'Status' },
      ...['A records', 'A amount', 'B records', 'B amount', 'Matched', 'Exc. keys', 'Difference'].map((title) => ({
        title,
        numeric: true,
      })),
    ],
    doc.population.reconciliations.map((r) => [
      r.name ? `${r.reconId} (${r.name})` : r.reconId,
      r.status,
      String(r.a.records),
      r.a.amount,
      String(r.b.records),
      r.b.amount,
      String(r.keys.matched),
      String(r.keys.amountMismatch + r.keys.missingInA + r.keys.missingInB),
      r.difference,
    ]),
  );

  heading('Exceptions and their resolution');
  para(
    `${doc.exceptions.count} exceptions, ${doc.exceptions.open} open, grouped by reconciliation and category. ` +
      `By resolution: ${
        Object.entries(doc.exceptions.byResolution)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }. A "-" amount: the record is missing on that side.`,
  );
  const shownAs = viewNote(doc);
  if (shownAs) para(shownAs);
  const selection = pdfExceptionSelection(doc);
  if (selection.note) para(selection.note, { bold: true });
  if (doc.exceptions.count)
    drawTable(ctx, EXCEPTION_COLUMNS, exceptionRows(doc, new Set(selection.shown.map((e) => e.id))));

  heading('Approvals');
  table(
    [
      { title: 'Checkpoint' },
      { title: 'Decision' },
      { title: 'Approver' },
      { title: 'Role' },
      { title: 'At' },
      { title: 'Amount', numeric: true },
      { title: 'Limit', numeric: true },
      { title: 'Identity', wrap: true, grow: 1 },
    ],
    doc.approvals.decisions.map((a) => [
      a.checkpointId,
      a.decision,
      a.approverId,
      a.role,
      a.at,
      a.amount ?? '',
      a.limit ?? '',
      a.signed === undefined ? '' : a.signed ? 'signed token' : 'UNSIGNED',
    ]),
  );
  if (doc.approvals.refusals.length) {
    para('Refused attempts:', { bold: true });
    table(
      [
        { title: 'Checkpoint' },
        { title: 'Who' },
        { title: 'Role' },
        { title: 'At' },
        { title: 'Reason', wrap: true, grow: 1 },
      ],
      doc.approvals.refusals.map((r) => [r.checkpointId, r.approverId, r.role, r.at, r.reason]),
    );
  }

  if (doc.closeJournal?.length) {
    heading('Actions on the close');
    table(
      [
        { title: 'At' },
        { title: 'By' },
        { title: 'Action' },
        { title: 'Task' },
        { title: 'Reason', wrap: true, grow: 1 },
        { title: 'Outcome', wrap: true },
      ],
      doc.closeJournal.map((j) => [
        j.at,
        j.by,
        j.to ? `${j.action} to ${j.to}` : j.action,
        j.taskId ?? '',
        [j.reason, j.note].filter(Boolean).join('; '),
        j.accepted === false ? `refused: ${j.refusal ?? ''}` : 'carried out',
      ]),
    );
  }

  heading('Attached files');
  table(
    [
      { title: 'Kind' },
      { title: 'File', wrap: true, grow: 1 },
      { title: 'SHA-256' },
      { title: 'Bytes', numeric: true },
    ],
    doc.attachments.map((a) => [a.kind, a.file ?? a.source ?? '', a.sha256, String(a.bytes)]),
  );
  heading('Integrity');
  para(
    'Every file of this package is listed with its SHA-256 in manifest.json, whose Ed25519 signature is ' +
      'manifest.json.sig. Check it with: finflow evidence verify <package directory> --public-key <key.pem>. ' +
      'The foot of each page gives the SHA-256 of evidence.json, the document these pages are printed from, as ' +
      'the manifest lists it. Characters this PDF cannot show are written as <U+XXXX>; evidence.json and ' +
      'report.html hold them as they are.',
  );

  const range = pdf.bufferedPageRange();
  for (let i = 0; i < range.count; i++) {
    pdf.switchToPage(range.start + i);
    // The foot sits in the bottom margin: lift the margin while writing it, or pdfkit would start a new page.
    const kept = pdf.page.margins.bottom;
    pdf.page.margins.bottom = 0;
    const y = pdf.page.height - MARGIN - FOOT + 8;
    pdf
      .moveTo(MARGIN, y - 3)
      .lineTo(MARGIN + width, y - 3)
      .lineWidth(0.3)
      .strokeColor('#999999')
      .stroke();
    pdf
      .font('Helvetica')
      .fontSize(7)
      .fillColor('#333333')
      .text(pdfText(`Package ${doc.packageId}`), MARGIN, y, { width, lineBreak: false })
      .text(`Page ${i + 1} of ${range.count}`, MARGIN, y, { width, align: 'right', lineBreak: false });
    if (opts.evidenceSha256)
      pdf.text(`evidence.json SHA-256 ${opts.evidenceSha256} (listed in the signed manifest.json)`, MARGIN, y + 9, {
        width,
        lineBreak: false,
      });
    pdf.fillColor('black');
    pdf.page.margins.bottom = kept;
  }
  pdf.flushPages();
  pdf.end();
  return done;
}
