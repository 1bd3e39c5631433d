// SWIFT MT940 (customer statement) and MT942 (interim transaction report), as banks deliver them: several
// statements per file, with or without the SWIFT envelope ({1:...}{4: ... -}), separated by '-' lines or simply by
// the next :20:. Tags must come in the order the standard gives; anything out of place is refused with its line
// rather than guessed at. Amounts use the decimal comma ("380115," is 380115, "00,12" is 0.12).
//
// Two sample files from public parser test suites are fragments (six :60F: lines; a lone :61:). They are read as
// statements whose missing mandatory tags are listed in `missing`, so a consumer that needs an account can refuse
// them; a statement that does start with :20: must be complete.
import { Dec } from '../../domain/money';
import { SourceDataError, quote } from './source-error';
import { calendarDate, yymmdd } from './source-record';
import { checkBalance, type Balance, type BankStatement, type StatementEntry, type StatementFile } from './statement';

export interface Mt940Options {
  /** Refuse statements of the other type (an MT942 interim report where an MT940 statement was declared). */
  expect?: 'mt940' | 'mt942';
}

interface Field {
  tag: string;
  line: number;
  lines: string[];
}

// Order of tags within a statement. MT940: 20 21 25 28C 60 (61 86)* 62 64 65* 86; MT942: 20 21 25 28C 34F 13D (61 86)* 90D 90C 86.
const STAGE: Record<string, number> = {
  '20': 1,
  '21': 2,
  '25': 3,
  '25P': 3,
  '28': 4,
  '28C': 4,
  '34F': 5,
  '13': 6,
  '13D': 6,
  '60F': 7,
  '60M': 7,
  '61': 8,
  '62F': 9,
  '62M': 9,
  '64': 10,
  '65': 11,
  '90D': 12,
  '90C': 13,
};
const REPEATABLE = new Set(['61', '34F', '65']);
const MT942_TAGS = new Set(['34F', '13', '13D', '90D', '90C']);
const MT940_TAGS = new Set(['60F', '60M', '62F', '62M', '64', '65']);

export function parseMt940(text: string, source: string, options: Mt940Options = {}): StatementFile {
  const statements = new Mt940Reader(source).read(text);
  if (statements.length === 0)
    throw new SourceDataError({ source }, 'no MT940/MT942 statement found (no :20: or :61: tag)');
  for (const s of statements) {
    if (options.expect && s.format !== options.expect) {
      throw new SourceDataError({ source, line: s.line }, `expected ${options.expect}, this statement is ${s.format}`);
    }
  }
  const format = statements.every((s) => s.format === 'mt942') ? 'mt942' : 'mt940';
  return { source, format, statements };
}

class StatementBuilder {
  stage = 0;
  lastTag = '';
  fields: Field[] = [];
  constructor(
    readonly line: number,
    readonly fragment: boolean,
  ) {}
  has(tag: string): boolean {
    return this.fields.some((f) => f.tag === tag);
  }
  get isMt942(): boolean {
    return this.fields.some((f) => MT942_TAGS.has(f.tag));
  }
  get closed(): boolean {
    return this.stage >= STAGE['62F'];
  }
}

class Mt940Reader {
  private readonly out: BankStatement[] = [];
  private st: StatementBuilder | null = null;

  constructor(private readonly source: string) {}

