// The bank reconciliation statement from a real statement file's closing balance, rendered to JSON, xlsx, HTML and
// PDF (read back with poppler's pdftotext, and its first page rendered with pdftoppm to find the red).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ExcelJS from 'exceljs';
import { closingBalanceOf } from '../../activities/connectors/closing-balance';
import { SourceDataError } from '../../activities/connectors/source-error';
import { parseStatementFile } from '../../activities/connectors/statement-file';
import { bankStatementHtml, writeBankStatementReports } from '../../activities/reports/bank-statement';
import { pdfItemSelection, renderBankStatementPdf } from '../../activities/reports/bank-statement-pdf';
import { bankReconciliationStatement, type StatementException } from '../../domain/recon/bank-statement';

const samples = resolve(__dirname, '../../../shared/samples');
const sample = (p: string) => parseStatementFile(join(samples, p));

describe('the balance per bank read from a statement file', () => {
  it('is the camt.053 CLBD balance', async () => {
    const b = closingBalanceOf(await sample('camt053/camt053.v2.all-balance-types.xml'));
    expect(b).toMatchObject({ amount: '4.04', currency: 'EUR', date: '2015-01-22', type: 'CLBD' });
    expect(b.account).toBe('CH2801234000123456789');
  });

  it('is the MT940 final :62F: over an intermediate :62M: of the same day', async () => {
    const b = closingBalanceOf(await sample('mt940/jejik-postfinance.sta'));
    expect(b).toMatchObject({ amount: '159.6', currency: 'CHF', date: '2014-04-07', type: '62F' });
  });

  it('is the BAI2 closing ledger (015) of the account named, in a file of several accounts', async () => {
    const file = await sample('bai2/sample4-continuations-newline-delimited.txt');
    expect(() => closingBalanceOf(file)).toThrow(/statements of 5 accounts .*name the account/);
    const b = closingBalanceOf(file, { account: '104108339' });
    expect(b).toMatchObject({ amount: '1593811.94', currency: 'USD', date: '2023-09-06', type: '015' });
  });

  it('is refused, naming the file and the statement lines, when the statement has no closing balance', async () => {
    for (const [path, name] of [
      ['camt053/camt054.v2.xml', 'camt054.v2.xml'],
      ['mt940/mBank-mt942.sta', 'mBank-mt942.sta'],
    ]) {
      const file = await sample(path);
      let err: unknown;
      try {
        closingBalanceOf(file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SourceDataError);
      expect((err as Error).message).toContain(name);
      expect((err as Error).message).toMatch(/no closing balance .* at line \d+: the bank reconciliation statement/);
    }
  });

  it('is refused when one account reports different closing balances of the same kind and day', async () => {
    const file = await sample('bai2/sample3.txt');
    expect(() => closingBalanceOf(file, { account: '1111111' })).toThrow(
      /sample3.txt line \d+: 7 closing balances of 2022-09-19 that disagree .*not for the report to guess/,
    );
  });
});

describe('the bank reconciliation statement as files', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'bank-statement-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const items: StatementException[] = [
    {
      id: 'G1',
      category: 'deposit_in_transit',
      open: true,
      currency: 'EUR',
      a: [],
      b: ['G1'],
      amount_a: '0.00',
      amount_b: '120.50',
    },
    {
      id: 'G2',
      category: 'outstanding_check',
      open: true,
      currency: 'EUR',
      a: [],
      b: ['G2'],
      amount_a: '0.00',
      amount_b: '-80.25',
    },
    {
      id: 'B1',
      category: 'bank_fee',
      open: true,
      currency: 'EUR',
      a: ['B1'],
      b: [],
      amount_a: '-1.75',
      amount_b: '0.00',
    },
  ];

  async function statementFor(books: string) {
    const bank = closingBalanceOf(await sample('camt053/camt053.v2.all-balance-types.xml'));
    return bankReconciliationStatement({
      currency: bank.currency,
      account: bank.account,
      period_end: '2015-01-22',
      bank_side: 'a',
      balance_per_bank: { amount: bank.amount, source: 'camt053.v2.all-balance-types.xml', date: bank.date },
      balance_per_books: { amount: books, source: 'GL 1000' },
      exceptions: items,
    });
  }

  it('writes JSON, an xlsx whose amounts read back as numbers, and an HTML page holding every figure', async () => {
    // 4.04 + 120.50 - 80.25 = 44.29 per bank; the books reach it after the fee: 46.04 - 1.75.
    const s = await statementFor('46.04');
    expect(s.agrees).toBe(true);
    const files = await writeBankStatementReports(s, dir, 'bank-vs-gl');
    expect(files.json.path).toBe(join(dir, 'bank-vs-gl_bank-statement_2015-01-22.json'));
    expect(JSON.parse(readFileSync(files.json.path, 'utf8'))).toEqual(s);
    expect(files.xlsx.sha256).toMatch(/^[0-9a-f]{64}$/);

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(files.xlsx.path);
    const ws = wb.getWorksheet('Bank reconciliation');
    const byLabel = new Map<string, ExcelJS.Row>();
    ws?.eachRow((row) => byLabel.set(String(row.getCell(1).value), row));
    const amount = (label: string) => byLabel.get(label)?.getCell(3).value;
    expect(amount('Balance per bank (camt053.v2.all-balance-types.xml, 2015-01-22)')).toBe(4.04);
    expect(amount('Deposits in transit')).toBe(120.5);
    expect(byLabel.get('Outstanding checks')?.getCell(2).value).toBe(1);
    expect(amount('Outstanding checks')).toBe(-80.25);
    expect(amount('Adjusted balance per bank')).toBe(44.29);
    expect(amount('Balance per books (GL 1000)')).toBe(46.04);
    expect(amount('Bank fees and charges')).toBe(-1.75);
    expect(amount('Adjusted balance per books')).toBe(44.29);
    expect(amount('Difference (adjusted balances agree)')).toBe(0);
    expect(byLabel.get('Adjusted balance per bank')?.getCell(3).numFmt).toBe('#,##0.00;-#,##0.00');
    const itemRows: unknown[][] = [];
    wb.getWorksheet('Reconciling items')?.eachRow((row, n) => {
      if (n > 1) itemRows.push((row.values as unknown[]).slice(1));
    });
    expect(itemRows).toEqual([
      ['deposit_in_transit', 'deposit_in_transit', 'G1', undefined, 'G1', 120.5, 'yes'],
      ['outstanding_check', 'outstanding_check', 'G2', undefined, 'G2', -80.25, 'yes'],
      ['bank_fee', 'bank_fee', 'B1', 'B1', undefined, -1.75, 'yes'],
    ]);

    const html = readFileSync(files.html.path, 'utf8');
    for (const figure of ['4.04', '120.50', '-80.25', '44.29', '46.04', '-1.75', '0.00', 'CH2801234000123456789'])
      expect(html).toContain(figure);
    expect(html).toContain('adjusted balances agree');
    expect(html).not.toContain('class="difference flag"');
  });

  it('shows an unexplained difference in red in the HTML and the xlsx', async () => {
    const s = await statementFor('146.04');
    expect(s.unexplained_difference).toBe('-100.00');
    const files = await writeBankStatementReports(s, dir, 'bank-vs-gl');
    const html = readFileSync(files.html.path, 'utf8');
    expect(html).toMatch(
      /<tr class="difference flag"><td>UNEXPLAINED DIFFERENCE[^<]*<\/td><td class="num"><\/td><td class="num">-100.00<\/td>/,
    );
    expect(html).toContain('does not agree: unexplained difference -100.00');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(files.xlsx.path);
    let found = false;
    wb.getWorksheet('Bank reconciliation')?.eachRow((row) => {
      if (!String(row.getCell(1).value).startsWith('UNEXPLAINED DIFFERENCE')) return;
      found = true;
      expect(row.getCell(3).value).toBe(-100);
      expect(row.getCell(3).font?.color?.argb).toBe('FFC00000');
    });
    expect(found).toBe(true);
  });

  const pdftotext = (pdf: string) => execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
  /** Pixels of page 1 (rendered at 40 dpi) that are clearly red: the statement's colour for what does not agree. */
  const redPixels = (pdf: string): number => {
    const ppm = execFileSync('pdftoppm', ['-r', '40', '-f', '1', '-l', '1', pdf]);
    // Binary PPM: "P6\n<w> <h>\n255\n" then RGB bytes.
    const head = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.subarray(0, 40).toString('latin1'))!;
    let n = 0;
    for (let p = head[0].length; p + 2 < ppm.length; p += 3)
      if (ppm[p] > 150 && ppm[p + 1] < 80 && ppm[p + 2] < 80) n++;
    return n;
  };

  it('writes a PDF whose text holds every figure of the statement and every item, with no red when it agrees', async () => {
    const s = await statementFor('46.04');
    const files = await writeBankStatementReports(s, dir, 'bank-vs-gl');
    expect(files.pdf.path).toBe(join(dir, 'bank-vs-gl_bank-statement_2015-01-22.pdf'));
    expect(readFileSync(files.pdf.path).subarray(0, 5).toString()).toBe('%PDF-');
    const text = pdftotext(files.pdf.path);
    expect(text).toContain('Bank reconciliation statement');
    expect(text).toContain('Account CH2801234000123456789 - EUR - period end 2015-01-22 - reconciliation bank-vs-gl');
    expect(text).toContain('Adjusted balances agree. 0 item(s) to explain.');
    expect(text).toMatch(/Balance per bank \(camt053\.v2\.all-balance-types\.xml, 2015-01-22\)\s+4\.04/);
    expect(text).toMatch(/Deposits in transit\s+1\s+120\.50/);
    expect(text).toMatch(/Outstanding checks\s+1\s+-80\.25/);
    expect(text).toMatch(/Adjusted balance per bank\s+44\.29/);
    expect(text).toMatch(/Balance per books \(GL 1000\)\s+46\.04/);
    expect(text).toMatch(/Bank fees and charges\s+1\s+-1\.75/);
    expect(text).toMatch(/Adjusted balance per books\s+44\.29/);
    expect(text).toMatch(/Difference \(adjusted balances agree\)\s+0\.00/);
    // Page 2: the items by kind with subtotals.
    expect(text).toMatch(/Deposits in transit: 1 item\(s\)\s+G1\s+deposit_in_transit\s+G1\s+120\.50\s+yes/);
    expect(text).toMatch(/Bank fees and charges: 1 item\(s\)\s+B1\s+bank_fee\s+B1\s+-1\.75\s+yes/);
    expect(text.match(/Subtotal/g)).toHaveLength(3);
    expect(redPixels(files.pdf.path)).toBe(0);
    // Dated the period end, not the clock: the same statement gives the same bytes.
    expect((await renderBankStatementPdf(s, { reconId: 'bank-vs-gl' })).equals(readFileSync(files.pdf.path))).toBe(
      true,
    );
  });

  it('shows an unexplained difference in red in the PDF, and caps its item list with those to explain first', async () => {
    const s = await statementFor('146.04');
    const files = await writeBankStatementReports(s, dir, 'bank-vs-gl');
    const text = pdftotext(files.pdf.path);
    expect(text).toContain('DOES NOT AGREE: unexplained difference -100.00 EUR.');
    expect(text).toMatch(/UNEXPLAINED DIFFERENCE \(adjusted per bank - adjusted per books\)\s+-100\.00/);
    expect(redPixels(files.pdf.path)).toBeGreaterThan(20);

    const input = {
      currency: 'EUR',
      period_end: '2015-01-22',
      bank_side: 'a' as const,
      balance_per_bank: { amount: '0.00', source: 'x' },
      balance_per_books: { amount: '0.00', source: 'y' },
      exceptions: [
        ...items,
        {
          id: 'B2',
          category: 'missing_in_b',
          open: true,
          currency: 'EUR',
          a: ['B2'],
          b: [],
          amount_a: '5.00',
          amount_b: '0.00',
        },
      ],
    };
    const withOther = bankReconciliationStatement(input);
    const sel = pdfItemSelection(withOther, 2);
    expect(sel.shown.map((i) => i.exception_id)).toEqual(['B2', 'G1']);
    expect(sel.note).toBe(
      "This PDF lists 2 of 4 reconciling items, those to explain first. The complete list is in the statement's JSON " +
        'and xlsx. Subtotals cover every item of their kind, listed or not.',
    );
    const capped = join(dir, 'capped.pdf');
    writeFileSync(capped, await renderBankStatementPdf(withOther, { maxItems: 2 }));
    const cappedText = pdftotext(capped);
    expect(cappedText).toContain('This PDF lists 2 of 4 reconciling items');
    expect(cappedText).toMatch(/Outstanding checks: 1 item\(s\) \(0 listed here\)/);
    expect(pdfItemSelection(withOther).note).toBeUndefined();
    // No item, no item page.
    const empty = bankReconciliationStatement({ ...input, exceptions: [] });
    const one = join(dir, 'empty.pdf');
    writeFileSync(one, await renderBankStatementPdf(empty));
    expect(execFileSync('pdfinfo', [one], { encoding: 'utf8' })).toMatch(/Pages:\s+1\n/);
  });

  it('escapes what the sources wrote before it goes into the HTML', () => {
    const s = bankReconciliationStatement({
      currency: 'EUR',
      account: '<b>acct</b>',
      period_end: '2026-01-31',
      bank_side: 'a',
      balance_per_bank: { amount: '1.00', source: 'a&b.xml' },
      balance_per_books: { amount: '1.00', source: 'GL "1000"' },
      exceptions: [],
    });
    const html = bankStatementHtml(s);
    expect(html).toContain('&lt;b&gt;acct&lt;/b&gt;');
    expect(html).toContain('a&amp;b.xml');
    expect(html).not.toContain('<b>acct');
  });
});
