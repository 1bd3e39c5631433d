// Tables for the evidence PDF that never cut a value short: each column is as wide as its longest value needs
// (ids and keys keep theirs), free text (names, notes) takes what is left and wraps, and a row is as tall as its
// tallest cell. The header row repeats on every page a table spans.
import type PDFDocument from 'pdfkit';

type Pdf = InstanceType<typeof PDFDocument>;

export interface PdfColumn {
  title: string;
  /** Right-aligned (amounts, counts). */
  numeric?: boolean;
  /** Free text that may wrap over lines when the page is too narrow for it (notes, names); others keep their width. */
  wrap?: boolean;
  /** Share of the spare width this column takes when the table is narrower than the page. */
  grow?: number;
}

export type PdfRow = { cells: string[]; style?: 'normal' | 'subtotal' } | { heading: string };

export const TABLE_FONT_SIZE = 7.5;
const PAD_X = 3;
const PAD_Y = 2.5;
const MIN_WRAP_WIDTH = 48;

export interface TableContext {
  pdf: Pdf;
  left: number;
  width: number;
  bottom: () => number;
  /** Turns a value into text the PDF's font can show. */
  text: (s: string) => string;
}

/**
 * Column widths: every column's natural width (its widest value, header included). Spare room goes to the
 * growing columns; a shortfall is taken from the wrapping columns down to a minimum, then, only if the page
 * still cannot hold the table, from all columns alike (a value wider than its column then wraps, never truncates).
 */
export function fitColumns(natural: number[], cols: PdfColumn[], width: number): number[] {
  const total = natural.reduce((s, w) => s + w, 0);
  if (total <= width) {
    const growth = cols.map((c) => c.grow ?? 0);
    const sum = growth.reduce((s, g) => s + g, 0);
    const spare = width - total;
    return natural.map((w, i) => w + (sum ? (spare * growth[i]) / sum : spare / natural.length));
  }
  let excess = total - width;
  const ws = [...natural];
  const shrinkable = () => cols.map((c, i) => (c.wrap ? Math.max(0, ws[i] - Math.min(MIN_WRAP_WIDTH, natural[i])) : 0));
  const room = shrinkable().reduce((s, v) => s + v, 0);
  if (room > 0) {
    const take = Math.min(excess, room);
    const each = shrinkable();
    for (let i = 0; i < ws.length; i++) ws[i] -= (take * each[i]) / room;
    excess -= take;
  }
  if (excess > 1e-6) {
    const now = ws.reduce((s, v) => s + v, 0);
    return ws.map((w) => (w * width) / now);
  }
  return ws;
}

export function drawTable(ctx: TableContext, cols: PdfColumn[], rows: PdfRow[]): void {
  const { pdf, left, width, bottom, text } = ctx;
  const regular = () => pdf.font('Helvetica').fontSize(TABLE_FONT_SIZE);
  const bold = () => pdf.font('Helvetica-Bold').fontSize(TABLE_FONT_SIZE);
  const natural = cols.map((c, i) => {
    bold();
    let w = pdf.widthOfString(text(c.title));
    for (const r of rows)
      if ('cells' in r) {
        (r.style === 'subtotal' ? bold : regular)();
        for (const line of text(r.cells[i] ?? '').split('\n')) w = Math.max(w, pdf.widthOfString(line));
      }
    // A little over the measured width, so a value exactly as wide as its column does not wrap by rounding.
    return Math.ceil(w) + 2 * PAD_X + 2;
  });
  const ws = fitColumns(natural, cols, width);

  const cellHeight = (s: string, w: number) => pdf.heightOfString(text(s) || ' ', { width: w - 2 * PAD_X });
  const drawCells = (cells: string[], style: 'header' | 'normal' | 'subtotal') => {
    (style === 'normal' ? regular : bold)();
    const h = Math.max(...cells.map((c, i) => cellHeight(c, ws[i]))) + 2 * PAD_Y;
    if (pdf.y + h > bottom()) {
      pdf.addPage();
      if (style !== 'header')
        drawCells(
          cols.map((c) => c.title),
          'header',
        );
      (style === 'normal' ? regular : bold)();
    }
    const y = pdf.y;
    if (style !== 'normal') pdf.rect(left, y, width, h).fill(style === 'header' ? '#eeeeee' : '#f6f3e6');
    pdf.fillColor('black');
    let x = left;
    cells.forEach((cell, i) => {
      pdf.text(text(cell), x + PAD_X, y + PAD_Y, {
        width: ws[i] - 2 * PAD_X,
        align: cols[i].numeric ? 'right' : 'left',
      });
      x += ws[i];
    });
    pdf
      .moveTo(left, y + h)
      .lineTo(left + width, y + h)
      .lineWidth(0.3)
      .strokeColor('#bbbbbb')
      .stroke();
    pdf.y = y + h;
  };
  drawCells(
    cols.map((c) => c.title),
    'header',
  );
  for (const r of rows) {
    if ('heading' in r) {
      pdf.font('Helvetica-Bold').fontSize(8.5);
      const h = pdf.heightOfString(text(r.heading), { width }) + 2 * PAD_Y + 3;
      // A group heading never sits alone at the foot of a page: it moves over with at least one row.
      if (pdf.y + h + 3 * TABLE_FONT_SIZE > bottom()) {
        pdf.addPage();
        drawCells(
          cols.map((c) => c.title),
          'header',
        );
        pdf.font('Helvetica-Bold').fontSize(8.5);
      }
      const y = pdf.y + 3;
      pdf.fillColor('#1f3a5f').text(text(r.heading), left, y + PAD_Y, { width });
      pdf.fillColor('black');
      pdf.y = y + h - 3;
      continue;
    }
    drawCells(r.cells, r.style ?? 'normal');
  }
  pdf.x = left;
  pdf.moveDown(0.5);
}
