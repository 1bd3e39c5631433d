// The close report as PDF, for whoever prints or files it: the same pictures as the HTML (drawn with pdfkit's
// vector paths from the same layouts, gantt-layout.ts and graph-layout.ts, so paper and screen agree), the
// summary lines and the status table. Its dates come from the status, never the clock, so the bytes are stable.
import PDFDocument from 'pdfkit';
import { drawTable } from '../compliance/pdf-table';
import { pdfText } from '../compliance/render-pdf';
import { ganttLayout } from './gantt-layout';
import { graphLayout } from './graph-layout';
import { asOf, type ReportStatus } from './model';
import { heading } from './render';
import { LATE, STATE_FILL } from './svg';
import { STATUS_COLUMNS, statusRows, shortTime } from './table';

type Pdf = InstanceType<typeof PDFDocument>;

const MARGIN = 32;
const CRITICAL = '#111111';
const colours = (state: string) => STATE_FILL[state] ?? STATE_FILL.pending;

/** Room for a picture `h` points high at scale `s`: a new page when the rest of this one is too short. */
function room(pdf: Pdf, h: number): void {
  if (pdf.y + h > pdf.page.height - MARGIN) pdf.addPage();
}

function drawGantt(pdf: Pdf, status: ReportStatus, width: number): void {
  const L = ganttLayout(status);
  const s = Math.min(1, width / L.width);
  room(pdf, L.height * s);
  const top = pdf.y;
  pdf.save().translate(MARGIN, top).scale(s);
  L.sections.forEach((sec, i) => {
    if (i % 2 === 0) pdf.rect(0, sec.y, L.width, sec.height).fill('#f6f7f9');
    pdf
      .fillColor('black')
      .font('Helvetica-Bold')
      .fontSize(10)
      .text(pdfText(sec.title), 8, sec.y + 5, { lineBreak: false });
  });
  pdf.font('Helvetica').fontSize(9);
  for (const t of L.ticks) {
    pdf.moveTo(t.x, L.axisY).lineTo(t.x, L.height).lineWidth(0.5).stroke('#dddddd');
    pdf.fillColor('#555555').text(t.label, t.x - 40, L.axisY - 16, { width: 80, align: 'center', lineBreak: false });
  }
  pdf.moveTo(L.plotLeft, L.axisY).lineTo(L.plotRight, L.axisY).lineWidth(0.8).stroke('#999999');
  for (const row of L.rows) {
    const c = row.late ? LATE : colours(row.state);
    pdf
      .fillColor(row.late ? LATE.stroke : 'black')
      .font(row.late ? 'Helvetica-Bold' : 'Helvetica')
      .text(pdfText(row.label), 0, row.y + 6, { width: L.plotLeft - 8, align: 'right', lineBreak: false });
    const b = row.bar;
    pdf.save();
    if (row.basis === 'planned') pdf.dash(4, { space: 2 }).fillOpacity(0.55);
    pdf
      .roundedRect(b.x, b.y, b.width, b.height, 2)
      .lineWidth(row.critical ? 2.5 : 1)
      .fillAndStroke(c.fill, row.critical ? CRITICAL : c.stroke);
    pdf.restore();
    if (row.plan) pdf.rect(row.plan.x, row.plan.y, row.plan.width, row.plan.height).fill('#555555');
    if (row.deadlineX !== undefined) {
      const x = row.deadlineX;
      pdf
        .moveTo(x, b.y - 3)
        .lineTo(x, b.y + b.height + 2)
        .lineWidth(1)
        .stroke('#444444');
      pdf.polygon([x, b.y - 3], [x - 4, b.y - 7], [x + 4, b.y - 7]).fill('#444444');
    }
  }
  pdf.save().dash(5, { space: 3 });
  pdf
    .moveTo(L.now.x, L.axisY - 4)
    .lineTo(L.now.x, L.height)
    .lineWidth(1.5)
    .stroke('#1d4ed8');
  pdf.restore();
  const label = `as of ${shortTime(new Date(L.now.at).toISOString())}`;
  pdf
    .fillColor('#1d4ed8')
    .font('Helvetica')
    .fontSize(9)
    .text(label, L.now.x - 164, L.height - 12, { width: 160, align: 'right', lineBreak: false });
  pdf.restore();
  pdf.fillColor('black');
  pdf.y = top + L.height * s + 6;
  pdf
    .fontSize(7.5)
    .fillColor('#444444')
    .text(
      'Solid bars ran, dashed ones are planned; the thin grey strip under a bar that ran is where the plan put it; red: late; black outline: critical path; triangles: deadlines; ' +
        'blue dashed line: the moment the report describes. Times UTC.',
      MARGIN,
      pdf.y,
      { width },
    )
    .fillColor('black');
}

