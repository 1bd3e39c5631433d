// BAI2 cash management balance reporting: 01 file header, 02 group, 03 account with summaries, 16 transaction
// detail, 88 continuation, 49/98/99 trailers. The trailers' control totals and record counts are verified against
// the content. Real banks' files do ship with trailers that disagree (moov-io's sample4/sample5 declare an account
// total of -1260161341762), while every record in them is well formed; refusing such a file would leave the
// controller with no statement at all. So by default a disagreement is an integrity warning on the parsed file
// (which trailer, on which line, declared vs computed) for the caller to surface, and `strict: true` refuses the
// file with that same message. A missing trailer is still a refusal: that is how a cut file looks.
//
// Framing, as real files write it: a record ends at a '/' or at the end of the line, several records may share a
// line ("...2/   02,..."), a long record may wrap onto a line that does not start with a record code, and free
// text may itself contain '/' ("AB/GS/RP0001", "08/18/23"). So a '/' ends a record only when what follows it is
// blank or the start of another record. A '/' in text followed by something that looks exactly like a record
// start ("/16,") would be misread; no other reading of the format avoids that.
//
// Amounts have implied decimals: the currency's minor units (USD 12345 is 123.45, JPY 12345 is 12345).
import { currencyDecimals, minorToString } from '../../domain/money';
import { SourceDataError, quote } from './source-error';
import { yymmdd } from './source-record';
import { checkBalance, type Balance, type BankStatement, type StatementEntry, type StatementFile } from './statement';

export interface Bai2Options {
  /**
   * Currency when neither the group (02) nor the account (03) names one. The BAI2 default is the currency of the
   * originating bank's country; 'USD' unless told otherwise.
   */
  defaultCurrency?: string;
  /** Direction of bank-specific detail type codes (900-999), which the standard leaves to each bank. */
  customTypeCodes?: Record<string, 'credit' | 'debit'>;
  /** Refuse a file whose trailers disagree with its content, or whose record codes are mistyped (default false). */
  strict?: boolean;
}

/** A disagreement the parser read past: where, what the file declared and what its content adds up to. */
export interface Bai2Warning {
  /** 1-based line of the trailer (or mistyped record). */
  line: number;
  /** Record code: '49', '98', '99' for trailers, or the mistyped record's code. */
  record: string;
  /** The field, as errors name it: '49 control total', '98 number of records', ... */
  field: string;
  /** What the file declares (minor units for totals, a count for counts, the text as written otherwise). */
  expected: string;
  /** What the content adds up to, or how the parser read it. */
  computed: string;
  /** The full sentence, "<file> line N, field F: ...", the same text strict mode throws. */
  message: string;
}

/** A BAI2 file: the statements plus the integrity warnings found while reading it (empty when all agree). */
export interface Bai2File extends StatementFile {
  warnings: Bai2Warning[];
}

interface PhysicalRecord {
  code: string;
  content: string;
  line: number;
  terminated: boolean;
}

interface LogicalRecord {
  code: string;
  content: string;
  line: number;
  /** Physical records it was built from (itself plus its 88 continuations), for the trailers' counts. */
  physical: number;
}

const CODES = ['01', '02', '03', '16', '49', '88', '98', '99'];
const START = new RegExp(`^(${CODES.join('|')}),`);
const LOOKS_LIKE_START = new RegExp(`^(${CODES.join('|')})[:;.]`);

export function parseBai2(text: string, source: string, options: Bai2Options = {}): Bai2File {
  return new Bai2Reader(source, options).read(text);
}

class Bai2Reader {
  private readonly warnings: Bai2Warning[] = [];

  constructor(
    private readonly source: string,
    private readonly options: Bai2Options,
  ) {}

  read(text: string): Bai2File {
    // Records are produced lazily, so problems are reported in file order: a bad trailer on line 20 is named
    // before a malformed record on line 60.
    const records = new Peekable(this.merge(this.split(text)));
    if (records.peek() === undefined) this.fail(1, undefined, 'the file is empty');
    return this.interpret(records);
  }

