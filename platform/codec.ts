// The payload encryption codec of every finflow worker and client: the Temporal server stores only ciphertext
// of workflow inputs, results, signals, queries, memos and (with the failure converter in data-converter.ts)
// failure messages.
//
// Each payload is serialised (Temporal's Payload protobuf, so codecs in other SDKs can read it) and encrypted
// with AES-256-GCM under a key derived from the current master key, with a fresh random 96-bit nonce. The outer
// metadata carries the encoding `binary/encrypted` and the key id, and both are bound as additional
// authenticated data: changing either makes decryption fail, so nobody can point a payload at another key or
// pass it off as unencrypted.
//
// Decoding fails closed: a wrong or unknown key, a tampered ciphertext or tampered metadata throws, and the
// ciphertext is never handed on as if it were data. Payloads without our encoding pass through decode, because
// Temporal and its tools legitimately produce them: the plain `temporal workflow start --input` and the Web UI
// send unencrypted json/plain inputs, and histories written before encryption was switched on hold them. A
// deployment that wants none of that sets `rejectUnencrypted`. (Search attributes never pass through codecs at
// all: keep sensitive values out of them.)
//
// Large payloads are compressed before they are encrypted (format 2): a serialised payload of COMPRESS_MIN_BYTES
// or more is deflated when that makes it smaller. A close's `status` answer of 500 tasks is about 190 KB of JSON and
// about a tenth of that deflated; moving the 190 KB through the worker, the server and the client cost a 500-task
// close's status query about 80 ms at p99 on an idle 2-core machine, deflated about 20 ms (bench:close). The format
// byte is bound into the additional authenticated data, so a compressed payload cannot be passed off as an
// uncompressed one or the other way round, and only authenticated plaintext is ever inflated (at most
// MAX_INFLATED_BYTES). Compressing before encrypting lets the length of a ciphertext say something about how
// repetitive its plaintext is; a deployment for which that matters sets `compress: false`
// (FINFLOW_PAYLOAD_COMPRESSION=off), and every codec still decodes both formats.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { OVERHEAD_BYTES, openAesGcm, sealAesGcm } from '../activities/security/aes-gcm';
import { deriveKey, UnknownKeyError, type KeyProvider } from '../activities/security/key-ring';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_ENCODING_KEY = 'encoding';
export const METADATA_KEY_ID_KEY = 'encryption-key-id';
const PAYLOAD_PURPOSE = 'finflow/payload-codec/v1';
/** Format 1: the serialised payload, encrypted. Format 2: the serialised payload deflated (raw), then encrypted. */
const FORMAT_PLAIN = 1;
const FORMAT_DEFLATED = 2;
/** Serialised payloads from this size up are deflated (when that makes them smaller). */
export const COMPRESS_MIN_BYTES = 4096;
/** Inflating stops here: Temporal refuses payloads of more than a few MB anyway. */
const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

export class PayloadDecryptionError extends Error {
  constructor(reason: string) {
    super(`cannot decrypt payload: ${reason}`);
    this.name = 'PayloadDecryptionError';
  }
}

