// The bank reconciliation statement as a PDF (pdfkit, as the evidence report): what a controller prints, signs and
// files. Page 1 is the statement itself - the balance per bank brought to its adjusted balance by the items the books
// hold and the bank does not, the balance per books brought to its own, and the difference, in red when the two do
// not agree - the same lines, in the same order, as the xlsx and HTML (statementLines). Then the reconciling items by
// kind with subtotals. Only the item list is capped (the JSON and xlsx hold every item): items a person still has to
// explain come first, and the page says how many more there are. The document is dated the period end, not the wall
// clock, so a retried write gives the same bytes (the run's report list records their SHA-256).
import PDFDocument from 'pdfkit';
import type { BankReconciliationStatement, ReconcilingItem } from '../../domain/recon/bank-statement';
import { drawTable, type PdfColumn, type PdfRow } from '../compliance/pdf-table';
import { pdfText } from '../compliance/render-pdf';
import { KIND_LABELS, statementLines } from './bank-statement-lines';

export const PDF_MAX_ITEMS = 1000;
const MARGIN = 40;
const RED = '#c00000';

/** The items the PDF lists (those to explain first, at most `max`), and what it says of the rest. */
export function pdfItemSelection(
  s: BankReconciliationStatement,
  max = PDF_MAX_ITEMS,
): { shown: ReconcilingItem[]; note?: string } {
  const shown = [...s.items.filter((i) => !i.explained), ...s.items.filter((i) => i.explained)].slice(0, max);
  if (shown.length === s.items.length) return { shown };
  return {
    shown,
    note:
      `This PDF lists ${shown.length} of ${s.items.length} reconciling items, those to explain first. The complete ` +
      `list is in the statement's JSON and xlsx. Subtotals cover every item of their kind, listed or not.`,
  };
}

const ITEM_COLUMNS: PdfColumn[] = [
  { title: 'Exception' },
  { title: 'Category' },
  { title: 'Bank records', wrap: true, grow: 1 },
  { title: 'Book records', wrap: true, grow: 1 },
  { title: 'Amount', numeric: true },
  { title: 'Explained' },
];

function itemRows(s: BankReconciliationStatement, shown: ReconcilingItem[]): PdfRow[] {
  const rows: PdfRow[] = [];
  for (const t of [...s.bank_adjustments, ...s.book_adjustments]) {
    if (t.count === 0) continue;
    const listed = shown.filter((i) => i.kind === t.kind);
    rows.push({
      heading:
        `${KIND_LABELS[t.kind]}: ${t.count} item(s)` +
        (listed.length < t.count ? ` (${listed.length} listed here)` : ''),
    });
    for (const i of listed)
      rows.push({
        cells: [
          i.exception_id,
          i.category,
          i.bank_ids.join(' '),
          i.book_ids.join(' '),
          i.amount,
          i.explained ? 'yes' : 'no',
        ],
      });
    rows.push({ style: 'subtotal', cells: [`Subtotal`, `${t.count} item(s)`, '', '', t.total, ''] });
  }
  return rows;
}

export async function renderBankStatementPdf(
  s: BankReconciliationStatement,
  opts: { reconId?: string; maxItems?: number } = {},
): Promise<Buffer> {
  const dated = new Date(`${s.period_end}T00:00:00Z`);
  const pdf = new PDFDocument({
    size: 'A4',
    margins: { top: MARGIN, left: MARGIN, right: MARGIN, bottom: MARGIN },
    info: {
      Title: `Bank reconciliation statement ${s.account ?? ''} ${s.currency} ${s.period_end}`.replace(/\s+/g, ' '),
      Subject: opts.reconId ?? 'bank reconciliation',
      CreationDate: dated,
      ModDate: dated,
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
  const para = (text: string, o: { bold?: boolean; size?: number; color?: string } = {}) => {
    pdf
      .font(o.bold ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(o.size ?? 9)
      .fillColor(o.color ?? 'black')
      .text(pdfText(text), MARGIN, pdf.y, { width });
    pdf.fillColor('black');
  };

  para('Bank reconciliation statement', { bold: true, size: 15 });
  para(
    `Account ${s.account ?? '(not named)'} - ${s.currency} - period end ${s.period_end}` +
      (opts.reconId ? ` - reconciliation ${opts.reconId}` : ''),
    { size: 10 },
  );
  pdf.moveDown(0.3);
  para(
    s.agrees
      ? `Adjusted balances agree. ${s.items_to_explain} item(s) to explain.`
      : `DOES NOT AGREE: unexplained difference ${s.unexplained_difference} ${s.currency}. ` +
          `${s.items_to_explain} item(s) to explain.`,
    { bold: true, size: 11, color: s.agrees ? '#0a6b2d' : RED },
  );
  for (const w of s.warnings) para(`Warning: ${w}`, { color: '#a06000' });
  pdf.moveDown(0.5);

  // The statement: label, count, amount; balances, adjusted balances and the difference in bold, what needs
  // attention in red.
  const amountX = MARGIN + width - 120;
  const countX = amountX - 60;
  pdf.font('Helvetica-Bold').fontSize(9);
  const headY = pdf.y;
  pdf.text('Items', countX, headY, { width: 50, align: 'right' });
  pdf.text(pdfText(`Amount (${s.currency})`), amountX, headY, { width: 120, align: 'right' });
  pdf.y = headY + 14;
  for (const line of statementLines(s)) {
    const bold = line.emphasis !== 'item';
    pdf
      .font(bold ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(9)
      .fillColor(line.flag ? RED : 'black');
    if (line.emphasis === 'adjusted' || line.emphasis === 'difference') pdf.y += 2;
    const y = pdf.y;
    const indent = line.emphasis === 'item' ? 14 : 0;
    const labelWidth = countX - MARGIN - indent - 8;
    const h = pdf.heightOfString(pdfText(line.label), { width: labelWidth });
    pdf.text(pdfText(line.label), MARGIN + indent, y, { width: labelWidth });
    if (line.count !== null) pdf.text(String(line.count), countX, y, { width: 50, align: 'right' });
    pdf.text(pdfText(line.amount), amountX, y, { width: 120, align: 'right' });
    pdf.y = y + h + 3;
    if (line.emphasis === 'adjusted' || line.emphasis === 'difference') {
      pdf
        .moveTo(MARGIN, pdf.y - 1)
        .lineTo(MARGIN + width, pdf.y - 1)
        .lineWidth(0.4)
        .strokeColor('#888888')
        .stroke();
      pdf.y += 6;
    }
  }
  pdf.fillColor('black');

  if (s.items.length > 0) {
    pdf.addPage();
    para('Reconciling items', { bold: true, size: 12 });
    const { shown, note } = pdfItemSelection(s, opts.maxItems);
    if (note !== undefined) para(note);
    pdf.moveDown(0.3);
    drawTable({ pdf, left: MARGIN, width, bottom, text: pdfText }, ITEM_COLUMNS, itemRows(s, shown));
  }
  pdf.end();
  return done;
}
