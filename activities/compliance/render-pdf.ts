// The PDF form of the report (pdfkit). A reviewer prints and signs this one, so it carries the same facts as the
// HTML page; only the exception table is capped (a 100,000-row PDF helps nobody): open exceptions come first,
// and the page says how many more there are and where the complete list lives. The document's creation date is
// the close's completion time, not the wall clock, so the bytes are stable for a given evidence.json.
import PDFDocument from 'pdfkit';
import type { EvidenceDocument } from '../../domain/compliance/evidence';
import { CONTROL_NAMES } from './render-html';

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
const ROW = 13;

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
      `every resolution is in evidence.json and report.html, both covered by the signed manifest.`,
  };
}

interface Column {
  title: string;
  width: number;
}

export async function renderEvidencePdf(doc: EvidenceDocument): Promise<Buffer> {
  const c = doc.control;
  const when = new Date(doc.close.completedAt);
  const pdf = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    bufferPages: false,
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
  const bottom = () => pdf.page.height - MARGIN;
  const heading = (s: string) => {
    if (pdf.y > bottom() - 60) pdf.addPage();
    pdf.moveDown(0.6).font('Helvetica-Bold').fontSize(12).text(pdfText(s), MARGIN, pdf.y, { width }).moveDown(0.2);
    pdf.font('Helvetica').fontSize(9);
  };
  const para = (s: string, opts: { bold?: boolean; color?: string } = {}) => {
    pdf
      .font(opts.bold ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(9)
      .fillColor(opts.color ?? 'black')
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
  const tableOf = (cols: Column[], rows: string[][]) => {
    const total = cols.reduce((s, col) => s + col.width, 0);
    const scale = width / total;
    const ws = cols.map((col) => col.width * scale);
    const drawRow = (cells: string[], bold: boolean) => {
      if (pdf.y + ROW > bottom()) {
        pdf.addPage();
        drawRow(
          cols.map((col) => col.title),
          true,
        );
      }
      const y = pdf.y;
      let x = MARGIN;
      pdf.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(7.5);
      cells.forEach((cell, i) => {
        pdf.text(pdfText(cell), x + 2, y + 2, { width: ws[i] - 4, height: ROW - 2, lineBreak: false, ellipsis: true });
        x += ws[i];
      });
      pdf
        .moveTo(MARGIN, y + ROW)
        .lineTo(MARGIN + width, y + ROW)
        .lineWidth(0.3)
        .strokeColor('#bbbbbb')
        .stroke();
      pdf.y = y + ROW;
    };
    drawRow(
      cols.map((col) => col.title),
      true,
    );
    for (const r of rows) drawRow(r, false);
    pdf.x = MARGIN;
    pdf.moveDown(0.5);
  };

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
  fieldLine('Prepared by', `${doc.preparedBy.id} (${doc.preparedBy.role}) at ${doc.preparedBy.at}`);
  fieldLine(
    'Reviewed by',
    doc.reviewedBy ? `${doc.reviewedBy.id} (${doc.reviewedBy.role}) at ${doc.reviewedBy.at}` : 'NOT REVIEWED',
  );

  heading('Control');
  para(c.description);
  tableOf(
    [
      { title: 'Evidence required', width: 1 },
      { title: 'Satisfied by', width: 3 },
    ],
    doc.evidence.map((e) => [e.kind, e.satisfiedBy.join(', ')]),
  );

  heading('Controls validated');
  para(doc.allControlsHeld ? 'All controls held.' : 'At least one control did not hold.', {
    bold: true,
    color: doc.allControlsHeld ? '#0a6b2d' : '#b00020',
  });
  tableOf(
    [
      { title: 'Control', width: 2 },
      { title: 'Result', width: 1 },
      { title: 'Detail', width: 5 },
    ],
    Object.entries(doc.controlsValidated).map(([k, r]) => [
      CONTROL_NAMES[k] ?? k,
      r.held ? 'held' : 'NOT HELD',
      r.detail,
    ]),
  );

  const t = doc.population.totals;
  heading('Population');
  para(
    `${t.reconciliations} reconciliations (${t.balanced} balanced, ${t.withExceptions} with exceptions). ` +
      `Side A: ${t.recordsA} records, ${t.amountA}. Side B: ${t.recordsB} records, ${t.amountB}. ` +
      `${t.matchedKeys} keys matched, ${t.exceptionKeys} exception keys.`,
  );
  tableOf(
    [
      'Reconciliation',
      'Status',
      'A records',
      'A amount',
      'B records',
      'B amount',
      'Matched',
      'Exc. keys',
      'Difference',
    ].map((title, i) => ({ title, width: i === 0 ? 2.2 : 1 })),
    doc.population.reconciliations.map((r) => [
      r.reconId,
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
    `${doc.exceptions.count} exceptions, ${doc.exceptions.open} open. By category: ` +
      `${Object.entries(doc.exceptions.byCategory)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}. By resolution: ${Object.entries(doc.exceptions.byResolution)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}.`,
  );
  const selection = pdfExceptionSelection(doc);
  if (selection.note) para(selection.note, { bold: true });
  tableOf(
    [
      { title: 'Id', width: 1.1 },
      { title: 'Recon', width: 1.1 },
      { title: 'Key', width: 1 },
      { title: 'Category', width: 1.1 },
      { title: 'Difference', width: 0.9 },
      { title: 'Resolution', width: 0.9 },
      { title: 'By', width: 0.8 },
      { title: 'Note', width: 1.6 },
    ],
    selection.shown.map((e) => [
      e.id,
      e.reconId,
      e.key,
      e.category,
      e.difference,
      e.resolution.status,
      e.resolution.by ?? '',
      [e.resolution.note, e.resolution.reference].filter(Boolean).join('; '),
    ]),
  );

  heading('Approvals');
  tableOf(
    ['Checkpoint', 'Decision', 'Approver', 'Role', 'At', 'Amount', 'Limit', 'Identity'].map((title, i) => ({
      title,
      width: i === 4 ? 1.8 : 1,
    })),
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
    tableOf(
      ['Checkpoint', 'Who', 'Role', 'At', 'Reason'].map((title, i) => ({ title, width: i === 4 ? 3 : 1 })),
      doc.approvals.refusals.map((r) => [r.checkpointId, r.approverId, r.role, r.at, r.reason]),
    );
  }

  if (doc.closeJournal?.length) {
    heading('Actions on the close');
    tableOf(
      ['At', 'By', 'Action', 'Task', 'Reason', 'Outcome'].map((title, i) => ({ title, width: i === 4 ? 2.5 : 1 })),
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

  heading('Attestation');
  para(doc.attestation.text);
  pdf.moveDown(0.3);
  para(`Required from: ${doc.attestation.requiredFrom.join(', ')}.`);
  for (const a of doc.attestation.given)
    para(`Attested by ${a.id} (${a.role}) at ${a.at}${a.statement ? `: ${a.statement}` : ''}`);
  if (doc.attestation.missingFrom.length)
    para(`Attestation still required from: ${doc.attestation.missingFrom.join(', ')}.`, {
      bold: true,
      color: '#b00020',
    });

  heading('Attached files');
  tableOf(
    [
      { title: 'Kind', width: 1.2 },
      { title: 'File', width: 2 },
      { title: 'SHA-256', width: 4 },
      { title: 'Bytes', width: 0.8 },
    ],
    doc.attachments.map((a) => [a.kind, a.file ?? a.source ?? '', a.sha256, String(a.bytes)]),
  );
  heading('Integrity');
  para(
    'Every file of this package is listed with its SHA-256 in manifest.json, whose Ed25519 signature is ' +
      'manifest.json.sig. Check it with: finflow evidence verify <package directory> --public-key <key.pem>. ' +
      'Characters this PDF cannot show are written as <U+XXXX>; evidence.json and report.html hold them as they are.',
  );

  pdf.end();
  return done;
}
