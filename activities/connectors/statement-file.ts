// One door for bank statement files: reads the file, tells the format from its content when none is declared, and
// hands it to the right parser. Statement files are parsed whole (they are small next to ledger extracts: a
// month of a busy account is a few MB); a size limit turns a runaway file into a clear refusal, not a crashed worker.
import { stat, readFile } from 'node:fs/promises';
import { type Bai2Options, parseBai2 } from './bai2';
import { parseCamt } from './camt053';
import { parseMt940 } from './mt940';
import { SourceDataError } from './source-error';
import type { StatementFile, StatementFormat } from './statement';
import { decodeText, resolveEncoding, type TextEncoding } from './text-decode';

export interface StatementFileOptions {
  /** Text encoding of MT940/BAI2 files (default utf-8). XML files declare their own. */
  encoding?: string;
  bai2?: Bai2Options;
  /** Largest file accepted, in bytes; default 256 MiB. */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

export async function parseStatementFile(
  path: string,
  format?: StatementFormat,
  options: StatementFileOptions = {},
): Promise<StatementFile> {
  const max = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const size = (await stat(path)).size;
  if (size > max)
    throw new SourceDataError({ source: path }, `the file is ${size} bytes, more than the limit of ${max}`);
  const bytes = await readFile(path);
  return parseStatementBytes(bytes, path, format, options);
}

export function parseStatementBytes(
  bytes: Buffer,
  source: string,
  format?: StatementFormat,
  options: StatementFileOptions = {},
): StatementFile {
  const encoding = looksLikeXml(bytes) ? xmlEncoding(bytes, source) : resolveEncoding(options.encoding, source);
  const text = decodeText(bytes, source, encoding);
  return parseStatementText(text, source, format, options);
}

export function parseStatementText(
  text: string,
  source: string,
  format?: StatementFormat,
  options: StatementFileOptions = {},
): StatementFile {
  const family = detectStatementFormat(text);
  if (!family) {
    throw new SourceDataError(
      { source, line: 1 },
      'not a bank statement format this reader knows (camt.053/054, MT940/942, BAI2)',
    );
  }
  if (format && familyOf(format) !== family) {
    throw new SourceDataError({ source, line: 1 }, `declared ${format}, but the content is ${family}`);
  }
  switch (family) {
    case 'camt':
      return parseCamt(text, source, { expect: format as 'camt053' | 'camt054' | undefined });
    case 'mt940':
      return parseMt940(text, source, { expect: format as 'mt940' | 'mt942' | undefined });
    case 'bai2':
      return parseBai2(text, source, options.bai2);
  }
}

function familyOf(format: StatementFormat): 'camt' | 'mt940' | 'bai2' {
  return format === 'camt053' || format === 'camt054' ? 'camt' : format === 'bai2' ? 'bai2' : 'mt940';
}

/** Tells the format family from the content: XML, a BAI2 01 header, or SWIFT tags. Null when none fits. */
export function detectStatementFormat(text: string): 'camt' | 'mt940' | 'bai2' | null {
  const head = text.replace(/^\uFEFF/, '').trimStart();
  if (head.startsWith('<')) return 'camt';
  if (/^01,/.test(head)) return 'bai2';
  const lines = head.split(/\r\n|\r|\n/, 60);
  const soh = String.fromCharCode(1); // SWIFT's start-of-heading byte, kept by some banks
  if (lines.some((l) => /^(\{1:|:(20|25|28C?|60[FM]|61):)/.test(l.startsWith(soh) ? l.slice(1) : l))) return 'mt940';
  return null;
}

function looksLikeXml(bytes: Buffer): boolean {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  return bytes[i] === 0x3c; // '<'
}

/** The encoding an XML declaration names (ASCII-compatible prolog), default UTF-8 as XML itself defines. */
function xmlEncoding(bytes: Buffer, source: string): TextEncoding {
  const prolog = bytes.subarray(0, 200).toString('latin1');
  const m = /^(?:\uFEFF|\xEF\xBB\xBF)?\s*<\?xml[^>]*\bencoding\s*=\s*["']([^"']+)["']/.exec(prolog);
  return resolveEncoding(m ? m[1] : 'utf-8', source);
}