  read(text: string): BankStatement[] {
    const lines = text.split(/\r\n|\r|\n/);
    let field: Field | null = null;
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      // SOH/ETX framing bytes some banks keep around each message.
      let l = stripFraming(lines[i]).trimEnd();
      if (l.startsWith('{')) {
        // SWIFT envelope: {1:..}{2:..}{3:..}{4: opens the text block; {5:..} trailers carry no statement data.
        const body = l.indexOf('{4:');
        if (body === -1) {
          if (this.st) this.fail(lineNo, undefined, 'SWIFT header block inside a statement');
          continue;
        }
        l = l.slice(body + 3);
      }
      if (l.trim() === '') continue;
      const tag = /^:(\d{2}[A-Z]?):/.exec(l);
      if (tag) {
        if (field) this.accept(field);
        field = { tag: tag[1], line: lineNo, lines: [l.slice(tag[0].length)] };
        continue;
      }
      if (this.isTerminator(l, field)) {
        if (field) this.accept(field);
        field = null;
        this.finish(lineNo);
        continue;
      }
      if (field) {
        field.lines.push(l);
        continue;
      }
      if (this.st) this.fail(lineNo, undefined, 'text outside any tag');
      // Outside a statement: bank preambles ("ABNANL2A", "940", ":940:") carry no statement data.
    }
    if (field) this.accept(field);
    this.finish(lines.length);
    return this.out;
  }

  // '-' ends a statement. Some banks write "-XXX" or "-}" after the last tag; a free-text line of :86: may also start
  // with '-', so beyond a bare '-' or '-}' a dash line ends the statement only once the closing balance is in.
  private isTerminator(l: string, field: Field | null): boolean {
    const t = l.trim();
    if (t === '-' || t.startsWith('-}')) return true;
    if (/^-[A-Z0-9]*$/.test(t) && this.st?.closed && field?.tag !== '61') return true;
    return false;
  }

  private accept(f: Field): void {
    if (f.tag === '20') {
      if (this.st) {
        // Banks such as Rabobank start the next statement with :20: and no '-' line.
        this.finish(f.line);
      }
      this.st = new StatementBuilder(f.line, false);
    } else if (!this.st) {
      this.st = new StatementBuilder(f.line, true);
    } else if (this.st.fragment && (f.tag === '60F' || f.tag === '60M') && this.st.stage >= STAGE['60F']) {
      // A fragment has no :20: to delimit it; its next opening balance is the only boundary there is.
      this.finish(f.line);
      this.st = new StatementBuilder(f.line, true);
    }
    const st = this.st;
    const stage = STAGE[f.tag];
    if (f.tag === '86') {
      if (st.lastTag === '86') this.fail(f.line, '86', 'two :86: fields in a row');
      if (st.lastTag !== '61' && st.stage !== STAGE['60F'] && !st.closed) {
        this.fail(
          f.line,
          '86',
          'information to account owner must follow a :61: line, the opening or the closing balance',
        );
      }
    } else if (stage === undefined) {
      this.fail(f.line, f.tag, `tag :${f.tag}: is not part of an MT940/MT942 statement`);
    } else if (stage < st.stage || (stage === st.stage && !REPEATABLE.has(f.tag))) {
      this.fail(f.line, f.tag, `tag :${f.tag}: is out of order (it cannot follow :${st.lastTag}:)`);
    }
    if (f.tag === '61' && !st.fragment) {
      if (!st.isMt942 && !st.has('60F') && !st.has('60M'))
        this.fail(f.line, '61', 'entry before the opening balance (:60F:)');
    }
    if (MT940_TAGS.has(f.tag) && st.isMt942)
      this.fail(f.line, f.tag, `tag :${f.tag}: does not belong in an MT942 report`);
    if (MT942_TAGS.has(f.tag) && st.fields.some((x) => MT940_TAGS.has(x.tag))) {
      this.fail(f.line, f.tag, `tag :${f.tag}: does not belong in an MT940 statement`);
    }
    if (stage !== undefined) st.stage = stage;
    st.lastTag = f.tag;
    st.fields.push(f);
  }

  private finish(line: number): void {
    const st = this.st;
    this.st = null;
    if (!st) return;
    this.out.push(this.build(st, line));
  }

  private build(st: StatementBuilder, endLine: number): BankStatement {
    const mt942 = st.isMt942;
    const mandatory = mt942 ? ['20', '25', '28C', '34F', '13D'] : ['20', '25', '28C', '60F', '62F'];
    const present = (t: string) =>
      st.has(t) ||
      (t === '28C' && st.has('28')) ||
      (t === '60F' && st.has('60M')) ||
      (t === '62F' && st.has('62M')) ||
      (t === '13D' && st.has('13')) ||
      (t === '25' && st.has('25P'));
    const missing = mandatory.filter((t) => !present(t));
    if (!st.fragment) {
      const vital = missing.filter((t) => t !== '28C');
      if (vital.length > 0) {
        this.fail(
          st.line,
          vital[0],
          `statement starting here has no field ${vital.join(', ')} (it ends on line ${endLine})`,
        );
      }
    }

    let statementId: string | null = null;
    let account: string | null = null;
    let opening: Balance | null = null;
    let closing: Balance | null = null;
    let creationDate: string | null = null;
    let currency: string | null = null;
    const balances: Balance[] = [];
    const entries: StatementEntry[] = [];
    const controls: { tag: string; line: number; count: number; currency: string; amount: string }[] = [];
    let current: StatementEntry | null = null;
    let lastTag = '';
    const information: string[] = [];

    for (const f of st.fields) {
      const first = f.lines[0].trim();
      switch (f.tag) {
        case '20':
          statementId = this.single(f).trim() || null;
          break;
        case '25':
        case '25P':
          // 25P carries the account owner's BIC on its second line; plain 25 is a single line.
          account = (f.tag === '25' ? this.single(f) : f.lines[0]).trim() || null;
          if (!account) this.fail(f.line, '25', 'empty account identification');
          break;
        case '60F':
        case '60M':
        case '62F':
        case '62M':
        case '64':
        case '65': {
          const b = this.balance(f);
          balances.push(b);
          if (f.tag.startsWith('60')) opening = b;
          if (f.tag.startsWith('62')) closing = b;
          if (currency === null) currency = b.currency;
          else if (b.currency !== currency) {
            this.fail(f.line, f.tag, `balance in ${b.currency}, the statement is in ${currency}`);
          }
          break;
        }
        case '34F': {
          const m = /^([A-Z]{3})([CD]?)(\d+(?:,\d*)?)$/.exec(this.single(f).trim());
          if (!m) this.fail(f.line, '34F', `not a floor limit (currency, optional D/C, amount): ${quote(first)}`);
          if (currency === null) currency = m[1];
          break;
        }
        case '13':
        case '13D': {
          const m = /^(\d{6})(\d{2})(\d{2})([+-]\d{4})?$/.exec(this.single(f).trim());
          const date = m ? yymmdd(m[1]) : null;
          if (!m || !date || Number(m[2]) > 23 || Number(m[3]) > 59) {
            this.fail(f.line, f.tag, `not a date and time (YYMMDDhhmm±hhmm): ${quote(first)}`);
          }
          creationDate = `${date}T${m[2]}:${m[3]}${m[4] ? `${m[4].slice(0, 3)}:${m[4].slice(3)}` : ''}`;
          break;
        }
        case '61':
          current = this.entry(f, currency);
          entries.push(current);
          break;
        case '86':
          if (lastTag === '61' && current) interpretInformation(current, f.lines);
          else information.push(f.lines.map((l) => l.trimEnd()).join('\n'));
          break;
        case '90D':
        case '90C': {
          const m = /^(\d{1,5})([A-Z]{3})(\d+,\d*)$/.exec(this.single(f).trim());
          if (!m) this.fail(f.line, f.tag, `not a count, currency and amount: ${quote(first)}`);
          controls.push({
            tag: f.tag,
            line: f.line,
            count: Number(m[1]),
            currency: m[2],
            amount: this.amount(m[3], f),
          });
          break;
        }
        default:
          break;
      }
      lastTag = f.tag;
    }
    for (const e of entries) e.currency = currency;

    // MT942 carries its own control totals: number and sum of debit (90D) and credit (90C) entries.
    for (const c of controls) {
      const list = entries.filter((e) => (c.tag === '90D' ? e.amount.startsWith('-') : !e.amount.startsWith('-')));
      const sum = list.reduce((acc, e) => acc.plus(new Dec(e.amount).abs()), new Dec(0));
      if (currency !== null && c.currency !== currency) {
        this.fail(c.line, c.tag, `control total in ${c.currency}, the report is in ${currency}`);
      }
      if (list.length !== c.count || !sum.equals(c.amount)) {
        this.fail(
          c.line,
          c.tag,
          `declares ${c.count} ${c.tag === '90D' ? 'debit' : 'credit'} entries totalling ${c.amount}; the report has ${list.length} totalling ${sum.toFixed()}`,
        );
      }
    }

    return {
      format: mt942 ? 'mt942' : 'mt940',
      line: st.line,
      statementId,
      account,
      currency,
      creationDate,
      fromDate: opening?.date ?? null,
      toDate: closing?.date ?? null,
      openingBalance: opening,
      closingBalance: closing,
      balances,
      entries,
      balanceCheck: checkBalance(opening, closing, entries),
      missing,
      ...(information.length > 0 ? { information: information.join('\n') } : {}),
    };
  }

  private single(f: Field): string {
    if (f.lines.length > 1) this.fail(f.line + 1, f.tag, `tag :${f.tag}: is one line; found a continuation`);
    return f.lines[0];
  }

  private balance(f: Field): Balance {
    const raw = this.single(f).trim();
    const m = /^([CD])(\d{6})([A-Z]{3})(\d+,\d*)$/.exec(raw);
    if (!m)
      this.fail(f.line, f.tag, `not a balance (D/C mark, YYMMDD, currency, amount with decimal comma): ${quote(raw)}`);
    const date = yymmdd(m[2]);
    if (!date) this.fail(f.line, f.tag, `not a real calendar date: ${m[2]}`);
    const amount = this.amount(m[4], f);
    return { type: f.tag, amount: m[1] === 'D' && amount !== '0' ? `-${amount}` : amount, currency: m[3], date };
  }

  /** SWIFT amount: digits, exactly one decimal comma, fraction optional ("380115," = 380115). */
  private amount(raw: string, f: Field): string {
    const m = /^(\d+),(\d*)$/.exec(raw);
    if (!m) this.fail(f.line, f.tag, `not a SWIFT amount (digits with one decimal comma): ${quote(raw)}`);
    return new Dec(`${m[1]}.${m[2] || '0'}`).toFixed();
  }

  private entry(f: Field, currency: string | null): StatementEntry {
    const head = f.lines[0].trim();
    // value date, [entry date MMDD], mark (C, D, RC, RD), [funds code], amount, type (N/F/S + 3), reference[//bank ref]
    const m = /^(\d{6})(\d{4})?(RC|RD|C|D)([A-Z])?(\d+,\d*)([NFS][A-Z0-9]{3})(.*)$/.exec(head);
    if (!m) {
      this.fail(
        f.line,
        '61',
        `not a statement line (YYMMDD[MMDD] C/D/RC/RD [funds code] amount type reference): ${quote(head, 40)}`,
      );
    }
    const [, valueRaw, entryRaw, mark, , amountRaw, type, rest] = m;
    const valueDate = yymmdd(valueRaw);
    if (!valueDate) this.fail(f.line, '61', `value date ${valueRaw} is not a real calendar date`);
    let bookingDate = valueDate;
    if (entryRaw) {
      const vy = Number(valueDate.slice(0, 4));
      const vm = Number(valueDate.slice(5, 7));
      const em = Number(entryRaw.slice(0, 2));
      // The entry date has no year: it is the value date's year, or the neighbouring one across a year end.
      const year = em - vm > 6 ? vy - 1 : vm - em > 6 ? vy + 1 : vy;
      const d = calendarDate(year, em, Number(entryRaw.slice(2)));
      if (!d) this.fail(f.line, '61', `entry date ${entryRaw} is not a real calendar date`);
      bookingDate = d;
    }
    const amount = this.amount(amountRaw, f);
    // C and RD (reversal of a debit) put money in; D and RC (reversal of a credit) take it out.
    const negative = (mark === 'D' || mark === 'RC') && amount !== '0';
    const [ownRef, ...bankParts] = rest.split('//');
    const customerRef = ownRef.trim() || null;
    const bankRef = bankParts.length > 0 ? bankParts.join('//').trim() || null : null;
    const supplementary = f.lines
      .slice(1)
      .map((l) => l.trim())
      .filter((l) => l !== '');
    const e: StatementEntry = {
      line: f.line,
      amount: negative ? `-${amount}` : amount,
      currency,
      bookingDate,
      valueDate,
      reference: customerRef === 'NONREF' ? null : customerRef,
      bankReference: bankRef,
      counterparty: null,
      counterpartyAccount: null,
      description: null,
      bankTransactionCode: type,
      status: null,
      reversal: mark === 'RC' || mark === 'RD',
    };
    if (supplementary.length > 0) e.supplementaryDetails = supplementary.join('\n');
    return e;
  }

  private fail(line: number | undefined, field: string | undefined, reason: string): never {
    throw new SourceDataError({ source: this.source, line, field }, reason);
  }
}

