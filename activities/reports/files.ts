// Report files: names, atomic writes and content hashes. A report appears under its final name only when it
// is complete (written to a temporary name in the same directory, flushed, then renamed), so a reader, a
// retried activity or an evidence package never sees half a file.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/common';
import ExcelJS from 'exceljs';
import type { ClassificationLevel } from '../../domain/security/policy';
import type { DatasetCipher } from '../security/envelope';
import { SEALED_FILE_SUFFIX, sealingStream, type SideClassifications } from '../security/file-seal';

export type ReportKind = 'exceptions' | 'summary';
export type ReportFormat = 'xlsx' | 'csv' | 'json';

export interface ReportFile {
  path: string;
  /** Hex SHA-256 of the file's bytes, for the evidence package and the workflow's history. */
  sha256: string;
  /** Data rows written (exceptions, or category lines of a summary). */
  rows: number;
  bytes: number;
}

const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * `<recon>_<kind>_<yyyy-mm-dd>.<ext>`, e.g. `gl-vs-erp_exceptions_2026-10-31.xlsx`; a sealed report adds
 * `.sealed` (open it with `finflow report open`).
 */
export function reportFileName(
  reconId: string,
  kind: ReportKind,
  date: string,
  format: ReportFormat,
  sealed = false,
): string {
  if (!NAME_PART.test(reconId))
    throw ApplicationFailure.nonRetryable(
      `reconciliation id ${JSON.stringify(reconId)} cannot name a file (letters, digits, '.', '_', '-')`,
      'InvalidReport',
    );
  if (!ISO_DATE.test(date))
    throw ApplicationFailure.nonRetryable(`report date ${JSON.stringify(date)} is not yyyy-mm-dd`, 'InvalidReport');
  return `${reconId}_${kind}_${date}.${format}${sealed ? SEALED_FILE_SUFFIX : ''}`;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Where a report's bytes go: `open()` gives the stream of its temporary file (through the sealing stream when the
 * report is sealed); open it once. */
export interface ReportSink {
  open(): Writable;
}

/** How a report is sealed at rest: absent `seal`, it is written in clear. */
export interface ReportSealing {
  /** The run's dataset cipher: the report is sealed with it at rest (`.sealed` added to its name). */
  seal?: DatasetCipher;
  /** How the reconciled data is classified (the stricter source's): recorded in the sealed header, and bound. */
  classification?: ClassificationLevel;
  /** Each source's own level (side a, side b): recorded in the sealed header, and bound, for per-side role views. */
  sides?: SideClassifications;
}

/**
 * Runs `write(sink)` (which returns the row count), makes the bytes durable, then renames the file into place; a
 * failure leaves no file behind, and an earlier complete file of the same name is replaced whole. With `seal`, the
 * bytes are sealed with that data key on their way to the disk (activities/security/file-seal.ts): no clear byte
 * of the report is written, not even to the temporary file; the hash and size are the sealed file's.
 */
export async function writeAtomically(
  path: string,
  write: (sink: ReportSink) => Promise<number>,
  sealing: ReportSealing = {},
): Promise<ReportFile> {
  const { seal, classification, sides } = sealing;
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const written: Promise<void>[] = [];
  const opened: Writable[] = [];
  const sink: ReportSink = {
    open() {
      if (written.length) throw new Error(`report ${path} was opened twice`);
      const file = createWriteStream(tmp, { mode: 0o640 });
      opened.push(file);
      if (!seal) {
        written.push(finished(file));
        return file;
      }
      const sealing = sealingStream(seal, basename(path, SEALED_FILE_SUFFIX), { classification, sides });
      opened.push(sealing);
      written.push(pipeline(sealing, file));
      return sealing;
    },
  };
  try {
    const rows = await write(sink);
    if (!written.length) throw new Error(`report ${path} was never written`);
    await Promise.all(written);
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const sha256 = await sha256File(tmp);
    const { size } = await stat(tmp);
    await rename(tmp, path);
    // The rename itself is durable only once the directory is flushed; not every platform allows that.
    try {
      const dh = await open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch {
      // best effort
    }
    return { path, sha256, rows, bytes: size };
  } catch (err) {
    // A writer that failed half-way leaves its stream open: close it before the half-written file goes.
    for (const stream of opened) stream.destroy();
    await Promise.allSettled(written);
    await rm(tmp, { force: true });
    throw err;
  }
}

/** exceljs's streaming workbook writer, writing into the report's sink (styles kept, no shared strings). */
export function reportWorkbook(sink: ReportSink): ExcelJS.stream.xlsx.WorkbookWriter {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: sink.open(), useStyles: true, useSharedStrings: false });
  wb.creator = 'finflow';
  return wb;
}

/** A text file written with backpressure: write() waits whenever the stream's buffer is full. */
export async function withTextFile(
  out: Writable,
  body: (write: (s: string) => Promise<void>) => Promise<number>,
): Promise<number> {
  const failed = once(out, 'error').then(([err]) => {
    throw err;
  });
  failed.catch(() => undefined);
  const write = async (s: string) => {
    if (!out.write(s)) await Promise.race([once(out, 'drain'), failed]);
  };
  try {
    const rows = await body(write);
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
    return rows;
  } catch (err) {
    out.destroy();
    throw err;
  }
}
