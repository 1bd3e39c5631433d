// AES-256-GCM in the one layout finflow stores it: [format byte][96-bit random nonce][ciphertext][128-bit tag].
// The data keys' blobs (envelope.ts: extracts, spill files, sealed reports, wrapped keys) and the payload codec
// (platform/codec.ts) each put their own format byte first and bind their own additional data.
//
// Built in one allocation, optionally after `prefix` free bytes for a frame's length: spill files and sealed reports
// seal a few hundred MB of 64-128 KiB chunks per large run, and every extra copy of a chunk is external memory the
// garbage collector is told about (bench:recon: 1-2 s of CPU on a 1M run went to such copies and the collections
// they caused).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** The format byte, nonce and tag around the ciphertext. */
export const OVERHEAD_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

export function sealAesGcm(
  key: Buffer,
  plaintext: Uint8Array | string,
  aad: Buffer,
  format: number,
  prefix = 0,
): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const body = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
  // GCM is a stream mode: final() holds nothing back, but its bytes are appended should it ever return any.
  const tail = cipher.final();
  const out = Buffer.allocUnsafe(prefix + OVERHEAD_BYTES + body.length + tail.length);
  let at = prefix;
  out[at++] = format;
  at += nonce.copy(out, at);
  at += body.copy(out, at);
  at += tail.copy(out, at);
  cipher.getAuthTag().copy(out, at);
  return out;
}

/**
 * The plaintext of a blob sealAesGcm made (the caller has checked its length and format byte); throws when it does
 * not authenticate (wrong key, other additional data, tampered bytes).
 */
export function openAesGcm(key: Buffer, blob: Uint8Array, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(1, 1 + NONCE_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  const body = decipher.update(blob.subarray(1 + NONCE_BYTES, blob.length - TAG_BYTES));
  const tail = decipher.final();
  return tail.length ? Buffer.concat([body, tail]) : body;
}
