// The report's own streaming xlsx writer, read back with exceljs as a spreadsheet program would: sheets in order,
// text exactly as written (markup, surrounding spaces, characters XML cannot hold dropped), numbers with their
// formats, a bold frozen filtered header, widths; the same rows give the same bytes; misuse is refused.
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import { XlsxStreamWriter, columnLetters, xmlText } from '../../activities/reports/xlsx-stream';

async function build(rows: number): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const wb = new XlsxStreamWriter(out);
  const a = wb.addSheet('Totals', { headers: ['Currency', 'Amount'], widths: [10, 14] });
  await a.addRows([['EUR', { value: 1234.5, numFmt: '#,##0.00;-#,##0.00' }]]);
  await a.end();
  const b = wb.addSheet('Rows & <more>', { headers: ['Item', 'Memo', 'Amount', 'Count'], widths: [8, 30, 12, 6] });
  await b.addRows(
    Array.from({ length: rows }, (_, i) => [
      `GL:${i + 1}`,
      i === 0 ? '  <b>net & "gross"</b>\u0007 ' : null,
      { value: -i - 0.25, numFmt: '#,##0.00;-#,##0.00' },
      i,
    ]),
  );
  await b.end();
  await wb.end();
  return Buffer.concat(chunks);
}

describe('the streaming xlsx writer', () => {
  it('writes sheets that exceljs reads back with their text, numbers, formats, header and widths', async () => {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await build(30_000)) as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Totals', 'Rows & <more>']);
    const ws = wb.getWorksheet('Rows & <more>')!;
    expect(ws.rowCount).toBe(30_001);
    expect(ws.getRow(1).values).toEqual([undefined, 'Item', 'Memo', 'Amount', 'Count']);
    expect(ws.getRow(1).font?.bold).toBe(true);
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(ws.autoFilter).toBeTruthy();
    expect([1, 2, 3, 4].map((c) => ws.getColumn(c).width)).toEqual([8, 30, 12, 6]);
    expect(ws.getCell('B2').value).toBe('  <b>net & "gross"</b> ');
    expect(ws.getCell('C2').value).toBe(-0.25);
    expect(ws.getCell('C2').numFmt).toBe('#,##0.00;-#,##0.00');
    expect(ws.getCell('D30001').value).toBe(29_999);
    expect(ws.getCell('B3').value).toBeNull();
    expect(wb.getWorksheet('Totals')!.getCell('B2').value).toBe(1234.5);
  });

  it('gives the same bytes for the same rows', async () => {
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(await build(500))).toBe(sha(await build(500)));
  });

  it('refuses a second sheet while one is open, a sheet name Excel cannot take, and a name used twice', async () => {
    const wb = new XlsxStreamWriter(new PassThrough());
    wb.addSheet('One', { headers: ['A'], widths: [6] });
    expect(() => wb.addSheet('Two', { headers: ['A'], widths: [6] })).toThrow('sheet One is still open');
    await expect(wb.end()).rejects.toThrow('sheet One is still open');
    const fresh = new XlsxStreamWriter(new PassThrough());
    expect(() => fresh.addSheet('a/b', { headers: [], widths: [] })).toThrow(/bad sheet name/);
    expect(() => fresh.addSheet('x'.repeat(32), { headers: [], widths: [] })).toThrow(/bad sheet name/);
    const s = fresh.addSheet('Same', { headers: ['A'], widths: [6] });
    await s.end();
    expect(() => fresh.addSheet('SAME', { headers: ['A'], widths: [6] })).toThrow('two sheets named "SAME"');
  });

  it('names columns past Z and escapes what XML cannot hold as text', () => {
    expect([1, 26, 27, 52, 53, 702, 703].map(columnLetters)).toEqual(['A', 'Z', 'AA', 'AZ', 'BA', 'ZZ', 'AAA']);
    expect(xmlText('a<b>&"c"\u0000\u001f\ud7ff')).toBe('a&lt;b&gt;&amp;&quot;c&quot;\ud7ff');
  });
});
