// Sealing of a dataset's values inside an evidence package (evidence.json) with the dataset's data key, so that
// crypto-shredding the dataset (finflow data shred) makes them unreadable in the archive too, while the package's
// files stay byte for byte what its signed manifest lists.
//
// Deterministic, unlike the result store's column seal: an evidence package is regenerated on a retry and must come
// out identical (the archive refuses a package id with a different manifest). The nonce is therefore synthetic:
// HMAC-SHA256 over the context and the clear value, with a key of its own, cut to XChaCha20's 192 bits (the SIV
// construction). Equal ciphertexts reveal only that the same value was sealed in the same context (the same item
// of the same package), which a retry is meant to do. Both keys are derived from the data key with HKDF under
// purposes of their own, so the data key never serves two algorithms.
//
// A sealed value is text: `ffe1:` + base64 of nonce | ciphertext | tag; the additional data binds the dataset and
// the context, so a value copied into another item or package does not open.
import { createHmac, hkdfSync } from 'node:crypto';
import { DataDecryptionError, type DatasetCipher } from './envelope';
import { NONCE_BYTES, openFrame, sealFrame } from './xchacha-frame';

export const EVIDENCE_SEAL_PREFIX = 'ffe1:';
const ENC_PURPOSE = 'finflow/evidence-seal/v1/enc';
const NONCE_PURPOSE = 'finflow/evidence-seal/v1/nonce';

export class EvidenceSealer {
  private keys: { enc: Buffer; nonce: Buffer } | undefined;

  constructor(
    readonly dataset: string,
    dataKey: Uint8Array,
  ) {
    const salt = Buffer.from(dataset, 'utf8');
    this.keys = {
      enc: Buffer.from(hkdfSync('sha256', dataKey, salt, ENC_PURPOSE, 32)),
      nonce: Buffer.from(hkdfSync('sha256', dataKey, salt, NONCE_PURPOSE, 32)),
    };
  }

  /** The sealer of a DatasetCipher's dataset (the cipher stays the caller's to dispose). */
  static of(cipher: DatasetCipher): EvidenceSealer {
    const k = cipher.keyForThread();
    try {
      return new EvidenceSealer(cipher.dataset, k);
    } finally {
      k.fill(0);
    }
  }

  private live(): { enc: Buffer; nonce: Buffer } {
    if (!this.keys) throw new Error(`the evidence sealer of dataset ${this.dataset} was disposed`);
    return this.keys;
  }

  private aad(context: string): Buffer {
    return Buffer.from(`finflow-evidence/v1\0${this.dataset}\0${context}`, 'utf8');
  }

  seal(text: string, context: string): string {
    const keys = this.live();
    const message = Buffer.from(text, 'utf8');
    const aad = this.aad(context);
    const nonce = createHmac('sha256', keys.nonce).update(aad).update(message).digest().subarray(0, NONCE_BYTES);
    const out = sealFrame(message, aad, nonce, keys.enc);
    return EVIDENCE_SEAL_PREFIX + out.toString('base64');
  }

  /** What seal() sealed under `context`; a tampered value, another context or another key fails closed. */
  open(value: string, context: string): string {
    const keys = this.live();
    if (!value.startsWith(EVIDENCE_SEAL_PREFIX))
      throw new DataDecryptionError(this.dataset, `${context} is not a sealed evidence value`);
    const blob = Buffer.from(value.slice(EVIDENCE_SEAL_PREFIX.length), 'base64');
    return openFrame(blob, this.aad(context), keys.enc, {
      dataset: this.dataset,
      context,
      movedFrom: 'item',
    }).toString('utf8');
  }

  dispose(): void {
    this.keys?.enc.fill(0);
    this.keys?.nonce.fill(0);
    this.keys = undefined;
  }
}
