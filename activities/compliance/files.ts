// Crash-safe file writes for evidence packages: content goes to a temporary name in the same directory, is
// flushed, then renamed over the final name (rename is atomic on one file system). A reader, or a resumed run,
// therefore sees either no file or a whole one; a torn temporary file is recognisable by its name and removed.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const TEMP_MARK = '.finflow-tmp-';

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** The hash of a file that exists, or undefined. */
export async function existingHash(path: string): Promise<string | undefined> {
  try {
    if (!(await stat(path)).isFile()) return undefined;
  } catch {
    return undefined;
  }
  return (await sha256File(path)).sha256;
}

function tempName(path: string): string {
  const base = path.slice(dirname(path).length + 1);
  return join(dirname(path), `${TEMP_MARK}${process.pid}-${base}`);
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Writes `data` to `path` atomically (temp + fsync + rename). */
export async function writeAtomic(path: string, data: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  const h = await open(tmp, 'w');
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

export interface FileOutcome {
  sha256: string;
  bytes: number;
  /** False when the file was already there with this exact content (a resumed or repeated run). */
  written: boolean;
}

/** Writes `data` unless `path` already holds exactly these bytes. */
export async function writeIfChanged(path: string, data: Buffer | string): Promise<FileOutcome> {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const sha256 = sha256Hex(buf);
  if ((await existingHash(path)) === sha256) return { sha256, bytes: buf.length, written: false };
  await writeAtomic(path, buf);
  return { sha256, bytes: buf.length, written: true };
}

/** Copies a file atomically, hashing what was copied. */
export async function copyAtomic(source: string, path: string): Promise<{ sha256: string; bytes: number }> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  const hash = createHash('sha256');
  let bytes = 0;
  const h = await open(tmp, 'w');
  try {
    for await (const chunk of createReadStream(source)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      await h.write(chunk as Buffer);
    }
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
  return { sha256: hash.digest('hex'), bytes };
}

/** Every file under `dir`, as paths relative to it with '/' separators, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else out.push(r);
    }
  };
  await walk('');
  return out.sort();
}

/** Removes temporary files an interrupted run left behind; returns their names. */
export async function removeTempFiles(dir: string): Promise<string[]> {
  let files: string[];
  try {
    files = await listFiles(dir);
  } catch {
    return [];
  }
  const stale = files.filter((f) => f.split('/').pop()?.startsWith(TEMP_MARK));
  for (const f of stale) await rm(join(dir, f), { force: true });
  return stale;
}

/** Copies `source` to `path` unless `path` already holds the same bytes; refuses a source that changed mid-copy. */
export async function copyIfChanged(source: string, path: string): Promise<FileOutcome> {
  const src = await sha256File(source);
  if ((await existingHash(path)) === src.sha256) return { ...src, written: false };
  const copied = await copyAtomic(source, path);
  if (copied.sha256 !== src.sha256) throw new Error(`${source} changed while it was being copied into ${path}`);
  return { ...copied, written: true };
}
