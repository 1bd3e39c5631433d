// Files sealed at rest with a dataset's data key: the reconciliation reports (exceptions and summary, xlsx/csv/json)
// of a worker that has keys. Shredding the dataset makes them unreadable wherever they were copied.
//
// Layout: a magic line, a header line of JSON ({"dataset","name"}: not secret, so a reader knows which key to ask
// for), then chunks of at most 64 KiB, each a 4-byte big-endian length and DatasetCipher.encrypt(chunk, context).
// The context binds the header's name, the chunk's number and, for the last chunk (possibly empty), a final mark:
// a chunk swapped, reordered or taken from another file does not open, and neither does a file cut short at a chunk
// boundary (its last chunk lacks the mark). The dataset is bound by the cipher itself. The file's own name on disk
// is free to change (an archive copy); the header's name is the one authenticated. A header may also carry the
// data's classification (a reconciliation report: the stricter of its two sources') and each side's own (`sides`),
// which role views of the file go by; they are bound into every chunk's context too, so neither can be lowered
// without the file failing to open.
import { createReadStream, createWriteStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CLASSIFICATION_LEVELS, type ClassificationLevel } from '../../domain/security/policy';
import type { DatasetCipher } from './envelope';

export const SEALED_FILE_MAGIC = 'finflow-sealed-file/v1\n';
/** Suffix of a sealed report: `gl-vs-erp_exceptions_2026-10-31.xlsx.sealed`. */
export const SEALED_FILE_SUFFIX = '.sealed';
const CHUNK_BYTES = 64 * 1024;
/** Larger than any chunk this module writes (plus the cipher's overhead): a bigger length is corruption. */
const MAX_SEALED_CHUNK = CHUNK_BYTES + 1024;
const MAX_HEADER_BYTES = 4096;

export interface SealedFileHeader {
  dataset: string;
  /** The name the file was sealed under (the report's file name without the suffix). */
  name: string;
  /** How the data in the file is classified (absent in files sealed before it was recorded). */
  classification?: ClassificationLevel;
  /** A reconciliation report's two sources, each at its own level (absent in files sealed before it was recorded). */
  sides?: SideClassifications;
}

export interface SideClassifications {
  a: ClassificationLevel;
  b: ClassificationLevel;
}

type SealedFileMeta = Pick<SealedFileHeader, 'classification' | 'sides'>;

const isLevel = (v: unknown): v is ClassificationLevel => (CLASSIFICATION_LEVELS as readonly unknown[]).includes(v);
const validSides = (v: unknown): v is SideClassifications =>
  typeof v === 'object' && v !== null && isLevel((v as SideClassifications).a) && isLevel((v as SideClassifications).b);

/** A header of exactly these fields (what a sealed file records, and what a read of one gives back). */
function headerOf(dataset: string, name: string, meta: SealedFileMeta): SealedFileHeader {
  return {
    dataset,
    name,
    ...(meta.classification ? { classification: meta.classification } : {}),
    ...(meta.sides ? { sides: { a: meta.sides.a, b: meta.sides.b } } : {}),
  };
}

export class SealedFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`sealed file ${file}: ${message}`);
    this.name = 'SealedFileError';
  }
}

function chunkContext(
  header: Pick<SealedFileHeader, 'name' | keyof SealedFileMeta>,
  seq: number,
  last: boolean,
): string {
  let bound = header.classification ? `${header.name}|${header.classification}` : header.name;
  if (header.sides) bound += `|a:${header.sides.a}|b:${header.sides.b}`;
  return `file:${bound}#${seq}${last ? '#last' : ''}`;
}

/**
 * A stream that takes a file's clear bytes and gives its sealed form (magic, header, chunks); pipe it into the
 * file. The cipher stays the caller's to dispose, after the stream has finished.
 */
