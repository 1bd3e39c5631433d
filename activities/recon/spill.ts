// Hash-partitioned spill files between extraction and matching. Extraction streams a source once and appends each
// normalised record to the file of its key's hash bucket; matching a partition then reads only its buckets. One
// line per record, a compact JSON array, so a bucket file of 100k records is read back in one pass.
//
// Layout: <workDir>/<run dir>/<side>/b<bucket>.ndjson. A side is written into a fresh temporary directory and
// renamed into place when complete, so a retried extraction replaces the earlier attempt whole and a reader never
// sees half a side.
//
// Encrypted at rest when the worker has keys: each flushed chunk (~128 KB) is sealed with the dataset's data key
// (AES-256-GCM, the file, bucket and chunk number bound as context, so chunks cannot be swapped, reordered or moved
// between runs) and written as a 4-byte length and the sealed bytes after a magic line. Shredding the dataset's
// key makes the files unreadable; a reader that expects encryption refuses a clear file and the other way round.
import { createHash, randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NormalisedRecord, Side } from '../../domain/recon';
import type { DatasetCipher } from '../security/envelope';

/** First bytes of an encrypted spill file. */
const SEALED_MAGIC = Buffer.from('finflow-spill-sealed/v1\n');

/** The dataset cipher and the run/side context its chunks are bound to. */
export interface SpillCipher {
  cipher: DatasetCipher;
  /** e.g. `<runId>/a`: with the bucket and chunk number, the context of each sealed chunk. */
  context: string;
}

function chunkContext(c: SpillCipher, bucket: number, seq: number): string {
  return `spill:${c.context}/b${bucket}/${seq}`;
}

/** A directory name for a run id (`recon:ACME:2026-10:gl-vs-erp/<uuid>`): readable prefix plus a hash. */
export function runDirName(runId: string): string {
  const readable = runId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
  const hash = createHash('sha256').update(runId).digest('hex').slice(0, 16);
  return `${readable}-${hash}`;
}

export function sideDir(workDir: string, runId: string, side: Side): string {
  return join(workDir, runDirName(runId), side);
}

function bucketFile(dir: string, bucket: number): string {
  return `${dir}/b${bucket}.ndjson`;
}

const COMPLETE = 'complete.json';

/** Buffered text per bucket, flushed in large writes; memory is bounded by buckets x FLUSH_AT. */
const FLUSH_AT = 128 * 1024;

export class SpillWriter {
  private readonly buffers: string[];
  private readonly streams: (WriteStream | undefined)[];
  private readonly sealed: number[];
  private readonly tmpDir: string;
  private pending: Promise<unknown>[] = [];
  private failure: Error | undefined;