const SOH = String.fromCharCode(1);
const ETX = String.fromCharCode(3);

function stripFraming(line: string): string {
  let a = 0;
  let b = line.length;
  while (a < b && (line[a] === SOH || line[a] === ETX)) a++;
  while (b > a && (line[b - 1] === SOH || line[b - 1] === ETX)) b--;
  return line.slice(a, b);
}

const SWIFT_CODES = [
  'EREF',
  'KREF',
  'MREF',
  'MARF',
  'CSID',
  'CNTP',
  'REMI',
  'PURP',
  'ORDP',
  'BENM',
  'NAME',
  'ADDR',
  'ID',
  'IREF',
  'ISDT',
  'RTRN',
  'TRCD',
  'BUSP',
  'PREF',
  'ULTC',
  'ULTD',
  'ULTB',
  'EXCH',
  'CHGS',
  'ACCW',
  'BYOR',
  'COAM',
  'OAMT',
  'SVCL',
  'RTYP',
  'CDTC',
  'IBAN',
  'BIC',
  'TRTP',
  'CREF',
  'OCMT',
];
const SWIFT_SPLIT = new RegExp(`/(${SWIFT_CODES.join('|')})/`);

/**
 * Reads the :86: field into the entry. Three layouts exist: German "GVC" subfields (166?00...?20...?32...), the
 * SWIFT/SEPA "/CODE/value" layout (Rabobank, ABN AMRO, ING), and free text. The first two wrap at the line length
 * without regard to words, so their lines are joined without a separator; free text keeps its line breaks. The text
 * as written is always kept in rawDescription.
 */
