// XLSX connector on workbooks the tests build with exceljs, read back through the streaming reader.
import fs, { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import { SourceDataError } from '../../activities/connectors/source-error';
import type { SourceRow } from '../../activities/connectors/source-record';
import { numberText, readXlsx, type XlsxOptions } from '../../activities/connectors/xlsx';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'finflow-xlsx-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function all(path: string, options?: XlsxOptions): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  for await (const row of readXlsx(path, options)) rows.push(row);
  return rows;
}

/** A ledger export: a notes sheet first, then the data with a title above the header (header on row 3). */
async function ledger(name: string, edit?: (ws: ExcelJS.Worksheet) => void): Promise<string> {
  const wb = new ExcelJS.Workbook();
  wb.addWorksheet('Notes').getCell('A1').value = 'exported by the ERP';
  const ws = wb.addWorksheet('Ledger');
  ws.getCell('A1').value = 'General ledger, October 2026';
  ws.getRow(3).values = ['account_code', 'amount', 'posted_on', 'memo'];
  ws.getRow(4).values = ['1000', 1234.56, new Date(Date.UTC(2026, 9, 31)), 'cash'];
  ws.getRow(5).values = [
    '1010',
    -0.1,
    new Date(Date.UTC(2026, 9, 1, 10, 30)),
    { richText: [{ text: 'rich ' }, { text: 'text' }] },
  ];
  // A formula whose cached result carries float noise: 0.1 + 0.2.
  ws.getRow(6).values = ['1020', { formula: 'B4*0+0.1+0.2', result: 0.1 + 0.2 }, '2026-10-15', null];
  ws.getRow(8).values = ['2000', 42, null, 'after an empty row'];
  edit?.(ws);
  const path = join(dir, name);
  // writeBuffer, not writeFile: exceljs's writeFile can end the file before the zip is flushed into it.
  writeFileSync(path, Buffer.from(await wb.xlsx.writeBuffer()));
  return path;
}

