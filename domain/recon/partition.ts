// Stable hash partitioning of the reconciliation key, computable in TypeScript, PostgreSQL and MySQL/MariaDB alike.
//
// Scheme (version 1):
//   h         = the first 4 bytes of MD5(UTF-8 bytes of the normalised key), read as a big-endian unsigned integer
//               (the first 8 hex digits of the usual md5 hex string)
//   partition = h mod N
// The key is the normalised composite key (key field values joined by U+001F, see normalise.ts).
//
// Why MD5 and not FNV-1a: both databases have md5() built in, so a connector can select one partition with a plain
// WHERE clause on a read-only replica. FNV-1a would need a stored function (a privilege a read-only ERP login rarely
// has) and runs a PL/pgSQL or stored-procedure loop per byte. MD5 is used as a mixing function, not for security.
// In TypeScript it costs well under a microsecond for a short key, small beside parsing the record.

/** Round constants: floor(|sin(i + 1)| * 2^32), RFC 1321. */
const K = new Int32Array([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8,
  0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
  0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87,
  0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
  0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039,
  0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
  0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
  0xeb86d391,
]);
const S = new Int32Array([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);

let buffer = new Uint8Array(128);

/** UTF-8 bytes of `s` into the shared buffer (grown as needed); returns the byte length. */
function utf8(s: string): number {
  if (buffer.length < s.length * 3 + 72) buffer = new Uint8Array(s.length * 3 + 72);
  const b = buffer;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) b[n++] = c;
    else if (c < 0x800) {
      b[n++] = 0xc0 | (c >> 6);
      b[n++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
        const lo = s.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          i++;
          b[n++] = 0xf0 | (c >> 18);
          b[n++] = 0x80 | ((c >> 12) & 63);
          b[n++] = 0x80 | ((c >> 6) & 63);
          b[n++] = 0x80 | (c & 63);
          continue;
        }
      }
      // A lone surrogate is encoded as U+FFFD, as TextEncoder and the databases' UTF-8 conversion do.
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
      b[n++] = 0xe0 | (c >> 12);
      b[n++] = 0x80 | ((c >> 6) & 63);
      b[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}

const M = new Int32Array(16);
const OUT = new Int32Array(4);

/** MD5 of the UTF-8 bytes of `s` as four little-endian 32-bit words (RFC 1321). */
function md5Words(s: string): Int32Array {
  const len = utf8(s);
  const b = buffer;
  const total = (((len + 8) >> 6) + 1) << 6;
  b[len] = 0x80;
  b.fill(0, len + 1, total);
  const bits = len * 8;
  b[total - 8] = bits & 0xff;
  b[total - 7] = (bits >>> 8) & 0xff;
  b[total - 6] = (bits >>> 16) & 0xff;
  b[total - 5] = (bits >>> 24) & 0xff;
  // Keys are far shorter than 512 MiB, so the high word of the bit length is zero.
  let a0 = 0x67452301,
    b0 = 0xefcdab89 | 0,
    c0 = 0x98badcfe | 0,
    d0 = 0x10325476;
  for (let off = 0; off < total; off += 64) {
    for (let j = 0; j < 16; j++) {
      const p = off + j * 4;
      M[j] = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
    }
    let A = a0,
      B = b0,
      C = c0,
      D = d0;
    // Four loops, one per round function, keep the hot path free of branches on the round number.
    let F: number, r: number;
    for (let i = 0; i < 16; i++) {
      F = (((B & C) | (~B & D)) + A + K[i] + M[i]) | 0;
      r = S[i & 3];
      A = D;
      D = C;
      C = B;
      B = (B + ((F << r) | (F >>> (32 - r)))) | 0;
    }
    for (let i = 16; i < 32; i++) {
      F = (((D & B) | (~D & C)) + A + K[i] + M[(5 * i + 1) & 15]) | 0;
      r = S[4 + (i & 3)];
      A = D;
      D = C;
      C = B;
      B = (B + ((F << r) | (F >>> (32 - r)))) | 0;
    }
    for (let i = 32; i < 48; i++) {
      F = ((B ^ C ^ D) + A + K[i] + M[(3 * i + 5) & 15]) | 0;
      r = S[8 + (i & 3)];
      A = D;
      D = C;
      C = B;
      B = (B + ((F << r) | (F >>> (32 - r)))) | 0;
    }
    for (let i = 48; i < 64; i++) {
      F = ((C ^ (B | ~D)) + A + K[i] + M[(7 * i) & 15]) | 0;
      r = S[12 + (i & 3)];
      A = D;
      D = C;
      C = B;
      B = (B + ((F << r) | (F >>> (32 - r)))) | 0;
    }
    a0 = (a0 + A) | 0;
    b0 = (b0 + B) | 0;
    c0 = (c0 + C) | 0;
    d0 = (d0 + D) | 0;
  }
  OUT[0] = a0;
  OUT[1] = b0;
  OUT[2] = c0;
  OUT[3] = d0;
  return OUT;
}

function hexLE(w: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += ((w >>> (8 * i)) & 0xff).toString(16).padStart(2, '0');
  return s;
}

/** MD5 hex digest of the UTF-8 bytes of `s` (exported so tests can check it against RFC 1321 vectors). */
export function md5Hex(s: string): string {
  return Array.from(md5Words(s), hexLE).join('');
}

/** The 32-bit partition hash of a key: the first 4 digest bytes as a big-endian unsigned integer. */
export function keyHash(key: string): number {
  const w = md5Words(key)[0];
  return (((w & 0xff) << 24) | (((w >>> 8) & 0xff) << 16) | (((w >>> 16) & 0xff) << 8) | (w >>> 24)) >>> 0;
}

function checkPartitions(partitions: number): void {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 65_536)
    throw new RangeError(`partition count must be an integer from 1 to 65536, got ${partitions}`);
}

