// ISO 20022 bank-to-customer cash management: camt.053 (statement) and camt.054 (debit/credit notification),
// versions 001.02 to 001.13 (the samples cover 02, 03, 04 and 08; the elements read here are the same in all of
// them, including the v6+ Pty wrapper and Sts/Cd). Parsed with fast-xml-parser: malformed XML is located by its
// validator (line), and for content errors the parser's node offsets give the line of the element at fault.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { Dec } from '../../domain/money';
import { SourceDataError, quote } from './source-error';
import { FieldProblem, checkDecimal, normaliseDate } from './source-record';
import {
  checkBalance,
  type Balance,
  type BankStatement,
  type EntryDetail,
  type StatementEntry,
  type StatementFile,
} from './statement';

type Node = Record<string | symbol, unknown>;

const ARRAYS = new Set(['Stmt', 'Ntfctn', 'Ntry', 'Bal', 'NtryDtls', 'TxDtls', 'Ustrd', 'Strd']);
const META = XMLParser.getMetaDataSymbol() as symbol;
const NAMESPACE = /urn:iso:std:iso:20022:tech:xsd:camt\.(05[2-4])\.001\.(\d{2})/;
const SUPPORTED_VERSIONS = new Set(['02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12', '13']);

export interface CamtOptions {
  /** Refuse a file of the other kind (a notification where a statement was declared, or the reverse). */
  expect?: 'camt053' | 'camt054';
}

export function parseCamt(text: string, source: string, options: CamtOptions = {}): StatementFile {
  return new CamtReader(text, source).read(options);
}

class CamtReader {
  private readonly newlines: number[] = [];

  constructor(
    private readonly xml: string,
    private readonly source: string,
  ) {
    for (let i = xml.indexOf('\n'); i !== -1; i = xml.indexOf('\n', i + 1)) this.newlines.push(i);
  }

