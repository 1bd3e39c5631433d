// camt.053 / camt.054 against the real-format samples in ../shared/samples/camt053 (genkgo/camt test data).
// Expected figures were read off the XML by hand; the arithmetic is spelled out next to each.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Dec } from '../../domain/money';
import { parseCamt } from '../../activities/connectors/camt053';
import { SourceDataError } from '../../activities/connectors/source-error';
import { parseStatementFile } from '../../activities/connectors/statement-file';
import { statementEntryRows, type StatementFile } from '../../activities/connectors/statement';

const DIR = resolve(__dirname, '../../../shared/samples/camt053');
const BROKEN = ['camt053.v2.wrong.xml'];

function read(name: string): StatementFile {
  return parseCamt(readFileSync(resolve(DIR, name), 'utf8'), resolve(DIR, name));
}

function sum(amounts: string[]): string {
  return amounts.reduce((acc, a) => acc.plus(a), new Dec(0)).toFixed();
}

// file -> [format, statements, entries per statement, sum of entries per statement]
const EXPECTED: Record<string, [string, number, number[], string[]]> = {
  'camt053.v2.all-balance-types.xml': ['camt053', 1, [1], ['8.85']],
  'camt053.v2.five.decimals.xml': ['camt053', 1, [1], ['8.85']],
  'camt053.v2.minimal.xml': ['camt053', 1, [1], ['8.85']],
  'camt053.v2.multi.statement.xml': ['camt053', 2, [1, 1], ['8.85', '-7']],
  'camt053.v3.xml': ['camt053', 1, [1], ['8.85']],
  'camt053.v4.xml': ['camt053', 1, [1], ['8.85']],
  'camt053.v8.xml': ['camt053', 1, [1], ['8.85']],
  'camt054.v2.xml': ['camt054', 1, [1], ['-200000']],
  'camt054.v8.xml': ['camt054', 1, [1], ['-200000']],
};