export interface EncryptionCodecOptions {
  /** Refuse to decode payloads that are not ours (default false: see the module comment). */
  rejectUnencrypted?: boolean;
  /** Deflate large payloads before encrypting them (default true: see the module comment). */
  compress?: boolean;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

function metaText(payload: Payload, key: string): string | undefined {
  const raw = payload.metadata?.[key];
  if (raw === undefined || raw === null) return undefined;
  try {
    return fromUtf8.decode(raw);
  } catch {
    throw new PayloadDecryptionError(`metadata ${key} is not UTF-8`);
  }
}

/** The additional authenticated data: the format, the outer encoding and the key id. */
function aad(format: number, encoding: string, keyId: string): Buffer {
  return Buffer.from(`finflow-payload/v${format}\0${encoding}\0${keyId}`, 'utf8');
}

export class EncryptionCodec implements PayloadCodec {
  constructor(
    private readonly keys: KeyProvider,
    private readonly options: EncryptionCodecOptions = {},
  ) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    if (payloads.length === 0) return payloads;
    // One key for the whole batch: a rotation mid-batch must not split it.
    const master = await this.keys.getCurrentKey();
    const key = deriveKey(master, PAYLOAD_PURPOSE);
    const compress = this.options.compress ?? true;
    return payloads.map((payload) => {
      let plaintext: Uint8Array = temporal.api.common.v1.Payload.encode(payload).finish();
      let format = FORMAT_PLAIN;
      if (compress && plaintext.length >= COMPRESS_MIN_BYTES) {
        const deflated = deflateRawSync(plaintext, { level: 1 });
        if (deflated.length < plaintext.length) {
          plaintext = deflated;
          format = FORMAT_DEFLATED;
        }
      }
      const data = sealAesGcm(key, plaintext, aad(format, ENCRYPTED_ENCODING, master.id), format);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: utf8.encode(ENCRYPTED_ENCODING),
          [METADATA_KEY_ID_KEY]: utf8.encode(master.id),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((p) => this.decodeOne(p)));
  }

  /** Whether a payload carries our encoding (what decode will decrypt rather than pass through). */
  static isEncrypted(payload: Payload): boolean {
    return metaText(payload, METADATA_ENCODING_KEY) === ENCRYPTED_ENCODING;
  }

  private async decodeOne(payload: Payload): Promise<Payload> {
    const encoding = metaText(payload, METADATA_ENCODING_KEY);
    const keyId = metaText(payload, METADATA_KEY_ID_KEY);
    if (encoding !== ENCRYPTED_ENCODING) {
      // A key id without our encoding is one of ours whose encoding was altered: refuse rather than pass it on.
      if (keyId !== undefined)
        throw new PayloadDecryptionError(
          `payload has key id ${JSON.stringify(keyId)} but encoding ${JSON.stringify(encoding)}`,
        );
      // Every Temporal converter names its encoding; data without one could be ours with the metadata stripped.
      if (encoding === undefined && (payload.data?.length ?? 0) > 0)
        throw new PayloadDecryptionError('payload has data but no encoding');
      if (this.options.rejectUnencrypted)
        throw new PayloadDecryptionError(
          `payload is not encrypted (encoding ${JSON.stringify(encoding)}) and unencrypted payloads are refused`,
        );
      return payload;
    }
    if (keyId === undefined) throw new PayloadDecryptionError('encrypted payload has no key id');
    let master;
    try {
      master = await this.keys.getKey(keyId);
    } catch (err) {
      if (err instanceof UnknownKeyError) throw new PayloadDecryptionError(`unknown key id ${JSON.stringify(keyId)}`);
      throw err;
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < OVERHEAD_BYTES) throw new PayloadDecryptionError('ciphertext too short');
    const format = data[0];
    if (format !== FORMAT_PLAIN && format !== FORMAT_DEFLATED)
      throw new PayloadDecryptionError(`unknown format version ${format}`);
    let plaintext: Buffer;
    try {
      plaintext = openAesGcm(deriveKey(master, PAYLOAD_PURPOSE), data, aad(format, encoding, keyId));
    } catch {
      throw new PayloadDecryptionError(
        `authentication failed under key ${JSON.stringify(keyId)} (wrong key or tampered payload)`,
      );
    }
    if (format === FORMAT_DEFLATED) {
      try {
        plaintext = inflateRawSync(plaintext, { maxOutputLength: MAX_INFLATED_BYTES });
      } catch (err) {
        throw new PayloadDecryptionError(`compressed payload does not inflate: ${(err as Error).message}`);
      }
    }
    const inner = temporal.api.common.v1.Payload.decode(plaintext);
    return { metadata: inner.metadata, data: inner.data };
  }
}