describe('XLSX connector', () => {
  it('reads a sheet by name below its title, turning every cell into exact text', async () => {
    const path = await ledger('ledger.xlsx');
    const rows = await all(path, {
      sheet: 'Ledger',
      headerRow: 3,
      keyFields: ['account_code'],
      amountFields: ['amount'],
    });
    expect(rows).toEqual([
      { line: 4, record: { account_code: '1000', amount: '1234.56', posted_on: '2026-10-31', memo: 'cash' } },
      {
        line: 5,
        record: { account_code: '1010', amount: '-0.1', posted_on: '2026-10-01T10:30:00', memo: 'rich text' },
      },
      { line: 6, record: { account_code: '1020', amount: '0.3', posted_on: '2026-10-15', memo: null } },
      { line: 8, record: { account_code: '2000', amount: '42', posted_on: null, memo: 'after an empty row' } },
    ]);
  });

  it('reads a sheet by its position in the workbook', async () => {
    const path = await ledger('by-index.xlsx');
    const rows = await all(path, { sheet: 2, headerRow: 3 });
    expect(rows).toHaveLength(4);
    const notes = await all(path, { sheet: 1, header: ['note'] });
    expect(notes).toEqual([{ line: 1, record: { note: 'exported by the ERP' } }]);
  });

  it('refuses a date-time in a declared date field, naming the row and field', async () => {
    const path = await ledger('datetime.xlsx');
    await expect(all(path, { sheet: 'Ledger', headerRow: 3, dateFields: ['posted_on'] })).rejects.toThrow(
      /^datetime\.xlsx row 5, field posted_on: not a date in the format yyyy-mm-dd: "2026-10-01T10:30:00"/,
    );
  });

  it('applies a declared text date format to text cells only: typed date cells are already ISO', async () => {
    const path = await ledger('dates.xlsx', (ws) => {
      ws.getCell('C5').value = new Date(Date.UTC(2026, 9, 1));
      ws.getCell('C6').value = '15.10.2026';
    });
    const rows = await all(path, {
      sheet: 'Ledger',
      headerRow: 3,
      dateFields: ['posted_on'],
      dateFormat: 'dd.mm.yyyy',
    });
    expect(rows.map((r) => r.record.posted_on)).toEqual(['2026-10-31', '2026-10-01', '2026-10-15', null]);
  });

  it('refuses a bad amount on row N, naming the row and field', async () => {
    const path = await ledger('bad-amount.xlsx', (ws) => {
      ws.getCell('B5').value = '12,3x';
    });
    await expect(all(path, { sheet: 'Ledger', headerRow: 3, amountFields: ['amount'] })).rejects.toThrow(
      /^bad-amount\.xlsx row 5, field amount: not a decimal amount: "12,3x"/,
    );
  });

  it('refuses an Excel error value in a cell', async () => {
    const path = await ledger('na.xlsx', (ws) => {
      ws.getCell('B8').value = { error: '#N/A' } as ExcelJS.CellErrorValue;
    });
    const err = await all(path, { sheet: 'Ledger', headerRow: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceDataError);
    expect(err).toMatchObject({ row: 8, field: 'amount', reason: 'cell holds the Excel error #N/A' });
  });

  it('refuses a missing key column, an empty key cell and a missing sheet', async () => {
    const path = await ledger('keys.xlsx');
    await expect(all(path, { sheet: 'Ledger', headerRow: 3, keyFields: ['acct_num'] })).rejects.toThrow(
      /^keys\.xlsx row 3, field acct_num: declared key field is not a column/,
    );
    await expect(all(path, { sheet: 'Ledger', headerRow: 3, keyFields: ['memo'] })).rejects.toThrow(
      /^keys\.xlsx row 6, field memo: key field is empty/,
    );
    await expect(all(path, { sheet: 'GL' })).rejects.toThrow(/no worksheet "GL" \(sheets: Notes, Ledger\)/);
  });

  it('refuses a value in a column that has no header', async () => {
    const path = await ledger('stray.xlsx', (ws) => {
      ws.getCell('F5').value = 'stray';
    });
    await expect(all(path, { sheet: 'Ledger', headerRow: 3 })).rejects.toThrow(
      /^stray\.xlsx row 5, field column 6: cell has a value but its column has no header/,
    );
  });
});

describe('XLSX connector on files that are not whole workbooks', () => {
  it('refuses a workbook cut short, and bytes that are not a workbook, as bad source data', async () => {
    const whole = await ledger('whole.xlsx');
    const cut = join(dir, 'cut.xlsx');
    const bytes = readFileSync(whole);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(all(cut, { sheet: 'Ledger', headerRow: 3 })).rejects.toThrow(
      /^cut\.xlsx: not a readable XLSX workbook \(no zip directory: cut short or another format\)/,
    );
    const text = join(dir, 'text.xlsx');
    writeFileSync(text, 'account,amount\n1000,5.00\n');
    await expect(all(text)).rejects.toBeInstanceOf(SourceDataError);
  });

  it('fails with the file system error, without crashing the process, when the file does not exist', async () => {
    await expect(all(join(dir, 'missing.xlsx'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('XLSX connector and the order of parts in the zip', () => {
  // A zip may hold its parts in any order. exceljs's writer, on a busy machine, sometimes puts the shared strings
  // before the worksheets and the workbook part (sheet names) last; exceljs's reader then parsed a worksheet before
  // it knew the sheets and failed ("reading 'sheets'"): the XLSX test that failed now and then in CI.
  it('reads a workbook whose shared strings come before its worksheets and whose workbook part comes last', async () => {
    const path = await ledger('order.xlsx');
    const src = await JSZip.loadAsync(readFileSync(path));
    const names = Object.keys(src.files).filter((n) => !src.files[n].dir);
    const rank = (n: string) =>
      n === 'xl/workbook.xml' ? 3 : n.startsWith('xl/worksheets/') ? 2 : n === 'xl/sharedStrings.xml' ? 0 : 1;
    const out = new JSZip();
    for (const n of [...names].sort((a, b) => rank(a) - rank(b))) out.file(n, await src.files[n].async('nodebuffer'));
    const reordered = join(dir, 'reordered.xlsx');
    writeFileSync(reordered, await out.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
    const order = Object.keys((await JSZip.loadAsync(readFileSync(reordered))).files);
    expect(order.indexOf('xl/sharedStrings.xml')).toBeLessThan(order.indexOf('xl/worksheets/sheet2.xml'));
    expect(order[order.length - 1]).toBe('xl/workbook.xml');
    expect(await all(reordered, { sheet: 'Ledger', headerRow: 3 })).toEqual(
      await all(path, { sheet: 'Ledger', headerRow: 3 }),
    );
    expect((await all(reordered, { sheet: 1, header: ['note'] }))[0].record.note).toBe('exported by the ERP');
  });
});

describe('XLSX connector clean-up', () => {
  // exceljs spools sheets that precede the shared strings (its own files do) to temporary files of the form
  // tmp-<pid>-*, and deletes them only when iteration walks past them. Before the reader drained the workbook on
  // an early stop, each such read left files behind.
  const spooled = () => readdirSync(tmpdir()).filter((f) => f.startsWith(`tmp-${process.pid}-`)).length;

  // The temporary files are removed asynchronously (close, then unlink): give that a moment, not forever.
  const settled = async () => {
    for (let i = 0; i < 100 && spooled() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    return spooled();
  };

  it('leaves no temporary file behind when the consumer stops early or a bad cell stops the read', async () => {
    const path = await ledger('cleanup.xlsx', (ws) => {
      ws.getCell('B6').value = 'not an amount';
    });
    expect(await settled()).toBe(0);
    for await (const row of readXlsx(path, { sheet: 1, header: ['note'] })) {
      expect(row.record.note).toBe('exported by the ERP');
      break;
    }
    await expect(all(path, { sheet: 'Ledger', headerRow: 3, amountFields: ['amount'] })).rejects.toThrow(/row 6/);
    expect(await settled()).toBe(0);
  });

  // A sheet skipped unread is destroyed before its spool file is opened; exceljs then deletes that file. When the
  // open runs late (a busy thread pool), it fails with ENOENT on a stream nobody reads: once an unhandled 'error'
  // event that failed whichever test was running (and would crash a worker). The delay makes that order certain.
  it('skips a spooled sheet without an error when its file is deleted before the abandoned stream opens it', async () => {
    const path = await ledger('late-open.xlsx');
    const open = fs.open;
    const spoolFile = new RegExp(`/tmp-${process.pid}-`);
    const spy = jest.spyOn(fs, 'open').mockImplementation(((...args: unknown[]) => {
      const late = typeof args[0] === 'string' && spoolFile.test(args[0]) && args[1] === 'r';
      const call = () => (open as (...a: unknown[]) => void).apply(fs, args);
      if (late) setTimeout(call, 50);
      else call();
    }) as typeof fs.open);
    try {
      const rows = await all(path, { sheet: 'Ledger', headerRow: 3 });
      expect(rows).toHaveLength(4);
      // Let the delayed opens run (and fail) while this test still owns the process.
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      spy.mockRestore();
    }
    expect(await settled()).toBe(0);
  });
});

describe('numberText', () => {
  it('gives back the decimal a person typed, never float noise or an exponent', () => {
    expect(numberText(0.1)).toBe('0.1');
    expect(numberText(1234.56)).toBe('1234.56');
    expect(numberText(-98765.4321)).toBe('-98765.4321');
    expect(numberText(123456789012.34)).toBe('123456789012.34');
    expect(numberText(0.1 + 0.2)).toBe('0.3');
    expect(numberText(1e21)).toBe('1000000000000000000000');
    expect(numberText(1.5e-7)).toBe('0.00000015');
    expect(() => numberText(Number.NaN)).toThrow(/not a finite number/);
  });
});
