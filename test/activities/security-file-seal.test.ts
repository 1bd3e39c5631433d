// Files sealed at rest with a dataset's data key (the reconciliation reports): what goes to disk, what opens, and
// every way a sealed file can be damaged or moved, each refused.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { DataDecryptionError, DatasetCipher } from '../../activities/security/envelope';
import {
  openSealedFile,
  readSealedHeader,
  SEALED_FILE_MAGIC,
  SealedFileError,
  sealingStream,
  unsealFile,
} from '../../activities/security/file-seal';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'finflow-file-seal-'));
});

const key = randomBytes(32);
const cipher = () => new DatasetCipher('recon:ACME:2026-10:gl-vs-erp', Buffer.from(key));

async function sealTo(path: string, clear: Buffer, name = 'gl-vs-erp_exceptions_2026-10-31.csv'): Promise<Buffer> {
  // Written in uneven pieces, as a report writer does.
  const pieces: Buffer[] = [];
  for (let at = 0; at < clear.length; at += 7_777) pieces.push(clear.subarray(at, at + 7_777));
  await pipeline(Readable.from(pieces), sealingStream(cipher(), name), createWriteStream(path));
  return readFile(path);
}

async function opened(path: string, c = cipher()): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of openSealedFile(path, c)) parts.push(p);
  return Buffer.concat(parts);
}

/** Offsets of each chunk's length field in a sealed file. */
function chunkOffsets(bytes: Buffer): number[] {
  let at = bytes.indexOf(0x0a, SEALED_FILE_MAGIC.length) + 1;
  const out: number[] = [];
  while (at < bytes.length) {
    out.push(at);
    at += 4 + bytes.readUInt32BE(at);
  }
  return out;
}

const IBAN = 'DE89370400440532013000';
const report = Buffer.from(
  Array.from({ length: 6_000 }, (_, i) => `item-${i},${IBAN},amount_mismatch,${i}.25\n`).join(''),
  'utf8',
);