  read(options: CamtOptions): StatementFile {
    const doctype = /<!DOCTYPE/i.exec(this.xml);
    // camt schemas never use a DTD; refusing one closes the door on entity-expansion tricks.
    if (doctype) this.fail(this.lineAt(doctype.index), 'DOCTYPE', 'a DTD is not allowed in a camt message');
    const valid = XMLValidator.validate(this.xml);
    if (valid !== true) this.fail(valid.err.line, undefined, `malformed XML: ${valid.err.msg}`);

    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@_',
      removeNSPrefix: true,
      // Amounts and ids stay text: a parsed number would be a float and "000123" would lose its zeros.
      parseTagValue: false,
      parseAttributeValue: false,
      trimValues: true,
      captureMetaData: true,
      isArray: (name) => ARRAYS.has(name),
    });
    const doc = parser.parse(this.xml) as Node;
    const root = doc['Document'] as Node | undefined;
    if (!root || typeof root !== 'object')
      this.fail(1, 'Document', 'not an ISO 20022 document (no Document root element)');
    const ns = NAMESPACE.exec(this.rootStartTag());
    if (!ns) this.fail(this.lineOf(root), 'Document', 'not a camt.053/camt.054 document (namespace not recognised)');
    const [, message, version] = ns;
    if (!SUPPORTED_VERSIONS.has(version)) {
      this.fail(this.lineOf(root), 'Document', `camt.${message}.001.${version} is not a supported version`);
    }
    if (message === '052')
      this.fail(this.lineOf(root), 'Document', 'camt.052 (intraday account report) is not supported');
    const format = message === '053' ? 'camt053' : 'camt054';
    if (options.expect && options.expect !== format) {
      this.fail(this.lineOf(root), 'Document', `expected ${options.expect}, the file is ${format}`);
    }
    const [wrapperName, itemName] =
      format === 'camt053' ? ['BkToCstmrStmt', 'Stmt'] : ['BkToCstmrDbtCdtNtfctn', 'Ntfctn'];
    const wrapper = root[wrapperName] as Node | undefined;
    if (!wrapper || typeof wrapper !== 'object') {
      this.fail(this.lineOf(root), `Document/${wrapperName}`, `missing ${wrapperName}`);
    }
    const items = (wrapper[itemName] as Node[] | undefined) ?? [];
    if (items.length === 0) {
      this.fail(
        this.lineOf(wrapper),
        `${wrapperName}/${itemName}`,
        `no ${itemName} element: a ${format === 'camt053' ? 'statement message carries at least one statement' : 'notification message carries at least one notification'}`,
      );
    }
    const statements = items.map((item, i) => this.statement(item, format, `${itemName}[${i + 1}]`));
    return { source: this.source, format, statements };
  }

  private statement(s: Node, format: 'camt053' | 'camt054', path: string): BankStatement {
    const line = this.lineOf(s);
    const acct = this.obj(s, 'Acct');
    const acctId = acct ? this.obj(acct, 'Id') : undefined;
    const account = acctId ? (this.str(acctId, 'IBAN') ?? this.str(this.obj(acctId, 'Othr'), 'Id')) : null;
    if (!account) this.fail(acct ? this.lineOf(acct) : line, `${path}/Acct/Id`, 'the account has no IBAN or other id');

    const balances = ((s['Bal'] as Node[] | undefined) ?? []).map((b, i) => this.balance(b, `${path}/Bal[${i + 1}]`));
    const opening = balances.find((b) => b.type === 'OPBD') ?? balances.find((b) => b.type === 'PRCD') ?? null;
    const closing = balances.find((b) => b.type === 'CLBD') ?? null;

    const entries = ((s['Ntry'] as Node[] | undefined) ?? []).map((n, i) => this.entry(n, `${path}/Ntry[${i + 1}]`));
    this.checkSummary(s, entries, path);

    const frTo = this.obj(s, 'FrToDt');
    const currency = this.str(acct, 'Ccy') ?? opening?.currency ?? entries[0]?.currency ?? null;
    return {
      format,
      line,
      statementId: this.str(s, 'Id'),
      account,
      currency,
      creationDate: this.str(s, 'CreDtTm'),
      fromDate: this.str(frTo, 'FrDtTm'),
      toDate: this.str(frTo, 'ToDtTm'),
      openingBalance: opening,
      closingBalance: closing,
      balances,
      entries,
      balanceCheck: checkBalance(opening, closing, entries),
      missing: [],
    };
  }

  private balance(b: Node, path: string): Balance {
    const line = this.lineOf(b);
    const cdOrPrtry = this.obj(this.obj(b, 'Tp'), 'CdOrPrtry');
    const type = this.str(cdOrPrtry, 'Cd') ?? this.str(cdOrPrtry, 'Prtry');
    if (!type) this.fail(line, `${path}/Tp`, 'balance has no type code');
    const { amount, currency } = this.signedAmount(b, path, line);
    return { type, amount, currency, date: this.date(this.obj(b, 'Dt'), `${path}/Dt`, line) };
  }

  private entry(n: Node, path: string): StatementEntry {
    const line = this.lineOf(n);
    const { amount, currency } = this.signedAmount(n, path, line);
    const rvsl = this.str(n, 'RvslInd');
    if (rvsl !== null && !['true', 'false', '1', '0'].includes(rvsl)) {
      this.fail(line, `${path}/RvslInd`, `not a boolean: ${quote(rvsl)}`);
    }
    const sts = n['Sts'];
    const status = typeof sts === 'string' ? sts : (this.str(sts as Node, 'Cd') ?? this.str(sts as Node, 'Prtry'));
    const direction = this.str(n, 'CdtDbtInd') as 'CRDT' | 'DBIT';
    const details: EntryDetail[] = [];
    const dtls = (n['NtryDtls'] as Node[] | undefined) ?? [];
    dtls.forEach((d, i) =>
      ((d['TxDtls'] as Node[] | undefined) ?? []).forEach((t, j) =>
        details.push(this.detail(t, direction, `${path}/NtryDtls[${i + 1}]/TxDtls[${j + 1}]`, line)),
      ),
    );
    const single = <K extends keyof EntryDetail>(k: K): EntryDetail[K] | null => {
      const values = [...new Set(details.map((d) => d[k]).filter((v) => v !== null))];
      return values.length === 1 ? values[0] : null;
    };
    const descriptions = [...new Set(details.map((d) => d.description).filter((v): v is string => v !== null))];
    const entry: StatementEntry = {
      line,
      amount,
      currency,
      bookingDate: this.date(this.obj(n, 'BookgDt'), `${path}/BookgDt`, line),
      valueDate: this.date(this.obj(n, 'ValDt'), `${path}/ValDt`, line),
      reference: single('endToEndId') ?? this.str(n, 'NtryRef'),
      bankReference: this.str(n, 'AcctSvcrRef'),
      counterparty: single('counterparty'),
      counterpartyAccount: single('counterpartyAccount'),
      description: descriptions.length > 0 ? descriptions.join('\n') : this.str(n, 'AddtlNtryInf'),
      bankTransactionCode: this.transactionCode(this.obj(n, 'BkTxCd')),
      status: status ?? null,
      reversal: rvsl === 'true' || rvsl === '1',
    };
    if (details.length > 0) entry.details = details;
    return entry;
  }

  private detail(t: Node, entryDirection: 'CRDT' | 'DBIT', path: string, entryLine: number): EntryDetail {
    const refs = this.obj(t, 'Refs');
    const e2e = this.str(refs, 'EndToEndId');
    // Newer versions put the amount on TxDtls itself, v2 only under AmtDtls/TxAmt; either is optional.
    const amtHolder = t['Amt'] !== undefined ? t : this.obj(this.obj(t, 'AmtDtls'), 'TxAmt');
    let amount: string | null = null;
    let currency: string | null = null;
    const ownDirection = this.str(t, 'CdtDbtInd');
    const direction = (ownDirection ?? entryDirection) as 'CRDT' | 'DBIT';
    if (amtHolder && amtHolder['Amt'] !== undefined) {
      const a = this.amountOf(amtHolder, path, this.lineOf(amtHolder) || entryLine);
      if (ownDirection !== null && ownDirection !== 'CRDT' && ownDirection !== 'DBIT') {
        this.fail(entryLine, `${path}/CdtDbtInd`, `expected CRDT or DBIT, found ${quote(ownDirection)}`);
      }
      amount = direction === 'DBIT' && a.amount !== '0' ? `-${a.amount}` : a.amount;
      currency = a.currency;
    }
    // The counterparty is the other side of the money's movement: who paid us on a credit, whom we paid on a debit.
    const parties = this.obj(t, 'RltdPties');
    const [party, partyAcct] = direction === 'CRDT' ? ['Dbtr', 'DbtrAcct'] : ['Cdtr', 'CdtrAcct'];
    const p = this.obj(parties, party);
    const name = this.str(p, 'Nm') ?? this.str(this.obj(p, 'Pty'), 'Nm');
    const acctId = this.obj(this.obj(parties, partyAcct), 'Id');
    const rmt = this.obj(t, 'RmtInf');
    const ustrd = ((rmt?.['Ustrd'] as unknown[] | undefined) ?? []).map((u) => this.text(u)).filter((u) => u !== null);
    const strdRefs = ((rmt?.['Strd'] as Node[] | undefined) ?? [])
      .map((s) => this.str(this.obj(s, 'CdtrRefInf'), 'Ref'))
      .filter((r) => r !== null);
    const description =
      ustrd.length > 0 ? ustrd.join('\n') : strdRefs.length > 0 ? strdRefs.join('\n') : this.str(t, 'AddtlTxInf');
    return {
      endToEndId: e2e === 'NOTPROVIDED' ? null : e2e,
      amount,
      currency,
      counterparty: name,
      counterpartyAccount: acctId ? (this.str(acctId, 'IBAN') ?? this.str(this.obj(acctId, 'Othr'), 'Id')) : null,
      description,
    };
  }

  /** Verifies the statement's own control totals (TxsSummry) against the entries read. */
  private checkSummary(s: Node, entries: StatementEntry[], path: string): void {
    const summary = this.obj(s, 'TxsSummry');
    if (!summary) return;
    const line = this.lineOf(summary);
    const check = (node: Node | undefined, label: string, list: StatementEntry[]) => {
      if (!node) return;
      const nb = this.str(node, 'NbOfNtries');
      if (nb !== null && Number(nb) !== list.length) {
        this.fail(
          line,
          `${path}/TxsSummry/${label}/NbOfNtries`,
          `declares ${nb} entries, the statement has ${list.length}`,
        );
      }
      const sum = this.str(node, 'Sum');
      if (sum !== null) {
        const declared = this.decimal(sum, line, `${path}/TxsSummry/${label}/Sum`);
        // Sum is of absolute amounts (credits and debits alike), as the schema defines it.
        const total = list.reduce((acc, e) => acc.plus(new Dec(e.amount).abs()), new Dec(0));
        if (!total.equals(declared)) {
          this.fail(
            line,
            `${path}/TxsSummry/${label}/Sum`,
            `declares ${declared}, the entries sum to ${total.toFixed()}`,
          );
        }
      }
    };
    check(this.obj(summary, 'TtlNtries'), 'TtlNtries', entries);
    check(
      this.obj(summary, 'TtlCdtNtries'),
      'TtlCdtNtries',
      entries.filter((e) => !e.amount.startsWith('-')),
    );
    check(
      this.obj(summary, 'TtlDbtNtries'),
      'TtlDbtNtries',
      entries.filter((e) => e.amount.startsWith('-')),
    );
  }

  private transactionCode(b: Node | undefined): string | null {
    if (!b) return null;
    const domn = this.obj(b, 'Domn');
    if (domn) {
      const fmly = this.obj(domn, 'Fmly');
      return [this.str(domn, 'Cd'), this.str(fmly, 'Cd'), this.str(fmly, 'SubFmlyCd')]
        .filter((x) => x !== null)
        .join('/');
    }
    return this.str(this.obj(b, 'Prtry'), 'Cd');
  }

  private signedAmount(node: Node, path: string, line: number): { amount: string; currency: string } {
    const a = this.amountOf(node, path, line);
    const ind = this.str(node, 'CdtDbtInd');
    if (ind !== 'CRDT' && ind !== 'DBIT') {
      this.fail(
        line,
        `${path}/CdtDbtInd`,
        ind === null ? 'missing credit/debit indicator' : `expected CRDT or DBIT, found ${quote(ind)}`,
      );
    }
    return { amount: ind === 'DBIT' && a.amount !== '0' ? `-${a.amount}` : a.amount, currency: a.currency };
  }

  private amountOf(node: Node, path: string, line: number): { amount: string; currency: string } {
    const amt = node['Amt'];
    if (amt === undefined) this.fail(line, `${path}/Amt`, 'missing amount');
    const amtLine = typeof amt === 'object' && amt !== null ? this.lineOf(amt as Node) : line;
    const text = this.text(amt);
    if (text === null) this.fail(amtLine, `${path}/Amt`, 'empty amount');
    const currency = typeof amt === 'object' && amt !== null ? (amt as Node)['@_Ccy'] : undefined;
    if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
      this.fail(amtLine, `${path}/Amt`, 'amount has no valid Ccy attribute');
    }
    const amount = this.decimal(text, amtLine, `${path}/Amt`);
    if (amount.startsWith('-'))
      this.fail(amtLine, `${path}/Amt`, 'amounts are unsigned in camt; the sign is CdtDbtInd');
    return { amount, currency };
  }

  private decimal(text: string, line: number, field: string): string {
    try {
      return checkDecimal(text);
    } catch (err) {
      if (err instanceof FieldProblem) this.fail(line, field, err.message);
      throw err;
    }
  }

  /** A DateAndDateTimeChoice (Dt or DtTm) as yyyy-mm-dd; the date of a DtTm is taken as written (bank's local date). */
  private date(choice: Node | undefined, path: string, line: number): string | null {
    if (!choice) return null;
    const dt = this.str(choice, 'Dt');
    const dtTm = this.str(choice, 'DtTm');
    const raw = dt ?? dtTm;
    if (raw === null) return null;
    const field = `${path}/${dt !== null ? 'Dt' : 'DtTm'}`;
    if (
      dtTm !== null &&
      dt === null &&
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.test(dtTm)
    ) {
      this.fail(line, field, `not an ISO date-time: ${quote(dtTm)}`);
    }
    try {
      return normaliseDate(raw.slice(0, 10));
    } catch (err) {
      if (err instanceof FieldProblem) this.fail(line, field, err.message);
      throw err;
    }
  }

  // ------------------------------------------------------------------------------------------------------

  private obj(node: Node | undefined | null, name: string): Node | undefined {
    const v = node?.[name];
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : undefined;
  }

  private str(node: Node | undefined | null, name: string): string | null {
    return node ? this.text(node[name]) : null;
  }

  private text(v: unknown): string | null {
    if (typeof v === 'string') return v === '' ? null : v;
    if (v !== null && typeof v === 'object' && typeof (v as Node)['#text'] === 'string') {
      const t = (v as Node)['#text'] as string;
      return t === '' ? null : t;
    }
    return null;
  }

  private rootStartTag(): string {
    const m = /<(?:[\w.-]+:)?Document[\s>]/.exec(this.xml);
    if (!m) return '';
    const end = this.xml.indexOf('>', m.index);
    return this.xml.slice(m.index, end === -1 ? undefined : end);
  }

  private lineOf(node: Node): number {
    const meta = node[META] as { startIndex?: number } | undefined;
    return meta?.startIndex === undefined ? 0 : this.lineAt(meta.startIndex);
  }

  private lineAt(index: number): number {
    let lo = 0;
    let hi = this.newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.newlines[mid] < index) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }

  private fail(line: number | undefined, field: string | undefined, reason: string): never {
    throw new SourceDataError({ source: this.source, line: line || undefined, field }, reason);
  }
}
