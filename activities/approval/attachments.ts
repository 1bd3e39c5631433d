// Approval evidence files (issue 15: the seed's `evidence_required: [screenshot, explanation]`): a file handed to
// `finflow approve --attach kind=path` (or the library's submitApproval) is stored content-addressed by its SHA-256
// in a directory the CLI and the workers share (FINFLOW_ATTACHMENTS_DIR), and the signed decision names it as
// `attachment:sha256:<hex>` with the hash, so the signature covers the exact bytes. The close's evidence package
// copies every attachment its decisions name, after checking the bytes still have that hash, and lists it in the
// signed manifest. A file over the size limit, of a type not allowed, or whose content is not what its name says
// is refused before anything is stored.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { EvidenceRef } from '../../domain/approval';

export const ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024;
export const ATTACHMENT_REF_PREFIX = 'attachment:sha256:';

/** Allowed types by extension, each with a check that the content is what the name says. */
const TYPES: Record<string, { contentType: string; looksRight: (b: Buffer) => boolean }> = {
  png: { contentType: 'image/png', looksRight: (b) => b.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex')) },
  jpg: { contentType: 'image/jpeg', looksRight: (b) => b.subarray(0, 3).equals(Buffer.from('ffd8ff', 'hex')) },
  jpeg: { contentType: 'image/jpeg', looksRight: (b) => b.subarray(0, 3).equals(Buffer.from('ffd8ff', 'hex')) },
  pdf: { contentType: 'application/pdf', looksRight: (b) => b.subarray(0, 5).toString('latin1') === '%PDF-' },
  xlsx: {
    contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    looksRight: (b) => b.subarray(0, 4).equals(Buffer.from('504b0304', 'hex')),
  },
  csv: { contentType: 'text/csv', looksRight: (b) => isText(b) },
  txt: { contentType: 'text/plain', looksRight: (b) => isText(b) },
  eml: { contentType: 'message/rfc822', looksRight: (b) => isText(b) },
};
export const ATTACHMENT_TYPES = Object.keys(TYPES);

function isText(b: Buffer): boolean {
  if (b.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

export class AttachmentError extends Error {
  override name = 'AttachmentError';
}

export interface StoredAttachment {
  sha256: string;
  bytes: number;
  /** The file's name when it was attached. */
  name: string;
  contentType: string;
  /** Where the bytes are: `<dir>/<sha256>/<first 12 of the hash>-<name>`. */
  path: string;
}

const HEX = /^[0-9a-f]{64}$/;
const KIND = /^[a-z][a-z0-9_]{0,63}$/;

/** A file name safe on any file system and in a package: letters, digits, dot, dash, underscore. */
const safeName = (name: string) =>
  basename(name)
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .slice(-120) || 'attachment';

/** The attachment a decision's evidence reference names, or undefined when it names something else. */
export function attachmentHash(ref: EvidenceRef): string | undefined {
  if (!ref.ref.startsWith(ATTACHMENT_REF_PREFIX)) return undefined;
  const hex = ref.ref.slice(ATTACHMENT_REF_PREFIX.length);
  if (!HEX.test(hex) || (ref.sha256 !== undefined && ref.sha256 !== hex))
    throw new AttachmentError(`evidence ${ref.kind}: ${ref.ref} is not a well-formed attachment reference`);
  return hex;
}

export class AttachmentStore {
  readonly maxBytes: number;

  constructor(
    readonly dir: string,
    opts: { maxBytes?: number } = {},
  ) {
    this.maxBytes = opts.maxBytes ?? ATTACHMENT_MAX_BYTES;
  }

  /**
   * Stores the file (once: the same bytes give the same place) and returns the evidence reference a decision
   * names it by. Refuses a kind that is not a lower-case identifier, an empty file, one over the size limit, a type
   * not allowed, or content that is not what the extension says.
   */
  async put(file: string, kind: string): Promise<{ ref: EvidenceRef; stored: StoredAttachment }> {
    if (!KIND.test(kind))
      throw new AttachmentError(
        `attachment kind ${JSON.stringify(kind)} must be a lower-case identifier (e.g. screenshot)`,
      );
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) throw new AttachmentError(`${file}: not a readable file`);
    if (s.size === 0) throw new AttachmentError(`${file}: the file is empty`);
    if (s.size > this.maxBytes)
      throw new AttachmentError(`${file}: ${s.size} bytes is over the attachment limit of ${this.maxBytes} bytes`);
    return this.putBytes(await readFile(file), file, kind);
  }

  /**
   * The same for bytes handed over the wire (the approval gateway's POST /attachments): `name` gives the type by its
   * extension, and the content must be that type.
   */
  async putBytes(bytes: Buffer, name: string, kind: string): Promise<{ ref: EvidenceRef; stored: StoredAttachment }> {
    if (!KIND.test(kind))
      throw new AttachmentError(
        `attachment kind ${JSON.stringify(kind)} must be a lower-case identifier (e.g. screenshot)`,
      );
    if (bytes.length === 0) throw new AttachmentError(`${name}: the file is empty`);
    if (bytes.length > this.maxBytes)
      throw new AttachmentError(
        `${name}: ${bytes.length} bytes is over the attachment limit of ${this.maxBytes} bytes`,
      );
    const ext = extname(name).slice(1).toLowerCase();
    const type = TYPES[ext];
    if (!type)
      throw new AttachmentError(
        `${name}: files of type .${ext || '(none)'} are not allowed as evidence (allowed: ${ATTACHMENT_TYPES.join(', ')})`,
      );
    if (!type.looksRight(bytes)) throw new AttachmentError(`${name}: the content is not a .${ext} file`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const safe = safeName(name);
    const folder = join(this.dir, sha256);
    const path = join(folder, `${sha256.slice(0, 12)}-${safe}`);
    if (!(await stat(path).catch(() => undefined))) {
      await mkdir(folder, { recursive: true });
      const tmp = `${path}.${randomUUID()}.tmp`;
      await writeFile(tmp, bytes, { mode: 0o640 });
      await rename(tmp, path);
    }
    const stored = { sha256, bytes: bytes.length, name: safe, contentType: type.contentType, path };
    const meta = join(folder, 'attachment.json');
    if (!(await stat(meta).catch(() => undefined)))
      await writeFile(meta, `${JSON.stringify({ ...stored, path: basename(path) }, null, 2)}\n`, { mode: 0o640 });
    return { ref: { kind, ref: `${ATTACHMENT_REF_PREFIX}${sha256}`, sha256 }, stored };
  }

  /** The stored file of a reference, after checking its bytes still have the hash the decision signed. */
  async locate(ref: EvidenceRef): Promise<StoredAttachment> {
    const sha256 = attachmentHash(ref);
    if (!sha256) throw new AttachmentError(`evidence ${ref.kind}: ${ref.ref} is not an attachment`);
    const folder = join(this.dir, sha256);
    let meta: { name: string; contentType: string; path: string };
    try {
      meta = JSON.parse(await readFile(join(folder, 'attachment.json'), 'utf8'));
    } catch {
      throw new AttachmentError(`evidence ${ref.kind}: attachment ${sha256} is not in ${this.dir}`);
    }
    const path = join(folder, basename(meta.path));
    const bytes = await readFile(path).catch(() => undefined);
    if (!bytes) throw new AttachmentError(`evidence ${ref.kind}: attachment ${sha256} has no file in ${folder}`);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256)
      throw new AttachmentError(
        `evidence ${ref.kind}: the stored file of attachment ${sha256} now has SHA-256 ${actual}: it was changed`,
      );
    return { sha256, bytes: bytes.length, name: meta.name, contentType: meta.contentType, path };
  }

  /** Removes a stored attachment (tests; a legal purge goes through the archive). */
  async remove(sha256: string): Promise<void> {
    if (HEX.test(sha256)) await rm(join(this.dir, sha256), { recursive: true, force: true });
  }
}

/** FINFLOW_ATTACHMENTS_DIR (and FINFLOW_ATTACHMENT_MAX_BYTES): undefined when not configured. */
export function attachmentStoreFromEnv(env: NodeJS.ProcessEnv = process.env): AttachmentStore | undefined {
  const dir = env.FINFLOW_ATTACHMENTS_DIR?.trim();
  if (!dir) return undefined;
  const max = env.FINFLOW_ATTACHMENT_MAX_BYTES?.trim();
  if (max !== undefined && !/^[1-9]\d*$/.test(max))
    throw new Error(`FINFLOW_ATTACHMENT_MAX_BYTES must be a whole number of bytes, got ${JSON.stringify(max)}`);
  return new AttachmentStore(dir, max ? { maxBytes: Number(max) } : {});
}
