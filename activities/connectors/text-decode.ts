// Bytes to text, refusing what cannot be decoded instead of replacing it. Decoders normally turn a bad byte into
// U+FFFD and carry on, which would silently change a name or a reference in a bank file; here a bad byte stops the
// read with the line it is on. UTF-8 is validated by hand (a small state machine that also counts lines); the
// single-byte and UTF-16 encodings go through iconv-lite and are checked on the decoded side.
import { Transform, type TransformCallback } from 'node:stream';
import * as iconv from 'iconv-lite';
import { SourceDataError } from './source-error';

export type TextEncoding = 'utf-8' | 'latin1' | 'windows-1252' | 'utf-16le';

const ALIASES: Record<string, TextEncoding> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  latin1: 'latin1',
  'latin-1': 'latin1',
  'iso-8859-1': 'latin1',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
  'utf-16le': 'utf-16le',
  utf16le: 'utf-16le',
};

export function resolveEncoding(name: string | undefined, source: string): TextEncoding {
  if (name === undefined) return 'utf-8';
  const enc = ALIASES[name.toLowerCase()];
  if (!enc) {
    throw new SourceDataError(
      { source },
      `unsupported encoding ${JSON.stringify(name)} (supported: utf-8, latin1, windows-1252, utf-16le)`,
    );
  }
  return enc;
}

/** A streaming decoder that knows which line it is on, so a decoding failure can name it. */
export class StrictDecoder {
  private line = 1;
  // UTF-8 validator state: continuation bytes still expected and the allowed range of the next one.
  private need = 0;
  private lo = 0x80;
  private hi = 0xbf;
  private lead = 0;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  private readonly other?: iconv.DecoderStream;
  private heldSurrogate = '';
  private oddByte = false;

  constructor(
    private readonly source: string,
    readonly encoding: TextEncoding = 'utf-8',
  ) {
    if (encoding !== 'utf-8') this.other = iconv.getDecoder(encoding, { stripBOM: true });
  }

  write(chunk: Buffer): string {
    if (this.encoding === 'utf-8') {
      this.validateUtf8(chunk);
      return this.utf8.decode(chunk, { stream: true });
    }
    if (this.encoding === 'utf-16le' && chunk.length % 2 === 1) this.oddByte = !this.oddByte;
    return this.checkDecoded(this.other!.write(chunk));
  }

  end(): string {
    if (this.encoding === 'utf-8') {
      if (this.need > 0) this.fail('the file ends inside a UTF-8 character (truncated or not UTF-8)');
      return this.utf8.decode();
    }
    if (this.oddByte) this.fail('odd number of bytes: not UTF-16LE text (or truncated)');
    const tail = this.checkDecoded(this.other!.end() ?? '');
    if (this.heldSurrogate) this.fail('unpaired UTF-16 surrogate');
    return tail;
  }

  private fail(reason: string): never {
    throw new SourceDataError({ source: this.source, line: this.line }, reason);
  }

  private validateUtf8(buf: Buffer): void {
    let i = 0;
    const n = buf.length;
    while (i < n) {
      const b = buf[i];
      if (this.need === 0) {
        if (b < 0x80) {
          if (b === 0x0a) this.line++;
        } else if (b >= 0xc2 && b <= 0xdf) {
          this.expect(b, 1, 0x80, 0xbf);
        } else if (b === 0xe0) {
          this.expect(b, 2, 0xa0, 0xbf);
        } else if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) {
          this.expect(b, 2, 0x80, 0xbf);
        } else if (b === 0xed) {
          this.expect(b, 2, 0x80, 0x9f);
        } else if (b === 0xf0) {
          this.expect(b, 3, 0x90, 0xbf);
        } else if (b >= 0xf1 && b <= 0xf3) {
          this.expect(b, 3, 0x80, 0xbf);
        } else if (b === 0xf4) {
          this.expect(b, 3, 0x80, 0x8f);
        } else {
          this.invalidByte(b);
        }
      } else {
        if (b < this.lo || b > this.hi) this.invalidByte(this.lead);
        this.need--;
        this.lo = 0x80;
        this.hi = 0xbf;
      }
      i++;
    }
  }

  private expect(lead: number, need: number, lo: number, hi: number): void {
    this.lead = lead;
    this.need = need;
    this.lo = lo;
    this.hi = hi;
  }

  private invalidByte(b: number): never {
    this.fail(
      `invalid UTF-8 byte 0x${b.toString(16).padStart(2, '0')} (is the file in another encoding, e.g. latin1/windows-1252?)`,
    );
  }

  // iconv-lite replaces undecodable input with U+FFFD (windows-1252 has five unassigned bytes) and lets unpaired
  // UTF-16 surrogates through; both are refused here. A high surrogate at the very end of a chunk may be paired
  // by the next chunk, so it is held back one call.
  private checkDecoded(text: string): string {
    let s = this.heldSurrogate + text;
    this.heldSurrogate = '';
    if (s.length > 0) {
      const last = s.charCodeAt(s.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) {
        this.heldSurrogate = s.slice(-1);
        s = s.slice(0, -1);
      }
    }
    const bad = /\uFFFD|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.exec(s);
    if (bad) {
      this.line += countNewlines(s, bad.index);
      this.fail(
        bad[0] === '\uFFFD' ? `byte not defined in ${this.encoding}` : 'unpaired UTF-16 surrogate (not UTF-16LE text)',
      );
    }
    this.line += countNewlines(s, s.length);
    return s;
  }
}

function countNewlines(s: string, end: number): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1 && i < end; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** Decodes a whole buffer (statement files, which are parsed whole). */
export function decodeText(bytes: Buffer, source: string, encoding: TextEncoding = 'utf-8'): string {
  const d = new StrictDecoder(source, encoding);
  return d.write(bytes) + d.end();
}

/** A byte-to-text stream stage for streamed sources (CSV). */
export function decodingStream(source: string, encoding: TextEncoding = 'utf-8'): Transform {
  const d = new StrictDecoder(source, encoding);
  return new Transform({
    decodeStrings: true,
    readableObjectMode: false,
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        const s = d.write(chunk);
        cb(null, s.length > 0 ? s : undefined);
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        const s = d.end();
        cb(null, s.length > 0 ? s : undefined);
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}
