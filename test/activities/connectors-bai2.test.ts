// BAI2 against the real-format samples in ../shared/samples/bai2 (moov-io/bai2 test data). Amounts are in minor
// units in the files; the expected figures below were added up by hand from the 16 records.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Dec } from '../../domain/money';
import { type Bai2File, parseBai2 } from '../../activities/connectors/bai2';
import { SourceDataError } from '../../activities/connectors/source-error';
import { parseStatementFile, parseStatementText } from '../../activities/connectors/statement-file';

const DIR = resolve(__dirname, '../../../shared/samples/bai2');

function read(name: string): Bai2File {
  return parseBai2(readFileSync(resolve(DIR, name), 'utf8'), resolve(DIR, name));
}

function text(name: string): string {
  return readFileSync(resolve(DIR, name), 'utf8');
}

function sum(amounts: string[]): string {
  return amounts.reduce((acc, a) => acc.plus(a), new Dec(0)).toFixed(2);
}

// Files whose trailers agree with their content, files read with integrity warnings (well-formed records, trailers
// that disagree), and the one file refused (samples/README.md names it as the broken one).
const VALID = ['sample1.txt', 'sample2.txt', 'sample3.txt'];
const WARNED = ['sample4-continuations-newline-delimited.txt', 'sample5-issue113.txt'];
const REFUSED = ['errors-sample-parseError.txt'];