export function sealingStream(cipher: DatasetCipher, name: string, meta: SealedFileMeta = {}): Transform {
  if (!name || /[\n/\\]/.test(name)) throw new Error(`cannot seal a file under the name ${JSON.stringify(name)}`);
  if (meta.classification !== undefined && !isLevel(meta.classification))
    throw new Error(`cannot seal a file as classified ${JSON.stringify(meta.classification)}`);
  if (meta.sides !== undefined && !validSides(meta.sides))
    throw new Error(`cannot seal a file with sides classified ${JSON.stringify(meta.sides)}`);
  const header = headerOf(cipher.dataset, name, meta);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let seq = 0;
  const frame = (clear: Buffer, last: boolean): Buffer => cipher.encryptFrame(clear, chunkContext(header, seq++, last));
  return new Transform({
    construct(callback) {
      this.push(`${SEALED_FILE_MAGIC}${JSON.stringify(header)}\n`);
      callback();
    },
    transform(chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback) {
      try {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
        pending.push(bytes);
        pendingBytes += bytes.length;
        // Keep at least one byte back, so the final chunk is never empty unless the whole file is.
        while (pendingBytes > CHUNK_BYTES) {
          const all = Buffer.concat(pending);
          this.push(frame(all.subarray(0, CHUNK_BYTES), false));
          const rest = all.subarray(CHUNK_BYTES);
          pending = [rest];
          pendingBytes = rest.length;
        }
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        this.push(frame(Buffer.concat(pending), true));
        pending = [];
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
}

/** The header of a sealed file, or undefined for a file that is not sealed (does not start with the magic). */
export async function readSealedHeader(path: string): Promise<SealedFileHeader | undefined> {
  const fh = await openFile(path, 'r');
  try {
    const buf = Buffer.alloc(SEALED_FILE_MAGIC.length + MAX_HEADER_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return parseHeader(buf.subarray(0, bytesRead), path)?.header;
  } finally {
    await fh.close();
  }
}

function parseHeader(bytes: Buffer, file: string): { header: SealedFileHeader; end: number } | undefined {
  const magic = Buffer.from(SEALED_FILE_MAGIC);
  if (bytes.length < magic.length || !bytes.subarray(0, magic.length).equals(magic)) return undefined;
  const nl = bytes.indexOf(0x0a, magic.length);
  if (nl < 0) throw new SealedFileError(file, 'its header is cut short or too long');
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(magic.length, nl).toString('utf8'));
  } catch {
    throw new SealedFileError(file, 'its header is not JSON');
  }
  const h = header as Partial<SealedFileHeader>;
  if (typeof h?.dataset !== 'string' || typeof h.name !== 'string' || !h.dataset || !h.name)
    throw new SealedFileError(file, 'its header lacks the dataset or the name');
  if (h.classification !== undefined && !isLevel(h.classification))
    throw new SealedFileError(file, `its header names an unknown classification ${JSON.stringify(h.classification)}`);
  if (h.sides !== undefined && !validSides(h.sides))
    throw new SealedFileError(file, `its header names unknown side classifications ${JSON.stringify(h.sides)}`);
  return { header: headerOf(h.dataset, h.name, h), end: nl + 1 };
}

/**
 * The clear bytes of a sealed file, chunk by chunk, each checked before it is given out. Throws SealedFileError
 * for a file that is not sealed, sealed for another dataset, cut short or corrupt, and the cipher's
 * DataDecryptionError for a chunk that does not authenticate (tampered, swapped, wrong key).
 */
export async function* openSealedFile(path: string, cipher: DatasetCipher): AsyncGenerator<Buffer> {
  let buf: Buffer = Buffer.alloc(0);
  let header: SealedFileHeader | undefined;
  let seq = 0;
  let sawLast = false;
  for await (const piece of createReadStream(path)) {
    buf = buf.length ? Buffer.concat([buf, piece as Buffer]) : (piece as Buffer);
    if (!header) {
      const parsed = parseHeader(buf, path);
      if (parsed === undefined) {
        if (buf.length >= SEALED_FILE_MAGIC.length) throw new SealedFileError(path, 'it is not a sealed file');
        continue;
      }
      header = parsed.header;
      if (header.dataset !== cipher.dataset)
        throw new SealedFileError(path, `it is sealed for dataset ${header.dataset}, not ${cipher.dataset}`);
      buf = buf.subarray(parsed.end);
    }
    while (buf.length >= 4) {
      if (sawLast) throw new SealedFileError(path, `bytes follow its final chunk (${seq - 1})`);
      const len = buf.readUInt32BE(0);
      if (len > MAX_SEALED_CHUNK) throw new SealedFileError(path, `chunk ${seq} claims ${len} bytes`);
      if (buf.length < 4 + len) break;
      const body = buf.subarray(4, 4 + len);
      buf = buf.subarray(4 + len);
      // Which chunk is the final one is sealed into its context: a chunk that opens only as final must end the file.
      let clear: Buffer;
      try {
        clear = cipher.decrypt(body, chunkContext(header, seq, false));
      } catch {
        clear = cipher.decrypt(body, chunkContext(header, seq, true));
        sawLast = true;
      }
      seq++;
      yield clear;
    }
  }
  if (!header) throw new SealedFileError(path, 'it is not a sealed file');
  if (buf.length) throw new SealedFileError(path, `it is cut short in chunk ${seq}`);
  if (!sawLast) throw new SealedFileError(path, `it is cut short after chunk ${seq - 1} (no final chunk)`);
}

/** Unseals a sealed file into `outPath` (written whole or not at all is the caller's concern). */
export async function unsealFile(path: string, outPath: string, cipher: DatasetCipher): Promise<{ bytes: number }> {
  let bytes = 0;
  const out = createWriteStream(outPath, { mode: 0o600 });
  const source = openSealedFile(path, cipher);
  await pipeline(async function* () {
    for await (const clear of source) {
      bytes += clear.length;
      yield clear;
    }
  }, out);
  return { bytes };
}