function interpretInformation(e: StatementEntry, lines: string[]): void {
  const raw = lines.map((l) => l.trimEnd()).join('\n');
  const joined = lines.map((l) => l.trimEnd()).join('');
  e.rawDescription = raw;
  const gvc = /^\s*(\d{3})\?/.exec(joined);
  if (gvc) {
    const pairs: [number, string][] = [];
    const parts = joined.slice(gvc[0].length - 1).split(/\?(\d{2})/);
    for (let i = 1; i < parts.length; i += 2) pairs.push([Number(parts[i]), parts[i + 1]]);
    const remittance = pairs.filter(([k]) => (k >= 20 && k <= 29) || (k >= 60 && k <= 63)).map(([, v]) => v);
    const width = Math.max(0, ...remittance.map((v) => v.length));
    // SEPA keywords (EREF+, SVWZ+, ...) open a value; a value runs on into the next subfield only where the
    // subfield is full, which is how banks wrap a value longer than one subfield.
    const sepa = new Map<string, string[]>();
    let key: string | null = null;
    let prev = '';
    for (const v of remittance) {
      const kw = /^([A-Z]{4})\+(.*)$/.exec(v);
      if (kw) {
        key = kw[1];
        sepa.set(key, [kw[2]]);
      } else if (key && prev.length >= width && width >= 27) {
        sepa.get(key)!.push(v);
      } else {
        key = null;
      }
      prev = v;
    }
    const eref = sepa.has('EREF') ? sepa.get('EREF')!.join('').trim() : '';
    if (eref && eref !== 'NOTPROVIDED') e.reference = eref;
    const svwz = sepa.has('SVWZ') ? sepa.get('SVWZ')!.join('').trim() : '';
    const postingText = pairs.find(([k]) => k === 0)?.[1].trim() ?? '';
    e.description = svwz || joinWrapped(remittance, width) || postingText || null;
    const names = pairs.filter(([k]) => k === 32 || k === 33).map(([, v]) => v);
    e.counterparty = joinWrapped(names, Math.max(0, ...names.map((v) => v.length))) || null;
    e.counterpartyAccount = pairs.find(([k]) => k === 31)?.[1].trim() || null;
    return;
  }
  if (/^\/[A-Z]{2,4}\//.test(joined)) {
    const parts = joined.split(SWIFT_SPLIT);
    const values = new Map<string, string>();
    for (let i = 1; i < parts.length; i += 2) if (!values.has(parts[i])) values.set(parts[i], parts[i + 1]);
    const eref = values.get('EREF')?.trim();
    if (eref && eref !== 'NOTPROVIDED') e.reference = eref;
    e.counterparty = values.get('NAME')?.trim() || null;
    const cntp = values.get('CNTP');
    if (cntp) e.counterpartyAccount = cntp.split('/')[0].trim() || null;
    const remi = values
      .get('REMI')
      ?.replace(/^(USTD|STRD)?\/+/, '')
      .trim();
    e.description = remi || raw;
    return;
  }
  e.description = raw;
}

/** Joins subfields, without a space where the previous one is full (the value was wrapped mid-word). */
function joinWrapped(values: string[], width: number): string {
  let out = '';
  values.forEach((v, i) => {
    if (i === 0) out = v;
    else out += values[i - 1].length >= width && width >= 27 ? v : ` ${v}`;
  });
  return out.trim();
}