function drawGraph(pdf: Pdf, status: ReportStatus, width: number): void {
  const L = graphLayout(status);
  const maxHeight = pdf.page.height - 2 * MARGIN - 40;
  const s = Math.min(1, width / L.width, maxHeight / L.height);
  room(pdf, L.height * s);
  const top = pdf.y;
  pdf.save().translate(MARGIN, top).scale(s);
  const at = new Map(L.nodes.map((n) => [n.taskId, n]));
  for (const e of L.edges) {
    pdf.save();
    if (e.type === 'SS_WARN') pdf.dash(5, { space: 3 });
    pdf
      .path(e.path)
      .lineWidth(e.critical ? 2.2 : 1.2)
      .stroke(e.critical ? CRITICAL : '#777777');
    pdf.restore();
    const b = at.get(e.to)!;
    const [x, y] = [b.x, b.y + b.height / 2];
    pdf.polygon([x, y], [x - 7, y - 3.5], [x - 7, y + 3.5]).fill('#555555');
    if (e.type !== 'FS')
      pdf
        .fillColor('#555555')
        .fontSize(8)
        .text(e.type, e.labelAt.x - 30, e.labelAt.y - 8, {
          width: 60,
          align: 'center',
          lineBreak: false,
        });
  }
  for (const n of L.nodes) {
    const c = n.late ? LATE : colours(n.state);
    pdf.save();
    if (n.state === 'skipped' || n.state === 'waived') pdf.dash(4, { space: 2 });
    pdf
      .roundedRect(n.x, n.y, n.width, n.height, 5)
      .lineWidth(n.critical ? 3 : 1.2)
      .fillAndStroke(n.late ? '#fbd4d4' : c.fill, n.critical ? CRITICAL : c.stroke);
    pdf.restore();
    n.lines.forEach((line, i) => {
      pdf
        .font(i === 0 ? 'Helvetica-Bold' : 'Helvetica')
        .fontSize(10)
        .fillColor(i === n.lines.length - 1 && n.late ? LATE.stroke : 'black')
        .text(pdfText(line), n.x + 7, n.y + 7 + i * 13, { width: n.width - 10, lineBreak: false });
    });
  }
  pdf.restore();
  pdf.fillColor('black').font('Helvetica');
  pdf.y = top + L.height * s + 8;
}

export async function renderClosePdf(status: ReportStatus): Promise<Buffer> {
  const when = new Date(asOf(status));
  const title = `Close report ${status.company} ${status.period}`;
  const pdf = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: MARGIN,
    info: { Title: title, Subject: status.closeId, CreationDate: when, ModDate: when },
  });
  const chunks: Buffer[] = [];
  pdf.on('data', (b: Buffer) => chunks.push(b));
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });
  const width = pdf.page.width - 2 * MARGIN;
  const section = (s: string) => {
    room(pdf, 60);
    pdf.moveDown(0.6).font('Helvetica-Bold').fontSize(12).text(s, MARGIN, pdf.y, { width }).moveDown(0.3);
  };
  pdf.font('Helvetica-Bold').fontSize(16).text(pdfText(title), MARGIN, MARGIN, { width });
  pdf
    .font('Helvetica')
    .fontSize(9)
    .text(pdfText(`Close ${status.closeId}`), { width })
    .moveDown(0.3);
  for (const l of heading(status)) pdf.text(pdfText(`- ${l.replace(/\*\*/g, '')}`), { width });
  section('Timeline');
  drawGantt(pdf, status, width);
  section('Dependencies');
  drawGraph(pdf, status, width);
  section('Tasks');
  drawTable(
    { pdf, left: MARGIN, width, bottom: () => pdf.page.height - MARGIN, text: pdfText },
    STATUS_COLUMNS.map((title) => ({ title, wrap: title === 'blockers', grow: title === 'blockers' ? 1 : 0 })),
    statusRows(status).map((r) => ({ cells: STATUS_COLUMNS.map((c) => r[c]) })),
  );
  pdf.end();
  return done;
}
