import { createHash } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { KEY_SEPARATOR } from '../../domain/recon/normalise';
import { PARTITION_SCHEME, keyHash, md5Hex, partitionOf, partitionSql } from '../../domain/recon/partition';

// Keys with multi-byte characters, surrogate pairs, a lone surrogate, composite keys and lengths around the MD5 block
// boundaries (55, 56 and 64 bytes of padding decide whether a second block is needed).
const KEYS = [
  '',
  'abc',
  '4000',
  `4000${KEY_SEPARATOR}CC-17`,
  'Müller & Söhne',
  '東京支店',
  'pay 😀 ref',
  'lone \ud800 surrogate',
  'x'.repeat(55),
  'x'.repeat(56),
  'x'.repeat(64),
  'y'.repeat(1000),
];

describe('partition hash', () => {
  it('is MD5 of the UTF-8 key: the RFC 1321 test vectors', () => {
    expect(md5Hex('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(md5Hex('a')).toBe('0cc175b9c0f1b6a831c399e269772661');
    expect(md5Hex('abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(md5Hex('message digest')).toBe('f96b697d7cb7938d525a2f31aaf161d0');
    expect(md5Hex('abcdefghijklmnopqrstuvwxyz')).toBe('c3fcd3d76192e4007dfb496cca67e13b');
    expect(md5Hex('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')).toBe(
      'd174ab98d277d9f5a5611c2c9f419d9f',
    );
    expect(md5Hex('1234567890'.repeat(8))).toBe('57edf4a22be3c955ac49da2e2107b67a');
  });

  it('agrees with Node’s MD5 on multi-byte, composite and block-boundary keys', () => {
    for (const key of KEYS) expect(md5Hex(key)).toBe(createHash('md5').update(key, 'utf8').digest('hex'));
  });

  it('takes the first four digest bytes big-endian as the hash, and the hash modulo N as the partition', () => {
    expect(keyHash('abc')).toBe(0x90015098);
    expect(keyHash('')).toBe(0xd41d8cd9);
    expect(partitionOf('abc', 7)).toBe(0x90015098 % 7);
    expect(partitionOf('abc', 1)).toBe(0);
    for (const key of KEYS) expect(keyHash(key)).toBe(parseInt(md5Hex(key).slice(0, 8), 16));
  });

  it('spreads keys evenly over the partitions', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 80_000; i++) counts[partitionOf(`ACC-${i}`, 8)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });

  it('refuses partition counts that are not integers from 1 to 65536, and an empty key list', () => {
    expect(() => partitionOf('k', 0)).toThrow(RangeError);
    expect(() => partitionOf('k', 1.5)).toThrow('partition count must be an integer from 1 to 65536, got 1.5');
    expect(() => partitionSql('postgres', ['k'], 65_537)).toThrow(RangeError);
    expect(() => partitionSql('mysql', [], 4)).toThrow('at least one key expression is needed');
  });

  it('documents the scheme for both databases', () => {
    expect(PARTITION_SCHEME.version).toBe(1);
    expect(PARTITION_SCHEME.postgres).toContain('md5');
    expect(PARTITION_SCHEME.mysql).toContain('MD5');
  });
});

describe('partition SQL', () => {
  const composite = [
    ['4000', 'CC-17'],
    ['Müller & Söhne', '東京支店'],
    ['pay 😀', 'x'.repeat(60)],
  ];
  const single = KEYS.filter((k) => k !== '' && !k.includes(KEY_SEPARATOR) && !k.includes('\ud800'));

  it('computes the same partitions in PostgreSQL', async () => {
    const client = new Client({ connectionString: process.env.FINFLOW_TEST_PG_ADMIN_URL });
    await client.connect();
    try {
      const one = await client.query<{ k: string; p: string }>(
        `SELECT k, ${partitionSql('postgres', ['k'], 13)}::text AS p FROM unnest($1::text[]) AS t(k)`,
        [single],
      );
      expect(one.rows.map((r) => [r.k, Number(r.p)])).toEqual(single.map((k) => [k, partitionOf(k, 13)]));
      const two = await client.query<{ p: string }>(
        `SELECT ${partitionSql('postgres', ['a', 'b'], 65_536)}::text AS p FROM unnest($1::text[], $2::text[]) AS t(a, b)`,
        [composite.map((c) => c[0]), composite.map((c) => c[1])],
      );
      expect(two.rows.map((r) => Number(r.p))).toEqual(
        composite.map((c) => partitionOf(c.join(KEY_SEPARATOR), 65_536)),
      );
    } finally {
      await client.end();
    }
  });

  it('computes the same partitions in MariaDB/MySQL', async () => {
    const url = process.env.FINFLOW_TEST_MARIADB_ADMIN_URL;
    if (!url) throw new Error(`no MariaDB for this run: ${process.env.FINFLOW_TEST_MARIADB_ERROR ?? 'unknown reason'}`);
    const conn = await createConnection({ uri: url, charset: 'utf8mb4' });
    try {
      for (const key of single) {
        const [rows] = await conn.query(`SELECT ${partitionSql('mysql', ['?'], 13)} AS p`, [key]);
        expect([key, Number((rows as { p: number | string }[])[0].p)]).toEqual([key, partitionOf(key, 13)]);
      }
      for (const parts of composite) {
        const [rows] = await conn.query(`SELECT ${partitionSql('mysql', ['?', '?'], 65_536)} AS p`, parts);
        expect(Number((rows as { p: number | string }[])[0].p)).toBe(partitionOf(parts.join(KEY_SEPARATOR), 65_536));
      }
    } finally {
      await conn.end();
    }
  });
});
