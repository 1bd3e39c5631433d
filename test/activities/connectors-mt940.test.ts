// MT940 / MT942 against the real-format samples in ../shared/samples/mt940 (WoLpH/mt940 test data, from several
// banks). Entry counts are the :61: lines of each file; sums are the signed :61: amounts added by hand.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Dec } from '../../domain/money';
import { parseMt940 } from '../../activities/connectors/mt940';
import { SourceDataError } from '../../activities/connectors/source-error';
import { parseStatementFile } from '../../activities/connectors/statement-file';
import type { StatementFile } from '../../activities/connectors/statement';

const DIR = resolve(__dirname, '../../../shared/samples/mt940');
const BROKEN = ['betterplace-sepa_snippet_broken.sta', 'self-provided-february_30.sta'];

function read(name: string): StatementFile {
  return parseMt940(readFileSync(resolve(DIR, name), 'utf8'), resolve(DIR, name));
}

function sum(amounts: string[]): string {
  return amounts.reduce((acc, a) => acc.plus(a), new Dec(0)).toFixed();
}

// file -> [statements, entries (the file's :61: lines), signed sum of all entries]
const EXPECTED: Record<string, [number, number, string]> = {
  'betterplace-amount_formats.sta': [6, 0, '0'],
  'betterplace-empty_entry_date.sta': [1, 1, '50'],
  'betterplace-sepa_mt9401.sta': [26, 97, '-9269135.9'],
  // 87.30 (84437.04 - 84349.74) + 2200 (-800 + 3000) + 10040 (20000 - 10000 + 40)
  'cmxl-mt940.sta': [3, 16, '12327.3'],
  // -(9 + 11.59 + 11.63 + 11.8 + 13.45 + 15.49 + 107 + 141.48) - (9.49 + 15)
  'jejik-abnamro.sta': [2, 10, '-345.93'],
  // -25.03 - 3.03 - 1.11 - 20 - 1.10 + 3.68 + 1.00
  'jejik-ing.sta': [1, 7, '-45.59'],
  // (79.7 + 149.5) + (-79.9 + 10.1)
  'jejik-postfinance.sta': [2, 4, '159.4'],
  // (-25 - 10) twice
  'jejik-rabobank-iban.sta': [2, 4, '-70'],
  // -15.70 - 700
  'jejik-triodos.sta': [1, 2, '-715.7'],
  'mBank-mt940.sta': [1, 3, '0.03'],
  'mBank-mt942.sta': [1, 3, '0.03'],
};

