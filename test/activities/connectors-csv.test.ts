// CSV connector and the pieces every file connector shares (decoding, amounts, dates, the failure type), on files
// the tests write to a temporary directory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { readCsv, type CsvOptions } from '../../activities/connectors/csv';
import { SourceDataError, toSourceFailure } from '../../activities/connectors/source-error';
import {
  calendarDate,
  normaliseAmount,
  normaliseDate,
  type SourceRow,
} from '../../activities/connectors/source-record';
import { decodeText } from '../../activities/connectors/text-decode';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'finflow-csv-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function all(path: string, options?: CsvOptions): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  for await (const row of readCsv(path, options)) rows.push(row);
  return rows;
}

describe('CSV connector', () => {
  it('reads a latin1 file with ; delimiters, decimal commas, digit groups and German dates', async () => {
    const text =
      'Konto;Betrag;Datum;Name\r\n4711;1.234,56;31.01.2024;Müller GmbH\r\n4712;-0,50;29.02.2024;Señor Ñandú\r\n';
    const path = file('latin1.csv', Buffer.from(text, 'latin1'));
    const rows = await all(path, {
      delimiter: ';',
      encoding: 'latin1',
      keyFields: ['Konto'],
      amountFields: ['Betrag'],
      dateFields: ['Datum'],
      amountFormat: { decimal: ',', group: '.' },
      dateFormat: 'dd.mm.yyyy',
    });
    expect(rows).toEqual([
      { line: 2, record: { Konto: '4711', Betrag: '1234.56', Datum: '2024-01-31', Name: 'Müller GmbH' } },
      { line: 3, record: { Konto: '4712', Betrag: '-0.5', Datum: '2024-02-29', Name: 'Señor Ñandú' } },
    ]);
  });

  it('refuses a row with more fields than the header (an unquoted decimal comma, say) naming its line', async () => {
    const path = file('bad-row.csv', 'id,amount\na,1.00\nb,2.00\nc,3,00\nd,4.00\n');
    await expect(all(path, { amountFields: ['amount'] })).rejects.toThrow(
      /^bad-row\.csv line 4: has 3 fields, the header has 2/,
    );
  });

  it('refuses a bad amount on row N naming the file, its line and the field', async () => {
    const quoted = file('bad-amount-2.csv', 'id,amount\na,1.00\nb,2.00\nc,12.3x\n');
    const err = await all(quoted, { amountFields: ['amount'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceDataError);
    expect(err).toMatchObject({
      line: 4,
      field: 'amount',
      message: 'bad-amount-2.csv line 4, field amount: not a decimal amount: "12.3x"',
    });
  });

  it('refuses a declared key field that is not a column, at the header line, before reading any data', async () => {
    const path = file('no-key.csv', 'account,amount\n1000,5.00\n');
    await expect(all(path, { keyFields: ['account_code'] })).rejects.toThrow(
      /^no-key\.csv line 1, field account_code: declared key field is not a column of the source \(columns: account, amount\)/,
    );
  });

  it('refuses a row whose key field is empty', async () => {
    const path = file('empty-key.csv', 'account,amount\n1000,5.00\n,6.00\n');
    await expect(all(path, { keyFields: ['account'] })).rejects.toThrow(
      /^empty-key\.csv line 3, field account: key field is empty/,
    );
  });

  it('refuses invalid UTF-8 with the line of the first bad byte instead of replacing it', async () => {
    const bytes = Buffer.concat([
      Buffer.from('name,amount\nok,1.00\nalso ok,2.00\n'),
      Buffer.from([0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72]), // "Müller" in latin1
      Buffer.from(',3.00\n'),
    ]);
    const path = file('not-utf8.csv', bytes);
    await expect(all(path)).rejects.toThrow(/^not-utf8\.csv line 4: invalid UTF-8 byte 0xfc/);
    // A truncated multi-byte character at the very end is refused too.
    const cut = file('cut.csv', Buffer.concat([Buffer.from('name\nx'), Buffer.from([0xe2, 0x82])]));
    await expect(all(cut)).rejects.toThrow(/^cut\.csv line 2: the file ends inside a UTF-8 character/);
  });

  it('reads valid multi-byte UTF-8 split across read chunks', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},€ ${i} äöü 日本`);
    const path = file('utf8.csv', `id,text\n${rows.join('\n')}\n`);
    const out = await all(path);
    expect(out).toHaveLength(5000);
    expect(out[4999]).toEqual({ line: 5001, record: { id: '4999', text: '€ 4999 äöü 日本' } });
  });

  it('keeps line numbers right after a quoted field that spans lines and after blank lines', async () => {
    const path = file('multiline.csv', 'id,memo,amount\n1,"two\nlines",1.00\n\n\n2,plain,x\n');
    const err = await all(path, { amountFields: ['amount'] }).catch((e: unknown) => e as SourceDataError);
    expect(err).toMatchObject({ line: 6, field: 'amount' });
  });

  it('reads a file without a header line, given the column names', async () => {
    const path = file('no-header.csv', "'A1'|10\n'B2'|-2.5\n");
    const rows = await all(path, { header: ['code', 'amount'], delimiter: '|', quote: "'", amountFields: ['amount'] });
    expect(rows.map((r) => r.record)).toEqual([
      { code: 'A1', amount: '10' },
      { code: 'B2', amount: '-2.5' },
    ]);
    expect(rows.map((r) => r.line)).toEqual([1, 2]);
  });

  it('reads UTF-16LE with a byte-order mark, and windows-1252 with its euro sign', async () => {
    const utf16 = file('utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('k,v\nß,1\n', 'utf16le')]));
    expect((await all(utf16, { encoding: 'utf-16le' }))[0].record).toEqual({ k: 'ß', v: '1' });
    const cp1252 = file('cp1252.csv', Buffer.from([...Buffer.from('k,v\n'), 0x80, ...Buffer.from(',1\n')]));
    expect((await all(cp1252, { encoding: 'windows-1252' }))[0].record).toEqual({ k: '€', v: '1' });
    // 0x81 is not assigned in windows-1252: refused, not replaced.
    const undefinedByte = file(
      'cp1252-bad.csv',
      Buffer.from([...Buffer.from('k,v\nok,1\n'), 0x81, ...Buffer.from(',1\n')]),
    );
    await expect(all(undefinedByte, { encoding: 'windows-1252' })).rejects.toThrow(
      /^cp1252-bad\.csv line 3: byte not defined in windows-1252/,
    );
    const odd = file('utf16-odd.csv', Buffer.concat([Buffer.from('k,v\n', 'utf16le'), Buffer.from([0x41])]));
    await expect(all(odd, { encoding: 'utf-16le' })).rejects.toThrow(/odd number of bytes/);
  });

  it('refuses an unknown encoding, duplicate column names and a malformed quote', async () => {
    const path = file('plain.csv', 'a,b\n1,2\n');
    await expect(all(path, { encoding: 'ebcdic' })).rejects.toThrow(/unsupported encoding "ebcdic"/);
    await expect(all(file('dup.csv', 'a,a\n1,2\n'))).rejects.toThrow(
      /^dup\.csv line 1, field a: column name appears twice/,
    );
    await expect(all(file('proto.csv', 'a,__proto__\n1,2\n'))).rejects.toThrow(/field __proto__: unusable column name/);
    await expect(all(file('quote.csv', 'a,b\n1,"x"y\n'))).rejects.toThrow(/^quote\.csv line 2: malformed CSV/);
  });

  it('fails with the file system error, without crashing the process, when the file does not exist', async () => {
    await expect(all(join(dir, 'missing.csv'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('streams: a consumer may stop after the first rows of a large file', async () => {
    const body = Array.from({ length: 200_000 }, (_, i) => `${i},${i}.01`).join('\n');
    const path = file('big.csv', `id,amount\n${body}\n`);
    const seen: string[] = [];
    for await (const row of readCsv(path, { amountFields: ['amount'] })) {
      seen.push(row.record.amount!);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['0.01', '1.01', '2.01']);
  });
});

describe('shared value checks', () => {
  it('knows real calendar dates', () => {
    expect(calendarDate(2024, 2, 29)).toBe('2024-02-29');
    expect(calendarDate(2023, 2, 29)).toBeNull();
    expect(calendarDate(2000, 2, 29)).toBe('2000-02-29');
    expect(calendarDate(1900, 2, 29)).toBeNull();
    expect(calendarDate(2024, 4, 31)).toBeNull();
    expect(() => normaliseDate('2024-02-30')).toThrow(/not a real calendar date: "2024-02-30"/);
    expect(normaliseDate('02/01/2024', 'mm/dd/yyyy')).toBe('2024-02-01');
    expect(normaliseDate('20240201', 'yyyymmdd')).toBe('2024-02-01');
  });

  it('normalises amounts exactly and refuses what is not an amount', () => {
    expect(normaliseAmount('0012.50')).toBe('12.5');
    expect(normaliseAmount('1,234,567.891', { group: ',' })).toBe('1234567.891');
    expect(normaliseAmount("1'234.5", { group: "'" })).toBe('1234.5');
    expect(normaliseAmount('-0,01', { decimal: ',' })).toBe('-0.01');
    expect(normaliseAmount('123456789012345678901234.5678')).toBe('123456789012345678901234.5678');
    for (const bad of ['', '1e5', '1,2,3', '12.34.56', 'NaN', '1 234']) {
      expect(() => normaliseAmount(bad, { group: ',' })).toThrow(/not a decimal amount/);
    }
    expect(() => normaliseAmount('1.5', { decimal: ',' })).toThrow(/decimal comma expected/);
  });

  it('decodes whole buffers strictly', () => {
    expect(decodeText(Buffer.from('\uFEFFabc'), 'x')).toBe('abc');
    expect(() => decodeText(Buffer.from([0x61, 0x0a, 0xed, 0xa0, 0x80]), 'x.txt')).toThrow(
      /^x\.txt line 2: invalid UTF-8 byte 0xed/,
    );
  });

  it('turns a SourceDataError into a non-retryable SourceDataError failure and leaves other errors alone', () => {
    const err = new SourceDataError(
      { source: '/data/in/bank.csv', line: 12, field: 'Amt' },
      'not a decimal amount: "x"',
    );
    expect(err.message).toBe('bank.csv line 12, field Amt: not a decimal amount: "x"');
    const failure = toSourceFailure(err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({
      type: 'SourceDataError',
      nonRetryable: true,
      message: 'bank.csv line 12, field Amt: not a decimal amount: "x"',
      details: [{ source: 'bank.csv', line: 12, row: null, field: 'Amt', reason: 'not a decimal amount: "x"' }],
    });
    const other = new Error('disk on fire');
    expect(toSourceFailure(other)).toBe(other);
  });
});
