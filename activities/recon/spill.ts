// Hash-partitioned spill files between extraction and matching. Extraction streams a source once and appends each
// normalised record to the file of its key's hash bucket; matching a partition then reads only its buckets. One
// line per record, a compact JSON array, so a bucket file of 100k records is read back in one pass.
//
// Layout: <workDir>/<run dir>/<side>/b<bucket>.ndjson. A side is written into a fresh temporary directory and
// renamed into place when complete, so a retried extraction replaces the earlier attempt whole and a reader never
// sees half a side.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NormalisedRecord, Side } from '../../domain/recon';

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
  private readonly tmpDir: string;
  private pending: Promise<unknown>[] = [];
  private failure: Error | undefined;

  private constructor(
    private readonly finalDir: string,
    buckets: number,
    private readonly fields: readonly string[],
  ) {
    this.buffers = new Array<string>(buckets).fill('');
    this.streams = new Array<WriteStream | undefined>(buckets);
    this.tmpDir = `${finalDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  }

  /** `fields`: the canonical fields the matching step needs (subset-sum group fields); the rest is not kept. */
  static async open(finalDir: string, buckets: number, fields: readonly string[]): Promise<SpillWriter> {
    const w = new SpillWriter(finalDir, buckets, fields);
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
    }
    if (!s.write(text)) this.pending.push(once(s, 'drain'));
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
export async function readBuckets(dir: string, side: Side, buckets: readonly number[]): Promise<NormalisedRecord[]> {
  const out: NormalisedRecord[] = [];
  for (const bucket of buckets) {
    let text: string;
    try {
      text = await readFile(bucketFile(dir, bucket), 'utf8');
    } catch (err) {
      // Buckets that received no record have no file.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
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