describe('a file sealed with a dataset key', () => {
  it('keeps no clear byte on disk, names its dataset in the header, and opens to the same bytes over many chunks', async () => {
    const path = join(dir, 'many.csv.sealed');
    const bytes = await sealTo(path, report);
    expect(report.length).toBeGreaterThan(3 * 64 * 1024);
    expect(bytes.includes(IBAN)).toBe(false);
    expect(bytes.includes('amount_mismatch')).toBe(false);
    expect(chunkOffsets(bytes).length).toBe(Math.ceil(report.length / (64 * 1024)));
    expect(await readSealedHeader(path)).toEqual({
      dataset: 'recon:ACME:2026-10:gl-vs-erp',
      name: 'gl-vs-erp_exceptions_2026-10-31.csv',
    });
    expect((await opened(path)).equals(report)).toBe(true);
    const out = join(dir, 'many.csv');
    expect(await unsealFile(path, out, cipher())).toEqual({ bytes: report.length });
    expect((await readFile(out)).equals(report)).toBe(true);
  });

  it('seals and opens an empty file', async () => {
    const path = join(dir, 'empty.sealed');
    await sealTo(path, Buffer.alloc(0));
    expect((await opened(path)).length).toBe(0);
  });

  it('fails closed on a flipped byte, with the cipher refusing the chunk', async () => {
    const path = join(dir, 'tampered.sealed');
    const bytes = await sealTo(path, report);
    const bad = Buffer.from(bytes);
    bad[chunkOffsets(bytes)[1] + 40] ^= 1;
    await writeFile(path, bad);
    await expect(opened(path)).rejects.toBeInstanceOf(DataDecryptionError);
  });

  it('refuses a file cut short at a chunk boundary, in a chunk, or with bytes after its final chunk', async () => {
    const path = join(dir, 'cut.sealed');
    const bytes = await sealTo(path, report);
    const offsets = chunkOffsets(bytes);
    await writeFile(path, bytes.subarray(0, offsets[offsets.length - 1]));
    await expect(opened(path)).rejects.toThrow(/cut short after chunk \d+ \(no final chunk\)/);
    await writeFile(path, bytes.subarray(0, offsets[1] + 100));
    await expect(opened(path)).rejects.toThrow(/cut short in chunk 1/);
    await writeFile(path, Buffer.concat([bytes, bytes.subarray(offsets[0], offsets[1])]));
    await expect(opened(path)).rejects.toThrow(/bytes follow its final chunk/);
  });

  it('refuses chunks put in another order', async () => {
    const path = join(dir, 'swapped.sealed');
    const bytes = await sealTo(path, report);
    const [h, c0, c1] = chunkOffsets(bytes);
    const swapped = Buffer.concat([
      bytes.subarray(0, h),
      bytes.subarray(c0, c1),
      bytes.subarray(h, c0),
      bytes.subarray(c1),
    ]);
    await writeFile(path, swapped);
    await expect(opened(path)).rejects.toBeInstanceOf(DataDecryptionError);
  });

  it("refuses another dataset's key, a header renamed to pass as another report, and a file that is not sealed", async () => {
    const path = join(dir, 'moved.sealed');
    const bytes = await sealTo(path, report);
    await expect(opened(path, new DatasetCipher('recon:ACME:2026-10:bank', Buffer.from(key)))).rejects.toThrow(
      /sealed for dataset recon:ACME:2026-10:gl-vs-erp, not recon:ACME:2026-10:bank/,
    );
    await expect(
      opened(path, new DatasetCipher('recon:ACME:2026-10:gl-vs-erp', randomBytes(32))),
    ).rejects.toBeInstanceOf(DataDecryptionError);
    const renamed = Buffer.from(
      bytes.toString('latin1').replace('gl-vs-erp_exceptions_2026-10-31.csv', 'gl-vs-erp_exceptions_2026-09-30.csv'),
      'latin1',
    );
    await writeFile(path, renamed);
    await expect(opened(path)).rejects.toBeInstanceOf(DataDecryptionError);
    const clear = join(dir, 'clear.csv');
    await writeFile(clear, report);
    expect(await readSealedHeader(clear)).toBeUndefined();
    await expect(opened(clear)).rejects.toBeInstanceOf(SealedFileError);
    await expect(opened(clear)).rejects.toThrow(/clear.csv: it is not a sealed file/);
  });

  it('records the data classification in the header and binds it: lowered or removed, the file no longer opens', async () => {
    const path = join(dir, 'classified.sealed');
    const name = 'bank_exceptions_2026-10-31.csv';
    await pipeline(
      Readable.from([report]),
      sealingStream(cipher(), name, { classification: 'restricted' }),
      createWriteStream(path),
    );
    expect(await readSealedHeader(path)).toEqual({
      dataset: 'recon:ACME:2026-10:gl-vs-erp',
      name,
      classification: 'restricted',
    });
    expect((await opened(path)).equals(report)).toBe(true);
    const bytes = await readFile(path);
    const lowered = bytes.toString('latin1').replace('"classification":"restricted"', '"classification":"internal"');
    await writeFile(path, Buffer.from(lowered, 'latin1'));
    await expect(opened(path)).rejects.toBeInstanceOf(DataDecryptionError);
    const removed = bytes.toString('latin1').replace(',"classification":"restricted"', '');
    await writeFile(path, Buffer.from(removed, 'latin1'));
    await expect(opened(path)).rejects.toBeInstanceOf(DataDecryptionError);
    const unknown = bytes.toString('latin1').replace('"classification":"restricted"', '"classification":"secret"');
    await writeFile(path, Buffer.from(unknown, 'latin1'));
    await expect(readSealedHeader(path)).rejects.toThrow(/unknown classification "secret"/);
    expect(() => sealingStream(cipher(), name, { classification: 'secret' as never })).toThrow(
      /cannot seal a file as classified "secret"/,
    );
  });

  it("records each side's classification in the header and binds it: a side lowered, the file no longer opens", async () => {
    const path = join(dir, 'sides.sealed');
    const name = 'bank_exceptions_2026-10-31.csv';
    await pipeline(
      Readable.from([report]),
      sealingStream(cipher(), name, { classification: 'restricted', sides: { a: 'restricted', b: 'internal' } }),
      createWriteStream(path),
    );
    expect(await readSealedHeader(path)).toEqual({
      dataset: 'recon:ACME:2026-10:gl-vs-erp',
      name,
      classification: 'restricted',
      sides: { a: 'restricted', b: 'internal' },
    });
    expect((await opened(path)).equals(report)).toBe(true);
    const bytes = await readFile(path);
    const lowered = bytes.toString('latin1').replace('"a":"restricted"', '"a":"internal"');
    expect(lowered).not.toBe(bytes.toString('latin1'));
    await writeFile(path, Buffer.from(lowered, 'latin1'));
    await expect(opened(path)).rejects.toBeInstanceOf(DataDecryptionError);
    const removed = bytes.toString('latin1').replace(',"sides":{"a":"restricted","b":"internal"}', '');
    await writeFile(path, Buffer.from(removed, 'latin1'));
    await expect(opened(path)).rejects.toBeInstanceOf(DataDecryptionError);
    const unknown = bytes.toString('latin1').replace('"b":"internal"', '"b":"public-ish"');
    await writeFile(path, Buffer.from(unknown, 'latin1'));
    await expect(readSealedHeader(path)).rejects.toThrow(/unknown side classifications/);
    expect(() => sealingStream(cipher(), name, { sides: { a: 'internal' } as never })).toThrow(
      /cannot seal a file with sides classified/,
    );
  });

  it('refuses to seal under a name that could not be a file name', () => {
    expect(() => sealingStream(cipher(), '../x')).toThrow(/cannot seal a file under the name/);
    expect(() => sealingStream(cipher(), '')).toThrow(/cannot seal a file under the name/);
  });
});
