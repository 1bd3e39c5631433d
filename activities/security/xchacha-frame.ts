// The one frame both value seals use (column-seal.ts for the result store, evidence-seal.ts for evidence packages):
// XChaCha20-Poly1305 from libsodium, a sealed value being nonce | ciphertext | tag with the caller's additional data.
// The seals differ only in how they draw the nonce (random for columns, synthetic for evidence) and in their keys,
// prefixes and additional data, which stay theirs.
import * as sodium from 'sodium-native';
import { DataDecryptionError } from './envelope';

export const NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
const TAG_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES;

/** nonce | ciphertext | tag of `message` under `key`, bound to `aad`. */
export function sealFrame(message: Buffer, aad: Buffer, nonce: Buffer, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(NONCE_BYTES + message.length + TAG_BYTES);
  nonce.copy(out, 0, 0, NONCE_BYTES);
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out.subarray(NONCE_BYTES), message, aad, null, nonce, key);
  return out;
}

/**
 * The message sealFrame sealed; a truncated, tampered or moved frame, or another key, fails closed with a
 * DataDecryptionError naming the dataset, the context and `movedFrom` (what a value may have been copied from).
 */
export function openFrame(
  blob: Buffer,
  aad: Buffer,
  key: Buffer,
  where: { dataset: string; context: string; movedFrom: string },
): Buffer {
  if (blob.length < NONCE_BYTES + TAG_BYTES)
    throw new DataDecryptionError(where.dataset, `${where.context}: sealed value is truncated`);
  const message = Buffer.allocUnsafe(blob.length - NONCE_BYTES - TAG_BYTES);
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      message,
      null,
      blob.subarray(NONCE_BYTES),
      aad,
      blob.subarray(0, NONCE_BYTES),
      key,
    );
  } catch {
    throw new DataDecryptionError(
      where.dataset,
      `${where.context}: the sealed value does not authenticate (tampered, moved from another ${where.movedFrom}, or another key)`,
    );
  }
  return message;
}