  private constructor(
    private readonly finalDir: string,
    buckets: number,
    private readonly fields: readonly string[],
    private readonly cipher?: SpillCipher,
  ) {
    this.buffers = new Array<string>(buckets).fill('');
    this.sealed = new Array<number>(buckets).fill(0);
    this.streams = new Array<WriteStream | undefined>(buckets);
    this.tmpDir = `${finalDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  }

  /** `fields`: the canonical fields the matching step needs (subset-sum group fields); the rest is not kept. */
  static async open(
    finalDir: string,
    buckets: number,
    fields: readonly string[],
    cipher?: SpillCipher,
  ): Promise<SpillWriter> {
    const w = new SpillWriter(finalDir, buckets, fields, cipher);
    await mkdir(w.tmpDir, { recursive: true });
    return w;
  }

  add(bucket: number, r: NormalisedRecord): void {
    let kept: Record<string, string> | 0 = 0;
    if (this.fields.length > 0) {
      kept = {};
      for (const f of this.fields) {
        const v = r.fields[f];
        if (v !== undefined) kept[f] = v;
      }
    }
    const line = JSON.stringify([r.id, r.line, r.key, r.amountMinor, r.currency, r.date, kept]);
    const b = (this.buffers[bucket] += `${line}\n`);
    if (b.length >= FLUSH_AT) this.flush(bucket);
  }

  private flush(bucket: number): void {
    const text = this.buffers[bucket];
    if (text.length === 0) return;
    this.buffers[bucket] = '';
    let s = this.streams[bucket];
    if (s === undefined) {
      s = createWriteStream(bucketFile(this.tmpDir, bucket), { flags: 'w' });
      s.on('error', (err) => {
        this.failure ??= err;
      });
      this.streams[bucket] = s;
      if (this.cipher) s.write(SEALED_MAGIC);
    }
    const data = this.cipher
      ? this.cipher.cipher.encryptFrame(text, chunkContext(this.cipher, bucket, this.sealed[bucket]++))
      : text;
    if (!s.write(data)) this.pending.push(once(s, 'drain'));
  }

  /** Waits while any file's buffer is full: call between batches, so a fast source cannot outrun the disk. */
  async drain(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.pending.length === 0) return;
    const waits = this.pending;
    this.pending = [];
    await Promise.all(waits);
    if (this.failure) throw this.failure;
  }

  /**
   * Flushes and closes every file, records `info` (the side's control totals) beside them, then moves the side
   * into place, replacing an earlier attempt.
   */
  async commit(info: unknown): Promise<void> {
    for (let b = 0; b < this.buffers.length; b++) this.flush(b);
    await this.drain();
    await Promise.all(
      this.streams.map(async (s) => {
        if (!s) return;
        s.end();
        await once(s, 'finish');
      }),
    );
    if (this.failure) throw this.failure;
    const done = createWriteStream(join(this.tmpDir, COMPLETE));
    done.end(JSON.stringify(info));
    await once(done, 'finish');
    await rm(this.finalDir, { recursive: true, force: true });
    await rename(this.tmpDir, this.finalDir);
  }

  async abort(): Promise<void> {
    for (const s of this.streams) s?.destroy();
    await rm(this.tmpDir, { recursive: true, force: true });
  }
}

/** The records of the given buckets of one side, in bucket then file order (the order extraction wrote them). */
export async function readBuckets(
  dir: string,
  side: Side,
  buckets: readonly number[],
  cipher?: SpillCipher,
): Promise<NormalisedRecord[]> {
  const out: NormalisedRecord[] = [];
  for (const bucket of buckets) {
    let bytes: Buffer;
    try {
      bytes = await readFile(bucketFile(dir, bucket));
    } catch (err) {
      // Buckets that received no record have no file.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const text = spillText(bytes, bucketFile(dir, bucket), bucket, cipher);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const [id, line, key, amountMinor, currency, date, kept] = JSON.parse(text.slice(start, nl)) as [
        string,
        number,
        string,
        number,
        string,
        string | null,
        Record<string, string> | 0,
      ];
      out.push({ id, side, line, key, fields: kept === 0 ? {} : kept, amountMinor, currency, date });
      start = nl + 1;
    }
  }
  return out;
}

/** A bucket file's text: as written, or its sealed chunks opened in order. */
function spillText(bytes: Buffer, file: string, bucket: number, c: SpillCipher | undefined): string {
  const sealed = bytes.subarray(0, SEALED_MAGIC.length).equals(SEALED_MAGIC);
  if (!c) {
    if (sealed) throw new Error(`spill file ${file} is encrypted and this worker has no keys to read it`);
    return bytes.toString('utf8');
  }
  if (!sealed) throw new Error(`spill file ${file} is not encrypted, but this run's spill files must be`);
  // Each chunk decoded as it is opened (a character split between chunks is joined by the decoder), rather than
  // the chunks copied into one buffer first: a copy of the whole file less.
  const utf8 = new StringDecoder('utf8');
  let text = '';
  let at = SEALED_MAGIC.length;
  for (let seq = 0; at < bytes.length; seq++) {
    if (at + 4 > bytes.length) throw new Error(`spill file ${file} is truncated after chunk ${seq}`);
    const len = bytes.readUInt32BE(at);
    if (at + 4 + len > bytes.length) throw new Error(`spill file ${file} is truncated in chunk ${seq}`);
    text += utf8.write(c.cipher.decrypt(bytes.subarray(at + 4, at + 4 + len), chunkContext(c, bucket, seq)));
    at += 4 + len;
  }
  return text + utf8.end();
}

/** What extraction recorded for a complete side, or undefined when the side was never (fully) extracted. */
export async function sideInfo(dir: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(join(dir, COMPLETE), 'utf8')) as unknown;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function removeRunDir(workDir: string, runId: string): Promise<void> {
  await rm(join(workDir, runDirName(runId)), { recursive: true, force: true });
}