/** The partition (0 .. partitions-1) of a normalised key. */
export function partitionOf(key: string, partitions: number): number {
  checkPartitions(partitions);
  return keyHash(key) % partitions;
}

export const PARTITION_SCHEME = {
  version: 1,
  description:
    'partition = (first 4 bytes of MD5(UTF-8 of the key), big-endian unsigned) mod N; key = key field values joined by U+001F',
  postgres:
    "(('x' || substr(md5(convert_to(<key>, 'UTF8')), 1, 8))::bit(32)::bigint % <N>), <key> = concat_ws(chr(31), <k1>, <k2>, ...)",
  mysql:
    'CAST(CONV(SUBSTRING(MD5(<key>), 1, 8), 16, 10) AS UNSIGNED) % <N>, <key> = CONCAT_WS(CHAR(31 USING utf8mb4), CONVERT(<k1> USING utf8mb4), ...)',
} as const;

/**
 * The SQL expression computing the partition of a row, for `WHERE <expr> = :partition`. `keyExpressions` are SQL
 * expressions that reproduce the NORMALISED key fields in order (e.g. `upper(trim(account_code))`): a key that
 * normalisation changes (lookups, date parsing) and SQL cannot reproduce must be partitioned after normalisation,
 * in TypeScript, with partitionOf. The expressions are inserted as given: they come from a definition, never a user.
 */
export function partitionSql(
  dialect: 'postgres' | 'mysql',
  keyExpressions: readonly string[],
  partitions: number,
): string {
  checkPartitions(partitions);
  if (keyExpressions.length === 0) throw new RangeError('at least one key expression is needed');
  if (dialect === 'postgres') {
    const key =
      keyExpressions.length === 1 ? `(${keyExpressions[0]})::text` : `concat_ws(chr(31), ${keyExpressions.join(', ')})`;
    return `(('x' || substr(md5(convert_to(${key}, 'UTF8')), 1, 8))::bit(32)::bigint % ${partitions})`;
  }
  const key = `CONCAT_WS(CHAR(31 USING utf8mb4), ${keyExpressions.map((e) => `CONVERT(${e} USING utf8mb4)`).join(', ')})`;
  return `(CAST(CONV(SUBSTRING(MD5(${key}), 1, 8), 16, 10) AS UNSIGNED) % ${partitions})`;
}