  /**
   * Physical records: split at terminating slashes and at line ends, re-joining wrapped lines. A record is held
   * back until the next line shows whether it wraps.
   */
  private *split(text: string): Generator<PhysicalRecord> {
    const lines = text.split(/\r\n|\r|\n/);
    let pending: PhysicalRecord | undefined;
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      let rest = lines[i];
      if (rest.trim() === '') continue;
      const lead = rest.trimStart();
      if (LOOKS_LIKE_START.test(lead)) {
        // "88:EREF: ..." (moov-io's sample5): a record code with a mistyped separator. Reading it as a wrapped
        // line of text would hide a continuation inside the previous record; reading it as the record it names
        // is what the bank meant, and the caller is told.
        const why = `record ${lead.slice(0, 2)} is not followed by a comma (${quote(lead.slice(0, 8))})`;
        if (this.options.strict) this.fail(lineNo, undefined, why);
        this.warn(
          lineNo,
          lead.slice(0, 2),
          `${lead.slice(0, 2)} separator`,
          lead.slice(0, 3),
          `${lead.slice(0, 2)},`,
          `${why}; read as record ${lead.slice(0, 2)}`,
        );
        rest = `${lead.slice(0, 2)},${lead.slice(3)}`;
        if (pending) pending.terminated = true;
      } else if (pending && !pending.terminated && !START.test(lead)) {
        // The previous record wrapped onto this line.
        const end = terminatorIndex(rest, 0);
        pending.content = `${pending.content.trimEnd()}\n${end === -1 ? rest : rest.slice(0, end)}`;
        if (end === -1) continue;
        pending.terminated = true;
        rest = rest.slice(end + 1);
      }
      for (;;) {
        const s = rest.trimStart();
        if (s === '') break;
        const m = START.exec(s);
        if (!m) {
          this.fail(
            lineNo,
            undefined,
            `expected a record code (${CODES.join(', ')}) and a comma, found ${quote(s.slice(0, 12))}`,
          );
        }
        if (pending) yield pending;
        const end = terminatorIndex(s, 3);
        if (end === -1) {
          pending = { code: m[1], content: s.slice(3), line: lineNo, terminated: false };
          break;
        }
        pending = { code: m[1], content: s.slice(3, end), line: lineNo, terminated: true };
        rest = s.slice(end + 1);
      }
      // A record that runs to the end of its line is complete unless the next line proves otherwise.
    }
    if (pending) yield pending;
  }

  /** Folds each 88 continuation into the record it continues. */
  private *merge(physical: Iterable<PhysicalRecord>): Generator<LogicalRecord> {
    let prev: LogicalRecord | undefined;
    for (const p of physical) {
      if (p.code !== '88') {
        if (prev) yield prev;
        prev = { code: p.code, content: p.content, line: p.line, physical: 1 };
        continue;
      }
      if (!prev) this.fail(p.line, '88', 'a continuation record with nothing to continue');
      prev.physical++;
      // Text is the last field of a 16 and runs on across continuations; everything else continues field by field.
      const start = prev.code === '16' ? this.textStart(prev) : null;
      if (start !== null) {
        const text = prev.content.trimEnd();
        prev.content = text.length <= start ? `${prev.content.slice(0, start)}${p.content}` : `${text}\n${p.content}`;
      } else {
        prev.content += `,${p.content}`;
      }
    }
    if (prev) yield prev;
  }

  /** Where the text field of a 16 starts in its content, or null if the record has not reached it yet. */
  private textStart(r: LogicalRecord): number | null {
    const c = new Cursor(r.content);
    c.next(); // type code
    c.next(); // amount
    if (!this.skipFunds(c, r)) return null;
    c.next(); // bank reference
    c.next(); // customer reference
    return c.atFieldStart() ? c.pos : null;
  }

  private skipFunds(c: Cursor, r: LogicalRecord): boolean {
    if (c.done) return false;
    const funds = c.next();
    const extra = this.fundsExtraFields(funds, c, r);
    for (let i = 0; i < extra; i++) {
      if (c.done) return false;
      c.next();
    }
    return !c.done;
  }

  private fundsExtraFields(funds: string, c: Cursor, r: LogicalRecord): number {
    switch (funds) {
      case '':
      case '0':
      case '1':
      case '2':
      case 'Z':
        return 0;
      case 'V':
        return 2;
      case 'S':
        return 3;
      case 'D': {
        if (c.done) return 0;
        const n = c.next();
        if (!/^\d+$/.test(n)) this.fail(r.line, 'funds type', `distribution count is not a number: ${quote(n)}`);
        return 2 * Number(n);
      }
      default:
        this.fail(r.line, 'funds type', `unknown funds type ${quote(funds)} (expected 0, 1, 2, S, V, D or Z)`);
    }
  }

  private interpret(records: Peekable<LogicalRecord>): Bai2File {
    const statements: BankStatement[] = [];
    const first = records.next()!;
    if (first.code !== '01') this.fail(first.line, first.code, 'a BAI2 file starts with an 01 file header record');
    const header = first.content.split(',');
    if ((header[7] ?? '').trim() !== '2') {
      this.fail(first.line, '01 version', `not BAI version 2 (version field ${quote(header[7] ?? '')})`);
    }
    if (!yymmdd(header[2] ?? '')) this.fail(first.line, '01 creation date', `not a date: ${quote(header[2] ?? '')}`);
    let fileRecords = first.physical;
    let fileTotal = 0n;
    let groups = 0;
    let sawTrailer = false;

    for (let r = records.next(); r !== undefined; r = records.next()) {
      if (r.code === '99') {
        const [total, nGroups, nRecords] = this.trailerFields(r, 3);
        fileRecords += r.physical;
        this.checkTotal(r, '99', 'file', total, fileTotal);
        this.checkCount(r, '99', 'groups', nGroups, groups);
        this.checkCount(r, '99', 'records', nRecords, fileRecords);
        sawTrailer = true;
        const after = records.next();
        if (after) this.fail(after.line, after.code, 'record after the file trailer (99)');
        break;
      }
      if (r.code !== '02')
        this.fail(r.line, r.code, `expected a group header (02) or the file trailer (99), found ${r.code}`);
      const g = this.group(r, records, statements);
      fileRecords += g.records;
      fileTotal += g.total;
      groups++;
    }
    if (!sawTrailer) this.fail(records.lastLine, '99', 'the file has no file trailer (99): it may be cut short');
    return { source: this.source, format: 'bai2', statements, warnings: this.warnings };
  }

  private group(h: LogicalRecord, records: Peekable<LogicalRecord>, statements: BankStatement[]) {
    const f = h.content.split(',');
    const status = (f[2] ?? '').trim();
    if (!['1', '2', '3', '4'].includes(status))
      this.fail(h.line, '02 group status', `unknown group status ${quote(status)}`);
    // Deletion and test groups do not describe real money movements; reconciling them would be wrong.
    if (status === '2')
      this.fail(h.line, '02 group status', 'group status 2 (deletion) cannot be read as statement data');
    if (status === '4')
      this.fail(h.line, '02 group status', 'group status 4 (test only) cannot be read as statement data');
    const asOfDate = yymmdd((f[3] ?? '').trim());
    if (!asOfDate) this.fail(h.line, '02 as-of date', `not a real calendar date: ${quote(f[3] ?? '')}`);
    const groupCurrency = this.currency(f[5], h, '02 currency');
    let count = h.physical;
    let total = 0n;
    let accounts = 0;
    for (;;) {
      const r = records.next();
      if (!r) this.fail(records.lastLine, '98', 'group has no group trailer (98)');
      if (r.code === '98') {
        count += r.physical;
        const [declared, nAccounts, nRecords] = this.trailerFields(r, 3);
        this.checkTotal(r, '98', 'group', declared, total);
        this.checkCount(r, '98', 'accounts', nAccounts, accounts);
        this.checkCount(r, '98', 'records', nRecords, count);
        return { records: count, total };
      }
      if (r.code !== '03')
        this.fail(r.line, r.code, `expected an account (03) or the group trailer (98), found ${r.code}`);
      const a = this.account(r, records, asOfDate, groupCurrency);
      statements.push(a.statement);
      count += a.records;
      total += a.total;
      accounts++;
    }
  }

  private account(r: LogicalRecord, records: Peekable<LogicalRecord>, asOfDate: string, groupCurrency: string | null) {
    const c = new Cursor(r.content);
    const account = c.next().trim();
    if (!account) this.fail(r.line, '03 account', 'the account has no number');
    const currency =
      this.currency(c.done ? '' : c.next(), r, '03 currency') ?? groupCurrency ?? this.options.defaultCurrency ?? 'USD';
    const scale = currencyDecimals(currency);
    let total = 0n;
    const balances: Balance[] = [];
    while (!c.done) {
      const type = c.next().trim();
      const amountRaw = c.done ? '' : c.next().trim();
      const count = c.done ? '' : c.next().trim();
      const funds = c.done ? '' : c.next().trim();
      for (let k = this.fundsExtraFields(funds, c, r); k > 0 && !c.done; k--) c.next();
      if (type === '' && amountRaw === '' && count === '' && funds === '') continue; // an empty placeholder
      if (!/^\d{3}$/.test(type)) this.fail(r.line, '03 type code', `not a type code: ${quote(type)}`);
      if (count !== '' && !/^\d+$/.test(count))
        this.fail(r.line, `03 type ${type} item count`, `not a count: ${quote(count)}`);
      if (amountRaw === '') continue;
      const minor = this.minor(amountRaw, r, `03 type ${type} amount`);
      total += minor;
      // Type codes below 100 are balances (status); 100 and up are activity summaries.
      if (Number(type) < 100) balances.push({ type, amount: minorToString(minor, scale), currency, date: asOfDate });
    }

    const entries: StatementEntry[] = [];
    let physical = r.physical;
    for (;;) {
      const d = records.next();
      if (!d) this.fail(records.lastLine, '49', `account ${quote(account)} has no account trailer (49)`);
      if (d.code === '49') {
        physical += d.physical;
        const [declared, nRecords] = this.trailerFields(d, 2);
        this.checkTotal(d, '49', 'account', declared, total);
        this.checkCount(d, '49', 'records', nRecords, physical);
        break;
      }
      if (d.code !== '16')
        this.fail(d.line, d.code, `expected a transaction (16) or the account trailer (49), found ${d.code}`);
      const { entry, minor } = this.detail(d, currency, scale, asOfDate);
      entries.push(entry);
      total += minor;
      physical += d.physical;
    }
    const opening = balances.find((b) => b.type === '010') ?? null;
    const closing = balances.find((b) => b.type === '015') ?? null;
    const statement: BankStatement = {
      format: 'bai2',
      line: r.line,
      statementId: null,
      account,
      currency,
      creationDate: null,
      fromDate: asOfDate,
      toDate: asOfDate,
      openingBalance: opening,
      closingBalance: closing,
      balances,
      entries,
      balanceCheck: checkBalance(opening, closing, entries),
      missing: [],
    };
    return { statement, records: physical, total };
  }

  private detail(r: LogicalRecord, currency: string, scale: number, asOfDate: string) {
    const c = new Cursor(r.content);
    const type = c.next().trim();
    if (!/^\d{3}$/.test(type)) this.fail(r.line, '16 type code', `not a type code: ${quote(type)}`);
    const amountRaw = c.done ? '' : c.next().trim();
    if (amountRaw === '') this.fail(r.line, '16 amount', 'transaction without an amount');
    if (!/^\+?\d+$/.test(amountRaw)) {
      this.fail(
        r.line,
        '16 amount',
        `not an unsigned amount in minor units (the type code gives the sign): ${quote(amountRaw)}`,
      );
    }
    const minor = BigInt(amountRaw.replace('+', ''));
    const funds = c.done ? '' : c.next().trim();
    let valueDate: string | null = null;
    if (funds === 'V') {
      const vd = c.done ? '' : c.next().trim();
      valueDate = yymmdd(vd);
      if (!valueDate) this.fail(r.line, '16 value date', `not a real calendar date: ${quote(vd)}`);
      if (!c.done) c.next(); // value time
    } else {
      for (let k = this.fundsExtraFields(funds, c, r); k > 0 && !c.done; k--) c.next();
    }
    const bankRef = c.done ? '' : c.next().trim();
    const customerRef = c.done ? '' : c.next().trim();
    const text = c.rest().trimEnd();
    const direction = this.direction(type, r);
    const amount = minorToString(direction === 'debit' && minor !== 0n ? -minor : minor, scale);
    const entry: StatementEntry = {
      line: r.line,
      amount,
      currency,
      bookingDate: asOfDate,
      valueDate,
      reference: customerRef || null,
      bankReference: bankRef || null,
      counterparty: null,
      counterpartyAccount: null,
      description: text || null,
      bankTransactionCode: type,
      status: null,
      reversal: false,
    };
    return { entry, minor };
  }

  /** 100-399 are credits and 400-699 debits; the bank-specific 900-999 only as configured. */
  private direction(type: string, r: LogicalRecord): 'credit' | 'debit' {
    const n = Number(type);
    if (n >= 100 && n <= 399) return 'credit';
    if (n >= 400 && n <= 699) return 'debit';
    const custom = this.options.customTypeCodes?.[type];
    if (custom) return custom;
    this.fail(
      r.line,
      '16 type code',
      `type code ${type} has no standard direction (credit or debit); declare it in customTypeCodes if the bank defines it`,
    );
  }

  private currency(raw: string | undefined, r: LogicalRecord, field: string): string | null {
    const c = (raw ?? '').trim();
    if (c === '') return null;
    if (!/^[A-Z]{3}$/.test(c)) this.fail(r.line, field, `not a currency code: ${quote(c)}`);
    return c;
  }

  private minor(raw: string, r: LogicalRecord, field: string): bigint {
    if (!/^[+-]?\d+$/.test(raw)) this.fail(r.line, field, `not an amount in minor units: ${quote(raw)}`);
    return BigInt(raw.replace('+', ''));
  }

  private trailerFields(r: LogicalRecord, n: number): string[] {
    const f = r.content.split(',').map((x) => x.trim());
    while (f.length > n && f[f.length - 1] === '') f.pop();
    if (f.length !== n) this.fail(r.line, r.code, `trailer ${r.code} has ${f.length} fields, expected ${n}`);
    return f;
  }

  private checkTotal(r: LogicalRecord, code: string, what: string, declaredRaw: string, computed: bigint): void {
    const declared = this.minor(declaredRaw, r, `${code} control total`);
    if (declared !== computed) {
      this.disagree(
        r,
        `${code} control total`,
        String(declared),
        String(computed),
        `${what} control total declared ${declared}, the ${what}'s amounts add up to ${computed}: the file is incomplete or altered`,
      );
    }
  }

  private checkCount(r: LogicalRecord, code: string, what: string, declaredRaw: string, computed: number): void {
    // A count that is not a number is malformed, not a disagreement: refused in every mode.
    if (!/^\d+$/.test(declaredRaw)) {
      this.fail(r.line, `${code} number of ${what}`, `not a count: ${quote(declaredRaw)}`);
    }
    if (Number(declaredRaw) !== computed) {
      this.disagree(
        r,
        `${code} number of ${what}`,
        declaredRaw,
        String(computed),
        `declared ${quote(declaredRaw)} ${what}, found ${computed}`,
      );
    }
  }

  /** A trailer that disagrees with the content: refused in strict mode, a warning otherwise. */
  private disagree(r: LogicalRecord, field: string, expected: string, computed: string, reason: string): void {
    if (this.options.strict) this.fail(r.line, field, reason);
    this.warn(r.line, r.code, field, expected, computed, reason);
  }

  private warn(line: number, record: string, field: string, expected: string, computed: string, reason: string) {
    const message = new SourceDataError({ source: this.source, line, field }, reason).message;
    this.warnings.push({ line, record, field, expected, computed, message });
  }

  private fail(line: number, field: string | undefined, reason: string): never {
    throw new SourceDataError({ source: this.source, line, field }, reason);
  }
}

