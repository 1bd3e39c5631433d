// Sealing of single values in database columns (the result store's keys, evidence and explanations) with a
// dataset's data key, so that crypto-shredding the dataset makes them unreadable like its extracts.
//
// Why not DatasetCipher (AES-256-GCM through node:crypto) here: a reconciliation writes one sealed value per
// match, a million for a 1M run, and node:crypto costs 6-10 us per short value (a cipher object per nonce) where
// libsodium's XChaCha20-Poly1305 costs about 2 us. XChaCha's 192-bit nonces are safe to draw at random for any
// number of values under one key. The column key is derived from the data key (HKDF-SHA256, its own purpose), so
// one key never serves two algorithms.
//
// A sealed value is text: `ff1:` + base64 of nonce | ciphertext | tag. The additional data binds the dataset and
// the caller's context (table, column, run and item), so a sealed value copied into another row, column or run
// does not open.
import { hkdfSync } from 'node:crypto';
import * as sodium from 'sodium-native';
import { DataDecryptionError, type DatasetCipher } from './envelope';
import { NONCE_BYTES, openFrame, sealFrame } from './xchacha-frame';

export const SEALED_PREFIX = 'ff1:';
const PURPOSE = 'finflow/result-columns/v1';
/** Nonces are drawn from the system's random source this many at a time (one call instead of one per value). */
const NONCES_PER_DRAW = 4096;

export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

export class ColumnSealer {
  private key: Buffer | undefined;
  private nonces = Buffer.alloc(0);
  private next = 0;

  constructor(
    readonly dataset: string,
    dataKey: Uint8Array,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', dataKey, Buffer.from(dataset, 'utf8'), PURPOSE, 32));
  }

  /** The sealer of a DatasetCipher's dataset (the cipher stays the caller's to dispose). */
  static of(cipher: DatasetCipher): ColumnSealer {
    const k = cipher.keyForThread();
    try {
      return new ColumnSealer(cipher.dataset, k);
    } finally {
      k.fill(0);
    }
  }

  private live(): Buffer {
    if (!this.key) throw new Error(`the column sealer of dataset ${this.dataset} was disposed`);
    return this.key;
  }

  private aad(context: string): Buffer {
    return Buffer.from(`${this.dataset}\n${context}`, 'utf8');
  }

  seal(text: string, context: string): string {
    return SEALED_PREFIX + this.sealBytes(Buffer.from(text, 'utf8'), context).toString('base64');
  }

  /** The value sealed under `context`; a tampered value, another context or another key fails closed. */
  open(value: string, context: string): string {
    if (!isSealed(value)) throw new DataDecryptionError(this.dataset, `${context} is not a sealed value`);
    return this.openBytes(Buffer.from(value.slice(SEALED_PREFIX.length), 'base64'), context).toString('utf8');
  }

  /** Bytes sealed under `context` (nonce | ciphertext | tag), for a bytea column. */
  sealBytes(message: Buffer, context: string): Buffer {
    const key = this.live();
    if (this.next + NONCE_BYTES > this.nonces.length) {
      this.nonces = Buffer.allocUnsafe(NONCE_BYTES * NONCES_PER_DRAW);
      sodium.randombytes_buf(this.nonces);
      this.next = 0;
    }
    const nonce = this.nonces.subarray(this.next, this.next + NONCE_BYTES);
    this.next += NONCE_BYTES;
    return sealFrame(message, this.aad(context), nonce, key);
  }

  /** What sealBytes sealed under `context`; fails closed like open(). */
  openBytes(blob: Buffer, context: string): Buffer {
    return openFrame(blob, this.aad(context), this.live(), {
      dataset: this.dataset,
      context,
      movedFrom: 'row',
    });
  }

  dispose(): void {
    this.key?.fill(0);
    this.key = undefined;
  }
}
