// CSV source: streamed through csv-parse, so memory stays flat whatever the row count. Bytes are decoded strictly
// (text-decode.ts) before parsing, so a file in the wrong encoding fails on the line of its first bad byte instead
// of producing mangled names.
import { createReadStream } from 'node:fs';
import { pipeline, type Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { SourceDataError } from './source-error';
import {
  applyFieldRules,
  checkDeclaredColumns,
  type FieldRules,
  type SourceRecord,
  type SourceRow,
} from './source-record';
import { decodingStream, resolveEncoding } from './text-decode';

export interface CsvOptions extends FieldRules {
  /** Field delimiter; default ','. */
  delimiter?: string;
  /** utf-8 (default), latin1, windows-1252 or utf-16le. */
  encoding?: string;
  /** true (default): the first line names the columns. A list: the file has no header line; these are its columns. */
  header?: true | string[];
  /** Quote character; default '"'. null: the file uses no quoting. */
  quote?: string | null;
}

/** Streams the records of a CSV file. Empty cells are null; every record is checked against the field rules. */
export function readCsv(path: string, options: CsvOptions = {}): AsyncGenerator<SourceRow> {
  return readCsvStream(createReadStream(path), path, options);
}

/** Same as readCsv over any byte stream; `source` names it in errors. */
export async function* readCsvStream(
  input: Readable,
  source: string,
  options: CsvOptions = {},
): AsyncGenerator<SourceRow> {
  const encoding = resolveEncoding(options.encoding, source);
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length === 0) throw new SourceDataError({ source }, 'the delimiter is empty');
  const quote = options.quote === undefined ? '"' : options.quote;
  const parser = parse({
    delimiter,
    quote: quote ?? false,
    bom: true,
    // Lines are counted here rather than with csv-parse's `info`, which copies its state for every record and cost
    // a third of the time at a million rows. Empty lines therefore come through and are skipped below.
    skip_empty_lines: false,
    // Column counts are checked here, with a message that names the line and both counts.
    relax_column_count: true,
  });
  // pipeline, not pipe: a decoding error upstream must reach the consumer of the parser, not vanish.
  pipeline(input, decodingStream(source, encoding), parser, () => undefined);

  let columns: string[] | undefined = Array.isArray(options.header) ? [...options.header] : undefined;
  if (columns) {
    validateColumns(columns, source, 0);
    checkDeclaredColumns(options, columns, { source });
  }
  const hasHeaderLine = options.header === undefined || options.header === true;
  let next = 1;

  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      // A record takes one line plus one per line break inside its (quoted) fields.
      const line = next;
      next += 1;
      for (const field of record) if (field.length > 0 && /[\r\n]/.test(field)) next += lineBreaks(field);
      // An empty line: one empty field. (In a one-column file that is an empty value, which the rules then judge.)
      if (record.length === 1 && record[0] === '' && (columns === undefined || columns.length > 1)) continue;
      if (!columns) {
        columns = record.map((c) => c.trim());
        validateColumns(columns, source, line);
        checkDeclaredColumns(options, columns, { source, line });
        if (hasHeaderLine) continue;
      }
      if (record.length !== columns.length) {
        throw new SourceDataError(
          { source, line },
          `has ${record.length} field${record.length === 1 ? '' : 's'}, the header has ${columns.length}`,
        );
      }
      const out: SourceRecord = {};
      for (let i = 0; i < columns.length; i++) out[columns[i]] = record[i] === '' ? null : record[i];
      applyFieldRules(out, options, { source, line });
      yield { line, record: out };
    }
  } catch (err) {
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines;
      throw new SourceDataError({ source, line }, `malformed CSV: ${err.message.replace(/^Invalid [^:]*: /, '')}`);
    }
    throw err;
  } finally {
    input.destroy();
  }
  if (!columns) throw new SourceDataError({ source, line: 1 }, 'the file is empty: no header line');
}

function lineBreaks(s: string): number {
  return s.match(/\r\n|\r|\n/g)?.length ?? 0;
}

function validateColumns(columns: string[], source: string, line: number): void {
  const seen = new Set<string>();
  columns.forEach((c, i) => {
    if (c === '') throw new SourceDataError({ source, line: line || undefined }, `column ${i + 1} has no name`);
    const where = { source, line: line || undefined, field: c };
    if (seen.has(c)) throw new SourceDataError(where, 'column name appears twice');
    // A record is a plain object: this one name would be swallowed by it instead of stored.
    if (c === '__proto__') throw new SourceDataError(where, 'unusable column name');
    seen.add(c);
  });
}