/** Index of the '/' that ends the record in `s` (searching from `from`), or -1 if the record runs to the line end. */
function terminatorIndex(s: string, from: number): number {
  for (let j = s.indexOf('/', from); j !== -1; j = s.indexOf('/', j + 1)) {
    const after = s.slice(j + 1).trimStart();
    if (after === '' || START.test(after)) return j;
  }
  return -1;
}

/** An iterator with one record of lookahead, remembering the last line it handed out (for "missing trailer"). */
class Peekable<T extends { line: number }> {
  private buffered: IteratorResult<T> | undefined;
  lastLine = 1;
  constructor(private readonly it: Iterator<T>) {}
  peek(): T | undefined {
    this.buffered ??= this.it.next();
    return this.buffered.done ? undefined : this.buffered.value;
  }
  next(): T | undefined {
    const v = this.peek();
    this.buffered = undefined;
    if (v) this.lastLine = v.line;
    return v;
  }
}

/** Reads comma-separated fields one at a time, so the last (text) field can keep its commas. */
class Cursor {
  pos = 0;
  private exhausted = false;
  constructor(private readonly s: string) {}
  get done(): boolean {
    return this.exhausted;
  }
  next(): string {
    if (this.exhausted) return '';
    const comma = this.s.indexOf(',', this.pos);
    if (comma === -1) {
      const v = this.s.slice(this.pos);
      this.pos = this.s.length;
      this.exhausted = true;
      return v;
    }
    const v = this.s.slice(this.pos, comma);
    this.pos = comma + 1;
    return v;
  }
  /** True when the previous field ended with a comma, i.e. another field (possibly empty) follows. */
  atFieldStart(): boolean {
    return !this.exhausted;
  }
  rest(): string {
    if (this.exhausted) return '';
    this.exhausted = true;
    const v = this.s.slice(this.pos);
    this.pos = this.s.length;
    return v;
  }
}
