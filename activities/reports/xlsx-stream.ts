// A streaming xlsx writer for report sheets: text and numbers (with number formats), a bold frozen header row with
// an autofilter, fitted column widths; nothing else. exceljs's streaming writer spent ~190 µs of CPU per exceptions
// row (a style model rendered and hashed per amount cell, objects per cell, its own XML stream), which made the
// exceptions workbook most of a reconciliation's report time; this one writes the SpreadsheetML of each row as text
// into a zip entry that archiver deflates with Node's zlib. Sheets are written one after the other, a sheet's rows
// wait whenever its entry's buffer is full (archiver takes one entry at a time), and the bytes depend only on what
// was written (fixed entry times), so the same rows give the same file. Read back by exceljs and spreadsheet programs.
import { PassThrough, type Writable } from 'node:stream';
import archiver from 'archiver';

export type XlsxCell = string | number | null | undefined | { value: number; numFmt: string };

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const MAIN_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const REL_NS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
/** Entry times fixed, so the same content gives the same bytes (zip's earliest date). */
const MTIME = new Date(1980, 0, 1);
const FLUSH_BYTES = 256 * 1024;
/** Written XML a sheet's entry holds before its rows wait for the zip. */
const ENTRY_BUFFER = 1 << 20;

// Characters XML 1.0 does not allow (a source memo may hold them): dropped from cell text.
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
export const xmlText = (s: string): string => s.replace(INVALID_XML, '').replace(/[&<>"]/g, (c) => ESCAPES[c]);

/** "A", "B", ..., "Z", "AA", ...: the column's letters for cell references. */
export function columnLetters(n: number): string {
  let s = '';
  for (let i = n; i > 0; i = Math.floor((i - 1) / 26)) s = String.fromCharCode(65 + ((i - 1) % 26)) + s;
  return s;
}

export interface SheetOptions {
  headers: readonly string[];
  /** Column widths in characters, one per header. */
  widths: readonly number[];
}

export class XlsxSheet {
  private rowNo = 1;
  private buffer = '';
  /** Set once end() ran. */
  ended = false;
  private readonly letters: string[];

  constructor(
    private readonly book: XlsxStreamWriter,
    private readonly entry: PassThrough,
    readonly name: string,
    opts: SheetOptions,
  ) {
    this.letters = opts.headers.map((_, i) => columnLetters(i + 1));
    const cols = opts.widths
      .map((w, i) => `<col min="${i + 1}" max="${i + 1}" width="${w}" customWidth="1"/>`)
      .join('');
    this.buffer =
      `${XML_HEAD}<worksheet xmlns="${MAIN_NS}" xmlns:r="${REL_NS}">` +
      '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' +
      '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>' +
      `<sheetFormatPr defaultRowHeight="15"/>${cols ? `<cols>${cols}</cols>` : ''}<sheetData>`;
    this.addRowXml(opts.headers, this.book.boldStyle);
  }

  /** The rows written so far, the header included. */
  get rows(): number {
    return this.rowNo - 1;
  }

  private addRowXml(cells: readonly XlsxCell[], textStyle = 0): void {
    const r = this.rowNo++;
    // The header's style on the row too, as spreadsheet programs and exceljs read a row's format.
    let xml = textStyle ? `<row r="${r}" s="${textStyle}" customFormat="1">` : `<row r="${r}">`;
    for (let i = 0; i < cells.length; i++) {
      const v = cells[i];
      if (v === null || v === undefined || v === '') continue;
      const ref = `${this.letters[i] ?? columnLetters(i + 1)}${r}`;
      if (typeof v === 'string') {
        const t = xmlText(v);
        const space = t !== t.trim() ? ' xml:space="preserve"' : '';
        xml += `<c r="${ref}"${textStyle ? ` s="${textStyle}"` : ''} t="inlineStr"><is><t${space}>${t}</t></is></c>`;
      } else if (typeof v === 'number') {
        if (Number.isFinite(v)) xml += `<c r="${ref}"><v>${v}</v></c>`;
      } else if (Number.isFinite(v.value)) {
        xml += `<c r="${ref}" s="${this.book.styleOf(v.numFmt)}"><v>${v.value}</v></c>`;
      }
    }
    this.buffer += `${xml}</row>`;
  }

  /** Adds the rows; waits when the output is behind. */
  async addRows(rows: Iterable<readonly XlsxCell[]>): Promise<void> {
    for (const cells of rows) {
      this.addRowXml(cells);
      if (this.buffer.length >= FLUSH_BYTES) await this.flush(false);
    }
  }

  private async flush(final: boolean): Promise<void> {
    const chunk = this.buffer;
    this.buffer = '';
    const more = this.entry.write(chunk);
    if (final) this.entry.end();
    else if (!more) await this.book.waitFor(this.entry);
    this.book.check();
  }

  /** Closes the sheet: its autofilter over the header row, then the entry. */
  async end(): Promise<void> {
    const last = this.letters[this.letters.length - 1] ?? 'A';
    this.buffer += `</sheetData><autoFilter ref="A1:${last}1"/><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`;
    this.ended = true;
    await this.flush(true);
  }
}

/** An xlsx workbook written into `out` as it is built: `addSheet` (one open at a time), rows, `end`. */
export class XlsxStreamWriter {
  private readonly zip: archiver.Archiver;
  private readonly sheets: { name: string; entry: string }[] = [];
  private readonly numFmts = new Map<string, number>();
  private open: XlsxSheet | undefined;
  private failure: Error | undefined;
  private readonly done: Promise<void>;
  readonly boldStyle = 1;

  constructor(out: Writable) {
    this.zip = archiver('zip', { zlib: { level: 6 } });
    const fail = (err: Error) => {
      this.failure ??= err;
    };
    this.zip.on('error', fail);
    this.zip.on('warning', fail);
    out.on('error', fail);
    this.done = new Promise<void>((resolve) => {
      out.once('finish', resolve);
      out.once('close', resolve);
      out.once('error', () => resolve());
      this.zip.once('error', () => resolve());
    });
    this.zip.pipe(out);
  }

  /** @internal throws the first failure of the zip or the output. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** @internal resolves when the entry can take more (or the zip failed). */
  async waitFor(entry: PassThrough): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve) => {
      const done = () => {
        entry.off('drain', done);
        this.zip.off('error', done);
        resolve();
      };
      entry.once('drain', done);
      this.zip.once('error', done);
    });
    this.check();
  }

  /** The cell style index of a number format (0 default, 1 bold header, 2.. one per format). */
  styleOf(numFmt: string): number {
    let s = this.numFmts.get(numFmt);
    if (s === undefined) {
      s = this.numFmts.size + 2;
      this.numFmts.set(numFmt, s);
    }
    return s;
  }

  private file(name: string, text: string): void {
    this.zip.append(text, { name, date: MTIME });
  }

  /** Starts the next sheet (the one before must have ended). Names must be unique, 1-31 characters. */
  addSheet(name: string, opts: SheetOptions): XlsxSheet {
    if (this.open && !this.open.ended) throw new Error(`sheet ${this.open.name} is still open`);
    if (!name || name.length > 31 || /[:\\/?*[\]]/.test(name))
      throw new Error(`bad sheet name ${JSON.stringify(name)}`);
    if (this.sheets.some((s) => s.name.toLowerCase() === name.toLowerCase()))
      throw new Error(`two sheets named ${JSON.stringify(name)}`);
    const entry = `xl/worksheets/sheet${this.sheets.length + 1}.xml`;
    this.sheets.push({ name, entry });
    const stream = new PassThrough({ highWaterMark: ENTRY_BUFFER });
    this.zip.append(stream, { name: entry, date: MTIME });
    this.open = new XlsxSheet(this, stream, name, opts);
    return this.open;
  }

  /** Writes the workbook's parts after its sheets and waits until the output is finished. */
  async end(): Promise<void> {
    if (this.open && !this.open.ended) throw new Error(`sheet ${this.open.name} is still open`);
    const sheets = this.sheets.map((s, i) => ({ ...s, id: i + 1 }));
    this.file(
      'xl/workbook.xml',
      `${XML_HEAD}<workbook xmlns="${MAIN_NS}" xmlns:r="${REL_NS}"><bookViews><workbookView/></bookViews><sheets>` +
        sheets.map((s) => `<sheet name="${xmlText(s.name)}" sheetId="${s.id}" r:id="rId${s.id}"/>`).join('') +
        '</sheets><definedNames>' +
        sheets
          .map(
            (s, i) =>
              `<definedName name="_xlnm._FilterDatabase" localSheetId="${i}" hidden="1">'${xmlText(s.name).replace(/'/g, "''")}'!$A$1:$A$1</definedName>`,
          )
          .join('') +
        '</definedNames></workbook>',
    );
    const numFmts = [...this.numFmts.entries()];
    this.file(
      'xl/styles.xml',
      `${XML_HEAD}<styleSheet xmlns="${MAIN_NS}">` +
        (numFmts.length
          ? `<numFmts count="${numFmts.length}">${numFmts
              .map(([code, s]) => `<numFmt numFmtId="${162 + s}" formatCode="${xmlText(code)}"/>`)
              .join('')}</numFmts>`
          : '') +
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>' +
        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>' +
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>' +
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' +
        `<cellXfs count="${2 + numFmts.length}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>' +
        numFmts
          .map(
            ([, s]) => `<xf numFmtId="${162 + s}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>`,
          )
          .join('') +
        '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>',
    );
    this.file(
      'xl/_rels/workbook.xml.rels',
      `${XML_HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
        sheets
          .map((s) => `<Relationship Id="rId${s.id}" Type="${REL_NS}/worksheet" Target="worksheets/sheet${s.id}.xml"/>`)
          .join('') +
        `<Relationship Id="rId${sheets.length + 1}" Type="${REL_NS}/styles" Target="styles.xml"/></Relationships>`,
    );
    this.file(
      '_rels/.rels',
      `${XML_HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
        `<Relationship Id="rId1" Type="${REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    );
    this.file(
      '[Content_Types].xml',
      `${XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
        '<Default Extension="xml" ContentType="application/xml"/>' +
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
        sheets
          .map(
            (s) =>
              `<Override PartName="/${s.entry}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`,
          )
          .join('') +
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>',
    );
    await this.zip.finalize();
    await this.done;
    this.check();
  }
}