describe('MT940 / MT942 connector', () => {
  it('has an expectation for every sample file, so a new sample cannot be skipped silently', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.sta'));
    expect(files.filter((f) => !BROKEN.includes(f)).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('reads %s without dropping an entry', (name, [statements, entries, total]) => {
    const file = read(name);
    expect(file.statements).toHaveLength(statements);
    const all = file.statements.flatMap((s) => s.entries);
    expect(all).toHaveLength(entries);
    expect(sum(all.map((e) => e.amount))).toBe(total);
  });

  it('balances all 26 statements of the SEPA sample, reversals (RC) included', () => {
    const file = read('betterplace-sepa_mt9401.sta');
    expect(file.statements.map((s) => s.balanceCheck.status)).toEqual(Array(26).fill('balanced'));
    // Statement 1: -1234718.36 + 300 + 335.33 + 15000 + 66295.08 + 915311.55 - 204.88 - 999946.95 = -1237628.23
    const first = file.statements[0];
    expect(first.openingBalance).toMatchObject({
      amount: '-1234718.36',
      currency: 'EUR',
      date: '2007-09-03',
      type: '60F',
    });
    expect(first.closingBalance).toMatchObject({ amount: '-1237628.23', date: '2007-09-04', type: '62F' });
    const reversal = first.entries.find((e) => e.line === 19)!;
    expect(reversal).toMatchObject({ amount: '-204.88', reversal: true, bankTransactionCode: 'NRTI' });
  });

  it('balances the statements whose figures are consistent, and reports those whose are not', () => {
    const status = (name: string) => read(name).statements.map((s) => s.balanceCheck.status);
    expect(status('cmxl-mt940.sta')).toEqual(['balanced', 'balanced', 'balanced']);
    expect(status('jejik-rabobank-iban.sta')).toEqual(['balanced', 'balanced']);
    expect(status('mBank-mt940.sta')).toEqual(['balanced']);
    // 229.2 - 79.9 + 10.1 = 159.4, the file closes at 159.6
    const post = read('jejik-postfinance.sta').statements[1].balanceCheck;
    expect(post).toEqual({ status: 'unbalanced', expectedClosing: '159.4', difference: '0.2' });
    expect(status('jejik-triodos.sta')).toEqual(['unbalanced']);
  });

  it('reads the amount formats SWIFT allows: a trailing comma, leading zeros, one decimal', () => {
    const file = read('betterplace-amount_formats.sta');
    expect(file.statements.map((s) => s.openingBalance?.amount)).toEqual([
      '380115.12',
      '380115.1',
      '380115',
      '0.12',
      '0.12',
      '1.12',
    ]);
    // A fragment without :20: is read, and says what it lacks.
    expect(file.statements[0].missing).toEqual(['20', '25', '28C', '62F']);
  });

  it('reads a statement line without an entry date, taking the value date as the booking date', () => {
    const [s] = read('betterplace-empty_entry_date.sta').statements;
    expect(s.entries[0]).toMatchObject({
      amount: '50',
      valueDate: '2011-07-01',
      bookingDate: '2011-07-01',
      bankTransactionCode: 'NZ10',
      reference: null,
    });
    expect(s.missing).toEqual(['20', '25', '28C', '60F', '62F']);
  });

  it('reads German structured :86: subfields: end-to-end id, counterparty name and account', () => {
    const s = read('betterplace-sepa_mt9401.sta').statements[1];
    expect(s.statementId).toBe('T089413956000001');
    const e = s.entries[0];
    expect(e).toMatchObject({
      amount: '15000.05',
      reference: 'EndToEndIdTFNR2000400001',
      bankReference: '0724710290621954',
      counterparty: 'Richter Renate 70 Zeichen Beginn Fuellzeichen xxxxxxxx',
      counterpartyAccount: 'DE42100100100043921105',
    });
    expect(e.description).toMatch(/^TO 13 TFNr 20004 Eingangskanal Mint/);
    expect(e.rawDescription).toContain('?32Ri\nchter Renate');
  });

  it('reads the /CODE/ layout of Rabobank, statements separated only by :20:, and supplementary details', () => {
    const file = read('jejik-rabobank-iban.sta');
    expect(file.statements.map((s) => [s.account, s.openingBalance?.amount, s.closingBalance?.amount])).toEqual([
      ['NL71RABO0123456789', '1000', '965'],
      ['NL71RABO0123456789', '965', '930'],
    ]);
    const [first, second] = file.statements[0].entries;
    expect(first).toMatchObject({
      amount: '-25',
      reference: '01-01-2013 12:00 0030000987654321',
      counterparty: 'CONTRA ACCOUNT HOLDER',
      supplementaryDetails: 'NL70ABNA0987654321',
    });
    expect(second).toMatchObject({ counterparty: 'JOHN DOE', description: 'Reference 201301234' });
  });

  it('reads bank preambles, SOH/ETX framing, continuation lines and a statement-level :86:', () => {
    const abn = read('jejik-abnamro.sta');
    expect(abn.statements.map((s) => [s.line, s.statementId, s.account])).toEqual([
      [4, 'ABN AMRO BANK NV', '517852257'],
      [32, 'ABN AMRO BANK NV', '517852257'],
    ]);
    expect(abn.statements[0].entries[0].description).toBe(
      'GIRO   428428 KPN - DIGITENNE    BETALINGSKENM.  000000042188659\n5314606715                       BETREFT FACTUUR D.D. 20-05-2011\nINCL. 1,44 BTW',
    );
    const ing = read('jejik-ing.sta').statements[0];
    expect(ing.information).toBe('D000004C000002D25,24C28,71');
    const mbank = read('mBank-mt940.sta').statements[0];
    expect(mbank).toMatchObject({
      statementId: 'ST170119CYC/1',
      account: 'PL29114010810000267002001002',
      currency: 'PLN',
    });
  });

  it('reads an MT942 interim report and checks its 90D/90C control totals', () => {
    const text = readFileSync(resolve(DIR, 'mBank-mt942.sta'), 'utf8');
    const file = parseMt940(text, 'mBank-mt942.sta');
    expect(file.format).toBe('mt942');
    expect(file.statements[0]).toMatchObject({
      format: 'mt942',
      creationDate: '2017-01-19T18:15+01:00',
      currency: 'PLN',
    });
    const altered = text.replace(':90C:3PLN0,03', ':90C:3PLN0,04');
    const line = text.split('\n').findIndex((l) => l.startsWith(':90C:')) + 1;
    expect(() => parseMt940(altered, 'mBank-mt942.sta')).toThrow(
      new RegExp(
        `^mBank-mt942\\.sta line ${line}, field 90C: declares 3 credit entries totalling 0\\.04; the report has 3 totalling 0\\.03`,
      ),
    );
    expect(() => parseMt940(text, 'x.sta', { expect: 'mt940' })).toThrow(/expected mt940, this statement is mt942/);
  });

  it('refuses the broken snippet (a :25: where the :86: belongs) naming file and line', () => {
    expect(() => read('betterplace-sepa_snippet_broken.sta')).toThrow(SourceDataError);
    expect(() => read('betterplace-sepa_snippet_broken.sta')).toThrow(
      /^betterplace-sepa_snippet_broken\.sta line 6, field 25: tag :25: is out of order \(it cannot follow :61:\)/,
    );
  });

  it('refuses February 30 with the line it is on', () => {
    expect(() => read('self-provided-february_30.sta')).toThrow(
      /^self-provided-february_30\.sta line 6, field 61: value date 160230 is not a real calendar date/,
    );
  });

  const statement = (body: string) =>
    [
      ':20:REF1',
      ':25:DE89370400440532013000',
      ':28C:1/1',
      ':60F:C231229EUR100,00',
      body,
      ':62F:C240102EUR150,00',
      '-',
    ].join('\n');

  it('dates an entry across the year end: value date 31 Dec, entry date 2 Jan of the next year', () => {
    const file = parseMt940(statement(':61:2312310102C50,00NTRFNONREF'), 'x.sta');
    expect(file.statements[0].entries[0]).toMatchObject({ valueDate: '2023-12-31', bookingDate: '2024-01-02' });
    expect(file.statements[0].balanceCheck.status).toBe('balanced');
  });

  it('refuses a statement line it cannot read, an amount with a decimal point, and a missing closing balance', () => {
    expect(() => parseMt940(statement(':61:231231XC50,00NTRFNONREF'), 'x.sta')).toThrow(
      /^x\.sta line 5, field 61: not a statement line/,
    );
    expect(() => parseMt940(statement(':61:231231C50.00NTRFNONREF'), 'x.sta')).toThrow(/line 5, field 61/);
    expect(() =>
      parseMt940(':20:REF1\n:25:DE89370400440532013000\n:28C:1/1\n:60F:C231229EUR100,00\n-', 'x.sta'),
    ).toThrow(/^x\.sta line 1, field 62F: statement starting here has no field 62F/);
  });

  it('reads a message inside a SWIFT envelope', () => {
    const text = `{1:F01BANKDEFFAXXX0000000000}{2:O9401200240102BANKDEFFAXXX00000000002401021200N}{4:\n${statement(
      ':61:2401020102C50,00NTRFNONREF//B1',
    ).replace(/-$/, '-}')}\n{5:{CHK:123456789ABC}}`;
    const [s] = parseMt940(text, 'x.sta').statements;
    expect(s).toMatchObject({ statementId: 'REF1', account: 'DE89370400440532013000' });
    expect(s.entries[0]).toMatchObject({ amount: '50', bankReference: 'B1' });
  });

  describe('through parseStatementFile', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'finflow-mt940-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('detects MT940 from the content', async () => {
      const file = await parseStatementFile(resolve(DIR, 'jejik-triodos.sta'));
      expect(file.format).toBe('mt940');
      expect(file.statements[0].account).toBe('TRIODOSBANK/0390123456');
    });

    it('reads a latin1 file when told, and refuses it as UTF-8 naming the line of the first bad byte', async () => {
      const text = statement(':61:2401020102C50,00NTRFNONREF\n:86:Überweisung Müller');
      const path = join(dir, 'latin1.sta');
      writeFileSync(path, Buffer.from(text, 'latin1'));
      const file = await parseStatementFile(path, 'mt940', { encoding: 'latin1' });
      expect(file.statements[0].entries[0].description).toBe('Überweisung Müller');
      await expect(parseStatementFile(path)).rejects.toThrow(/^latin1\.sta line 6: invalid UTF-8 byte 0xdc/);
    });
  });

  it('refuses text with no statement, an unknown tag, two :86: in a row and an MT942 tag in an MT940 statement', () => {
    expect(() => parseMt940('hello\nworld\n', 'x.sta')).toThrow(/^x\.sta: no MT940\/MT942 statement found/);
    expect(() => parseMt940(statement(':99:XYZ'), 'x.sta')).toThrow(
      /^x\.sta line 5, field 99: tag :99: is not part of/,
    );
    expect(() => parseMt940(statement(':61:2401020102C50,00NTRFNONREF\n:86:a\n:86:b'), 'x.sta')).toThrow(
      /^x\.sta line 7, field 86: two :86: fields in a row/,
    );
    expect(() => parseMt940(statement(':90D:1EUR5,00'), 'x.sta')).toThrow(
      /field 90D: tag :90D: does not belong in an MT940 statement/,
    );
  });
});