describe('BAI2 connector', () => {
  it('accounts for every sample file, so a new sample cannot be skipped silently', () => {
    expect(readdirSync(DIR).sort()).toEqual([...VALID, ...WARNED, ...REFUSED].sort());
  });

  it('reads sample1 (two CAD accounts, slash-terminated) with detail totals equal to the 03 summaries', () => {
    const file = read('sample1.txt');
    expect(file.statements.map((s) => [s.account, s.currency, s.entries.length])).toEqual([
      ['10200123456', 'CAD', 11],
      ['10200123456', 'CAD', 6],
    ]);
    const [a, b] = file.statements;
    const credits = (s: typeof a) => sum(s.entries.filter((e) => !e.amount.startsWith('-')).map((e) => e.amount));
    const debits = (s: typeof a) => sum(s.entries.filter((e) => e.amount.startsWith('-')).map((e) => e.amount));
    // 03/88 summaries: 100 (credits) 208500 in 3 items and 400 (debits) 208500 in 8 items; then 111500 and 111500.
    expect([credits(a), debits(a)]).toEqual(['2085.00', '-2085.00']);
    expect(a.entries.filter((e) => e.amount.startsWith('-'))).toHaveLength(8);
    expect([credits(b), debits(b)]).toEqual(['1115.00', '-1115.00']);
    expect(a.entries[0]).toMatchObject({
      line: 5,
      amount: '-25.00',
      currency: 'CAD',
      bookingDate: '2006-03-17',
      valueDate: '2006-03-16',
      bankTransactionCode: '409',
      description: 'RETURNED CHEQUE',
    });
    expect(a.balances.map((x) => [x.type, x.amount])).toEqual([
      ['040', '0.00'],
      ['045', '0.00'],
    ]);
  });

  it('reads sample2: four groups, continuations that split summary fields, funds types S, V, D and 1', () => {
    const file = read('sample2.txt');
    expect(file.statements.map((s) => s.account)).toEqual([
      '0123456789',
      '9876543210',
      '4589761203',
      '0975312468',
      '7890654321',
    ]);
    const entries = file.statements.flatMap((s) => s.entries);
    // 4500.00 + 5000.00 + 200000.00 + 100000.00
    expect(entries).toHaveLength(4);
    expect(sum(entries.map((e) => e.amount))).toBe('309500.00');
    // No currency in 02 or 03: the BAI2 default applies.
    expect(file.statements.every((s) => s.currency === 'USD')).toBe(true);
    // The 16's text arrives in the 88 that follows it.
    expect(file.statements[2].entries[0]).toMatchObject({
      amount: '200000.00',
      valueDate: '2004-06-22',
      bankReference: 'SP4738',
      reference: 'YRC065321',
      description: 'PROCEEDS OF LETTER OF CREDIT FROM THE ARAMCO OIL CO',
    });
    // 03 9876543210: 010 is -500000, continued over two 88 records.
    expect(file.statements[1].openingBalance?.amount).toBe('-5000.00');
    expect(file.statements[1].entries[0].description).toBe('LOCK BOX NO.68751');
  });

  it('reads sample3 (records sharing lines, a record wrapped onto the next line) and balances every account', () => {
    const file = read('sample3.txt');
    expect(file.statements).toHaveLength(15);
    const entries = file.statements.flatMap((s) => s.entries);
    // -1.00 (31.00 - 32.00) - 307.03 - 149.51 - 56.24 + 316.73
    expect(entries).toHaveLength(26);
    expect(sum(entries.map((e) => e.amount))).toBe('-197.05');
    expect(file.statements.map((s) => s.balanceCheck.status)).toEqual(Array(15).fill('balanced'));
    // 010 -3500 + credits 3100 - debits 3200 = 015 -3600
    expect([file.statements[0].openingBalance?.amount, file.statements[0].closingBalance?.amount]).toEqual([
      '-35.00',
      '-36.00',
    ]);
    const wrapped = file.statements.find((s) => s.line === 17)!.entries[0];
    expect(wrapped).toMatchObject({ line: 18, amount: '25.00' });
    expect(wrapped.description).toBe('111111     ACH_SETL           1111111111\n111111111111111\n       1111111111');
  });

  it('refuses errors-sample-parseError.txt, whose only record has no known record code, naming line 1', () => {
    expect(() => read('errors-sample-parseError.txt')).toThrow(SourceDataError);
    expect(() => read('errors-sample-parseError.txt')).toThrow(
      /^errors-sample-parseError\.txt line 1: expected a record code .* found "00,0004,1\/2\/"/,
    );
  });

  it('reads the trailer-consistent samples with no integrity warnings', () => {
    for (const name of VALID) expect(read(name).warnings).toEqual([]);
  });

  it('reads sample4 and sample5 whole and reports each disagreeing trailer with its line, declared and computed', () => {
    for (const name of WARNED) {
      const file = read(name);
      expect(file.statements.map((s) => s.account)).toEqual([
        '107049924',
        '107049932',
        '104108339',
        '260000033037',
        '280000010657',
      ]);
      // Line 22 is "49,-1260161341762,26/"; the account's amounts are 6865898 + 1912 + 0 (03 summaries) and
      // 60000 + 143500 + 928650 (three newline-terminated 16 records) = 7999960, in 1 + 3 + 13 + 1 = 18 records.
      expect(file.warnings.slice(0, 2)).toEqual([
        {
          line: 22,
          record: '49',
          field: '49 control total',
          expected: '-1260161341762',
          computed: '7999960',
          message: `${name} line 22, field 49 control total: account control total declared -1260161341762, the account's amounts add up to 7999960: the file is incomplete or altered`,
        },
        expect.objectContaining({ line: 22, field: '49 number of records', expected: '26', computed: '18' }),
      ]);
      expect(file.statements[1].entries.map((e) => e.amount)).toEqual(['-600.00', '1435.00', '-9286.50']);
      // Every trailer of the file is checked: the file trailer (99) on the last line disagrees too.
      const last = file.warnings[file.warnings.length - 1];
      expect(last).toMatchObject({ record: '99', field: '99 number of records' });
      expect(last.line).toBe(text(name).trimEnd().split('\n').length);
    }
  });

  it('reads sample5 line 63 "88:EREF" as the continuation the bank meant and says so', () => {
    const file = read('sample5-issue113.txt');
    const check = file.statements[2].entries.find((e) => e.line === 62)!;
    expect(check.amount).toBe('9.31');
    expect(check.description).toMatch(/GS ID: SC213480000120999\nEREF: 07370568132\nCRNM: Test Inc\./);
    expect(file.warnings.filter((w) => w.record === '88')).toEqual([
      expect.objectContaining({ line: 63, field: '88 separator', expected: '88:', computed: '88,' }),
    ]);
    expect(read('sample4-continuations-newline-delimited.txt').warnings.some((w) => w.record === '88')).toBe(false);
  });

  it('refuses sample4 and sample5 in strict mode with the first disagreement, naming file and line', () => {
    for (const name of WARNED) {
      const strict = () => parseBai2(text(name), resolve(DIR, name), { strict: true });
      expect(strict).toThrow(SourceDataError);
      expect(strict).toThrow(
        new RegExp(
          `^${name.replace(/\./g, '\\.')} line 22, field 49 control total: account control total declared -1260161341762, the account's amounts add up to 7999960`,
        ),
      );
    }
  });

  it('passes strict mode through parseStatementText', () => {
    const name = WARNED[0];
    expect(() => parseStatementText(text(name), name, 'bai2', { bai2: { strict: true } })).toThrow(/line 22, field 49/);
    const lenient = parseStatementText(text(name), name, 'bai2') as ReturnType<typeof parseBai2>;
    expect(lenient.warnings.length).toBeGreaterThan(0);
  });

  // A file in the style of sample4/sample5 (newline-terminated records, slashes inside fields, 88 text), with
  // trailers that agree: account 100000 + 112500 (03) + 20000 + 7500 (16) = 240000; 5 records in the account,
  // 7 in the group, 9 in the file.
  const consistent = [
    '01,SENDER,RECEIVER,240102,0800,7,,,2/',
    '02,RECEIVER,BANK,1,240101,2400,USD,2/',
    '03,12345678,USD,010,100000,,,015,112500,,/',
    '16,195,20000,V,240101,,BANKREF1,AB/CD/0001,Invoice 08/18/23 paid',
    '88,EREF: AB/CD/0001',
    '16,475,7500,0,BANKREF2,,Check paid',
    '49,240000,5/ 98,240000,1,7/',
    '99,240000,1,9/',
  ].join('\n');

  it('reads newline-terminated records with slashes inside references and text', () => {
    const [s] = parseBai2(consistent, 'built.bai').statements;
    expect(s.entries).toEqual([
      expect.objectContaining({
        line: 4,
        amount: '200.00',
        valueDate: '2024-01-01',
        bookingDate: '2024-01-01',
        bankReference: 'BANKREF1',
        reference: 'AB/CD/0001',
        description: 'Invoice 08/18/23 paid\nEREF: AB/CD/0001',
      }),
      expect.objectContaining({ line: 6, amount: '-75.00', reference: null, description: 'Check paid' }),
    ]);
    // 1000.00 + 200.00 - 75.00 = 1125.00
    expect(s.balanceCheck).toEqual({ status: 'balanced', expectedClosing: '1125' });
  });

  it('in strict mode refuses a file whose account total, record count or group count disagrees with its content', () => {
    const strict = { strict: true };
    expect(() => parseBai2(consistent.replace('49,240000,5/', '49,240001,5/'), 'b.bai', strict)).toThrow(
      /^b\.bai line 7, field 49 control total: account control total declared 240001, the account's amounts add up to 240000/,
    );
    expect(() => parseBai2(consistent.replace('49,240000,5/', '49,240000,4/'), 'b.bai', strict)).toThrow(
      /^b\.bai line 7, field 49 number of records: declared "4" records, found 5/,
    );
    expect(() => parseBai2(consistent.replace('99,240000,1,9/', '99,240000,2,9/'), 'b.bai', strict)).toThrow(
      /line 8, field 99 number of groups: declared "2" groups, found 1/,
    );
  });

  it('by default reads such a file and returns one warning per disagreeing trailer field', () => {
    const file = parseBai2(
      consistent.replace('49,240000,5/', '49,240001,5/').replace('99,240000,1,9/', '99,240000,2,9/'),
      'b.bai',
    );
    expect(file.statements[0].entries).toHaveLength(2);
    expect(file.warnings.map((w) => [w.line, w.field, w.expected, w.computed])).toEqual([
      [7, '49 control total', '240001', '240000'],
      [8, '99 number of groups', '2', '1'],
    ]);
    expect(file.warnings[0].message).toBe(
      "b.bai line 7, field 49 control total: account control total declared 240001, the account's amounts add up to 240000: the file is incomplete or altered",
    );
  });

  it('refuses a cut file (no file trailer) and a count that is not a number, strict or not', () => {
    expect(() => parseBai2(consistent.replace(/\n99,.*$/, ''), 'b.bai')).toThrow(/no file trailer \(99\)/);
    expect(() => parseBai2(consistent.replace('49,240000,5/', '49,240000,x/'), 'b.bai')).toThrow(
      /^b\.bai line 7, field 49 number of records: not a count: "x"/,
    );
  });

  it('reads a continuation written "88:" as an 88 with a warning, and refuses it in strict mode', () => {
    const typo = consistent.replace('88,EREF', '88:EREF');
    const file = parseBai2(typo, 'b.bai');
    expect(file.statements[0].entries[0].description).toBe('Invoice 08/18/23 paid\nEREF: AB/CD/0001');
    expect(file.warnings).toEqual([expect.objectContaining({ line: 5, record: '88', field: '88 separator' })]);
    expect(() => parseBai2(typo, 'b.bai', { strict: true })).toThrow(
      /^b\.bai line 5: record 88 is not followed by a comma/,
    );
  });

  it('refuses a detail whose type code has no standard direction unless the bank-specific code is declared', () => {
    const custom = consistent.replace('16,475,7500', '16,901,7500');
    expect(() => parseBai2(custom, 'b.bai')).toThrow(
      /line 6, field 16 type code: type code 901 has no standard direction/,
    );
    const file = parseBai2(custom, 'b.bai', { customTypeCodes: { '901': 'debit' } });
    expect(file.statements[0].entries[1].amount).toBe('-75.00');
  });

  it('uses the currency of the account for implied decimals (JPY has none)', () => {
    const jpy = consistent.replace('03,12345678,USD', '03,12345678,JPY');
    const [s] = parseBai2(jpy, 'b.bai').statements;
    expect(s.entries.map((e) => e.amount)).toEqual(['20000', '-7500']);
    expect(s.currency).toBe('JPY');
  });

  it('refuses deletion and test-only groups, and impossible dates', () => {
    expect(() => parseBai2(consistent.replace('02,RECEIVER,BANK,1,', '02,RECEIVER,BANK,2,'), 'b.bai')).toThrow(
      /line 2, field 02 group status: group status 2 \(deletion\)/,
    );
    expect(() => parseBai2(consistent.replace('V,240101', 'V,240230'), 'b.bai')).toThrow(
      /line 4, field 16 value date: not a real calendar date: "240230"/,
    );
  });

  it('is reached through parseStatementFile, which tells BAI2 from the content', async () => {
    const file = await parseStatementFile(resolve(DIR, 'sample1.txt'));
    expect(file.format).toBe('bai2');
    expect(file.statements).toHaveLength(2);
    expect(parseStatementText(text('sample2.txt'), 'sample2.txt', 'bai2').statements).toHaveLength(5);
  });

  it('refuses a record after the file trailer and a signed transaction amount', () => {
    expect(() => parseBai2(`${consistent}\n02,RECEIVER,BANK,1,240101,2400,USD,2/`, 'b.bai')).toThrow(
      /^b\.bai line 9, field 02: record after the file trailer \(99\)/,
    );
    expect(() => parseBai2(consistent.replace('16,475,7500', '16,475,-7500'), 'b.bai')).toThrow(
      /line 6, field 16 amount: not an unsigned amount in minor units/,
    );
  });

  it('refuses a file whose format cannot be told, and one beyond the size limit', async () => {
    expect(() => parseStatementText('date;amount\n2024-01-01;5\n', 'x.csv')).toThrow(
      /^x\.csv line 1: not a bank statement format this reader knows/,
    );
    await expect(parseStatementFile(resolve(DIR, 'sample1.txt'), undefined, { maxBytes: 100 })).rejects.toThrow(
      /^sample1\.txt: the file is 1415 bytes, more than the limit of 100/,
    );
  });
});