describe('camt.053 / camt.054 connector', () => {
  it('has an expectation for every sample file, so a new sample cannot be skipped silently', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.xml'));
    expect(files.filter((f) => !BROKEN.includes(f)).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))(
    'reads %s with every entry and its signed amount',
    (name, [format, n, counts, sums]) => {
      const file = read(name);
      expect(file.format).toBe(format);
      expect(file.statements).toHaveLength(n);
      expect(file.statements.map((s) => s.entries.length)).toEqual(counts);
      expect(file.statements.map((s) => sum(s.entries.map((e) => e.amount)))).toEqual(sums);
      for (const s of file.statements) {
        expect(s.account).toMatch(/^(NL26VAYB8060476890|CH2801234000123456789)$/);
        for (const e of s.entries) expect(e.line).toBeGreaterThan(1);
      }
    },
  );

  it('balances both statements of the multi-statement file: 18.15 + 8.85 = 27.00, then 27.00 - 7.00 = 20.00', () => {
    const [a, b] = read('camt053.v2.multi.statement.xml').statements;
    expect([a.statementId, b.statementId]).toEqual(['253EURNL26VAYB8060476890', '254EURNL26VAYB8060476890']);
    expect([a.openingBalance?.amount, a.closingBalance?.amount]).toEqual(['18.15', '27']);
    expect([b.openingBalance?.amount, b.closingBalance?.amount]).toEqual(['27', '20']);
    expect(a.balanceCheck).toEqual({ status: 'balanced', expectedClosing: '27' });
    expect(b.balanceCheck).toEqual({ status: 'balanced', expectedClosing: '20' });
    const debit = b.entries[0];
    expect(debit).toMatchObject({
      amount: '-7',
      currency: 'EUR',
      bookingDate: '2014-12-31',
      valueDate: '2015-01-02',
      reference: '000000002',
      counterparty: 'Company Name 2',
      counterpartyAccount: 'NL56AGDH9619008421',
      description: 'Transaction Description 2',
      bankTransactionCode: '544',
      status: 'BOOK',
      reversal: false,
    });
  });

  it('reports, not hides, a statement whose balances do not add up: 18.150 + 8.850 is 27.000, the file says 27.050', () => {
    const [s] = read('camt053.v2.five.decimals.xml').statements;
    expect(s.entries[0].amount).toBe('8.85');
    expect(s.balanceCheck).toEqual({ status: 'unbalanced', expectedClosing: '27', difference: '0.05' });
  });

  it('keeps all ten balance types of a statement in file order, with their dates', () => {
    const [s] = read('camt053.v2.all-balance-types.xml').statements;
    expect(s.balances.map((b) => `${b.type} ${b.amount} ${b.date}`)).toEqual([
      'OPBD 1.01 2015-01-21',
      'PRCD 2.02 2015-01-21',
      'OPAV 3.03 2015-01-22',
      'CLBD 4.04 2015-01-22',
      'CLAV 5.05 2015-01-23',
      'FWAV 6.06 2015-01-26',
      'INFO 7.07 2015-01-27',
      'ITAV 8.08 2015-01-28',
      'ITBD 9.09 2015-01-21',
      'XPCD 10.1 2015-01-21',
    ]);
    expect(s.openingBalance?.type).toBe('OPBD');
    // 1.01 + 8.85 = 9.86, the file's CLBD is 4.04
    expect(s.balanceCheck).toEqual({ status: 'unbalanced', expectedClosing: '9.86', difference: '-5.82' });
  });

  it('applies the debit sign to balances and does not compare balances in different currencies', () => {
    const [s] = read('camt053.v2.minimal.xml').statements;
    expect(s.balances.map((b) => [b.type, b.amount, b.currency])).toEqual([
      ['OPBD', '18.15', 'EUR'],
      ['CLBD', '-27', 'SEK'],
      ['OPAV', '35', 'CHF'],
      ['CLAV', '-2700', 'JPY'],
    ]);
    expect(s.balanceCheck.status).toBe('not_checked');
    // A credit's counterparty is the debtor; the creditor reference stands in for missing unstructured text.
    expect(s.entries[0]).toMatchObject({ counterparty: 'NAME NAME', description: '4654654654654654', reference: null });
  });

  it('reads the v3, v4 and v8 layouts: domain/family codes, Sts/Cd and a booking date-time', () => {
    expect(read('camt053.v3.xml').statements[0].entries[0].bankTransactionCode).toBe('PMNT/RCDT/DMCT');
    expect(read('camt053.v4.xml').statements[0].entries[0].bankTransactionCode).toBe('PAYM/0001/0005');
    const [v8] = read('camt053.v8.xml').statements[0].entries;
    expect(v8).toMatchObject({
      bookingDate: '2014-12-31',
      valueDate: '2015-01-02',
      status: 'BOOK',
      reference: 'MUELL/FINP/RA12345',
      bankReference: 'AAAASESS-FP-CN_98765/01',
    });
    // The v3 entry's transaction detail carries its own amount, which is kept beside the entry's.
    expect(read('camt053.v3.xml').statements[0].entries[0].details?.[0].amount).toBe('105.75');
  });

  it('reads camt.054 notifications into the same entry shape, keeping each batched transaction', () => {
    const v2 = read('camt054.v2.xml').statements[0];
    expect(v2.format).toBe('camt054');
    expect(v2.openingBalance).toBeNull();
    const [e] = v2.entries;
    expect(e).toMatchObject({
      amount: '-200000',
      currency: 'SEK',
      bookingDate: '2007-10-18',
      reference: 'MUELL/FINP/RA12345',
      bankReference: 'AAAASESS-FP-ACCR001',
      bankTransactionCode: 'PMNT/ICDT/DMCT',
    });
    expect(e.details).toHaveLength(3);
    const v8 = read('camt054.v8.xml').statements[0].entries[0];
    expect(v8.details?.map((d) => [d.endToEndId, d.amount, d.currency])).toEqual([
      ['UXC06170000006PI00001EE00001', '3.1', 'CHF'],
      ['UXC06170000006PI00001EE00002', '3.2', 'CHF'],
      ['UXC06170000006PI00001EE00002', '3.2', 'CHF'],
    ]);
    // Two different end-to-end ids: the entry itself has no single reference.
    expect(v8.reference).toBeNull();
  });

  it('refuses camt053.v2.wrong.xml, which has no statement, naming the file, line and element', () => {
    expect(() => read('camt053.v2.wrong.xml')).toThrow(SourceDataError);
    expect(() => read('camt053.v2.wrong.xml')).toThrow(
      /^camt053\.v2\.wrong\.xml line 3, field BkToCstmrStmt\/Stmt: no Stmt element/,
    );
  });

  it('refuses malformed XML with the line the XML validator points at', () => {
    const xml = readFileSync(resolve(DIR, 'camt053.v2.multi.statement.xml'), 'utf8').replace('</Amt>', '</Amnt>');
    const line = xml.slice(0, xml.indexOf('</Amnt>')).split('\n').length;
    expect(() => parseCamt(xml, 'bank.xml')).toThrow(new RegExp(`^bank\\.xml line ${line}: malformed XML`));
  });

  it('refuses a non-numeric amount and an impossible date, naming the entry element and its line', () => {
    const base = readFileSync(resolve(DIR, 'camt053.v2.multi.statement.xml'), 'utf8');
    const badAmount = base.replace('<Amt Ccy="EUR">7.00</Amt>', '<Amt Ccy="EUR">7,00</Amt>');
    const amtLine = badAmount.slice(0, badAmount.indexOf('7,00')).split('\n').length;
    expect(() => parseCamt(badAmount, 'bank.xml')).toThrow(
      new RegExp(`^bank\\.xml line ${amtLine}, field Stmt\\[2\\]/Ntry\\[1\\]/Amt: not a decimal amount: "7,00"`),
    );
    const badDate = base.replace('<Dt>2015-01-02</Dt>', '<Dt>2015-02-30</Dt>');
    expect(() => parseCamt(badDate, 'bank.xml')).toThrow(
      /field Stmt\[1\]\/Ntry\[1\]\/ValDt\/Dt: not a real calendar date: "2015-02-30"/,
    );
  });

  it('refuses an entry without a credit/debit indicator instead of guessing its sign', () => {
    const base = readFileSync(resolve(DIR, 'camt053.v2.multi.statement.xml'), 'utf8');
    const xml = base.replace(/(<Ntry>\s*<Amt Ccy="EUR">8\.85<\/Amt>\s*)<CdtDbtInd>CRDT<\/CdtDbtInd>/, '$1');
    expect(xml).not.toBe(base);
    expect(() => parseCamt(xml, 'bank.xml')).toThrow(
      /Stmt\[1\]\/Ntry\[1\]\/CdtDbtInd: missing credit\/debit indicator/,
    );
  });

  it('verifies the statement summary (TxsSummry) against the entries and refuses a mismatch', () => {
    const base = readFileSync(resolve(DIR, 'camt053.v2.multi.statement.xml'), 'utf8');
    const withSummary = (n: number, total: string) =>
      base.replace(
        '<Ntry>',
        `<TxsSummry><TtlNtries><NbOfNtries>${n}</NbOfNtries><Sum>${total}</Sum></TtlNtries></TxsSummry><Ntry>`,
      );
    expect(parseCamt(withSummary(1, '8.85'), 'bank.xml').statements[0].entries).toHaveLength(1);
    expect(() => parseCamt(withSummary(2, '8.85'), 'bank.xml')).toThrow(/declares 2 entries, the statement has 1/);
    expect(() => parseCamt(withSummary(1, '9.85'), 'bank.xml')).toThrow(/declares 9.85, the entries sum to 8.85/);
  });

  it('refuses a document type declaration', () => {
    const xml = `<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<Document/>`;
    expect(() => parseCamt(xml, 'evil.xml')).toThrow(/^evil\.xml line 2, field DOCTYPE: a DTD is not allowed/);
  });

  it('is reached through parseStatementFile, which tells camt from the content and honours a declared kind', async () => {
    const file = await parseStatementFile(resolve(DIR, 'camt054.v2.xml'));
    expect(file.format).toBe('camt054');
    await expect(parseStatementFile(resolve(DIR, 'camt054.v2.xml'), 'camt053')).rejects.toThrow(
      /expected camt053, the file is camt054/,
    );
    await expect(parseStatementFile(resolve(DIR, 'camt053.v8.xml'), 'mt940')).rejects.toThrow(
      /declared mt940, but the content is camt/,
    );
  });

  it('flattens statement entries into source rows, one per entry with its line', async () => {
    const rows = [];
    for await (const row of statementEntryRows([read('camt053.v2.multi.statement.xml')])) rows.push(row);
    expect(rows.map((r) => [r.record.statement_id, r.record.account, r.record.amount, r.record.reference])).toEqual([
      ['253EURNL26VAYB8060476890', 'NL26VAYB8060476890', '8.85', '000000001'],
      ['254EURNL26VAYB8060476890', 'NL26VAYB8060476890', '-7', '000000002'],
    ]);
    expect(rows.every((r) => r.line > 0 && r.record.currency === 'EUR' && r.record.format === 'camt053')).toBe(true);
  });

  it('refuses XML that is not a supported camt message: another ISO 20022 message, camt.052, an unknown version', () => {
    const doc = (ns: string) =>
      `<?xml version="1.0"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:${ns}"><X/></Document>`;
    expect(() => parseCamt(doc('pain.001.001.03'), 'p.xml')).toThrow(
      /^p\.xml line 2, field Document: not a camt\.053\/camt\.054 document/,
    );
    expect(() => parseCamt(doc('camt.052.001.02'), 'r.xml')).toThrow(
      /camt\.052 \(intraday account report\) is not supported/,
    );
    expect(() => parseCamt(doc('camt.053.001.01'), 'o.xml')).toThrow(/camt\.053\.001\.01 is not a supported version/);
    expect(() => parseCamt('<?xml version="1.0"?>\n<Other/>', 'x.xml')).toThrow(/no Document root element/);
  });
});
