// Encoding of PostgreSQL's COPY text format, for bulk writes: one line per row, fields separated by tabs,
// backslash escapes for the characters that would break the framing, \N for NULL.

const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

export function copyField(value: string | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c]) : value;
}

export function copyLine(values: (string | null | undefined)[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) line += (i ? '\t' : '') + copyField(values[i]);
  return `${line}\n`;
}

/**
 * Turns rows into COPY text chunks of about `chunkBytes`, so the stream writes a few large buffers rather than
 * one per row. `encode` may throw to refuse a row; the COPY then fails and its transaction rolls back.
 */
export async function* copyChunks<T>(
  rows: Iterable<T> | AsyncIterable<T>,
  encode: (row: T, index: number) => (string | null | undefined)[],
  counter: { rows: number },
  chunkBytes = 1 << 16,
): AsyncGenerator<string> {
  let chunk = '';
  for await (const row of rows) {
    chunk += copyLine(encode(row, counter.rows));
    counter.rows++;
    if (chunk.length >= chunkBytes) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
