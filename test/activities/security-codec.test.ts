import { DefaultFailureConverter, defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  decodeOptionalFailureToOptionalError,
  encodeErrorToFailure,
  loadDataConverter,
} from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { KeyRing, generateMasterKey } from '../../activities/security/key-ring';
import {
  COMPRESS_MIN_BYTES,
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  METADATA_ENCODING_KEY,
  METADATA_KEY_ID_KEY,
  PayloadDecryptionError,
} from '../../platform/codec';
import { FAILURE_CONVERTER_PATH, createDataConverter } from '../../platform/data-converter';
import { codecOptionsFromEnv } from '../../platform/security-setup';

const IBAN = 'DE89370400440532013000';
const k1 = generateMasterKey('k1');
const k2 = generateMasterKey('k2');
const value = { closeId: 'close:ACME:2026-10', accountNumber: IBAN, total: '1250000.00' };

const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const bytesContain = (p: Payload, s: string) =>
  Buffer.from(temporal.api.common.v1.Payload.encode(p).finish()).includes(Buffer.from(s));

async function encrypted(ring: KeyRing, v: unknown = value): Promise<Payload> {
  const [p] = await new EncryptionCodec(ring).encode([defaultPayloadConverter.toPayload(v)]);
  return p;
}

function withMeta(p: Payload, key: string, v: string | undefined): Payload {
  const metadata = { ...p.metadata };
  if (v === undefined) delete metadata[key];
  else metadata[key] = Buffer.from(v);
  return { metadata, data: p.data };
}

describe('the payload encryption codec', () => {
  const ring = new KeyRing([k1], 'k1');

  it('encrypts a payload so neither the value nor its encoding is visible, and decrypts it back with the right key', async () => {
    const p = await encrypted(ring);
    expect(text(p.metadata![METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
    expect(text(p.metadata![METADATA_KEY_ID_KEY])).toBe('k1');
    expect(Object.keys(p.metadata!).sort()).toEqual([METADATA_ENCODING_KEY, METADATA_KEY_ID_KEY].sort());
    expect(bytesContain(p, IBAN)).toBe(false);
    expect(bytesContain(p, 'json/plain')).toBe(false);
    const [back] = await new EncryptionCodec(ring).decode([p]);
    expect(text(back.metadata!.encoding)).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(back)).toEqual(value);
  });

  it('uses a fresh nonce for every payload, so equal values give different ciphertexts', async () => {
    const codec = new EncryptionCodec(ring);
    const plain = defaultPayloadConverter.toPayload(value);
    const [a, b] = await codec.encode([plain, plain]);
    expect(Buffer.from(a.data!).equals(Buffer.from(b.data!))).toBe(false);
    expect(Buffer.from(a.data!).subarray(1, 13).equals(Buffer.from(b.data!).subarray(1, 13))).toBe(false);
    expect(await codec.encode([])).toEqual([]);
  });

  it('fails closed under a wrong key with the same key id', async () => {
    const p = await encrypted(ring);
    const impostor = new KeyRing([generateMasterKey('k1')], 'k1');
    await expect(new EncryptionCodec(impostor).decode([p])).rejects.toThrow(
      /cannot decrypt payload: authentication failed under key "k1"/,
    );
  });

  it('fails closed on an unknown key id', async () => {
    const p = await encrypted(new KeyRing([k2], 'k2'));
    await expect(new EncryptionCodec(ring).decode([p])).rejects.toThrow(/unknown key id "k2"/);
  });

  it('fails closed on a tampered ciphertext, nonce, tag or format byte', async () => {
    const p = await encrypted(ring);
    const codec = new EncryptionCodec(ring);
    const data = Buffer.from(p.data!);
    for (const index of [0, 5, 20, data.length - 1]) {
      const tampered = Buffer.from(data);
      tampered[index] ^= 0x01;
      await expect(codec.decode([{ metadata: p.metadata, data: tampered }])).rejects.toThrow(PayloadDecryptionError);
    }
    await expect(codec.decode([{ metadata: p.metadata, data: data.subarray(0, 20) }])).rejects.toThrow(/too short/);
    await expect(codec.decode([p])).resolves.toHaveLength(1);
  });

  // A 500-task status answer repeats the same keys and names; so does this.
  const large = {
    tasks: Array.from({ length: 400 }, (_, i) => ({
      id: `task_${i}`,
      state: 'done',
      ownerRole: 'accountant',
      iban: IBAN,
    })),
  };
  const formatOf = (p: Payload) => Buffer.from(p.data!)[0];

  it('deflates a large payload before encrypting it, and decodes it back to the same value', async () => {
    const codec = new EncryptionCodec(ring);
    const plain = defaultPayloadConverter.toPayload(large);
    const [p] = await codec.encode([plain]);
    expect(formatOf(p)).toBe(2);
    expect(p.data!.length).toBeLessThan(plain.data!.length / 5);
    expect(bytesContain(p, IBAN)).toBe(false);
    const [back] = await codec.decode([p]);
    expect(defaultPayloadConverter.fromPayload(back)).toEqual(large);
  });

  it('leaves small payloads uncompressed, and compresses nothing when told not to', async () => {
    expect(formatOf(await encrypted(ring))).toBe(1);
    expect(Buffer.from(defaultPayloadConverter.toPayload(value).data!).length).toBeLessThan(COMPRESS_MIN_BYTES);
    const [p] = await new EncryptionCodec(ring, { compress: false }).encode([defaultPayloadConverter.toPayload(large)]);
    expect(formatOf(p)).toBe(1);
    // Either codec reads both formats.
    const [back] = await new EncryptionCodec(ring).decode([p]);
    expect(defaultPayloadConverter.fromPayload(back)).toEqual(large);
    const [deflated] = await new EncryptionCodec(ring).encode([defaultPayloadConverter.toPayload(large)]);
    const [again] = await new EncryptionCodec(ring, { compress: false }).decode([deflated]);
    expect(defaultPayloadConverter.fromPayload(again)).toEqual(large);
  });

  it('reads FINFLOW_PAYLOAD_COMPRESSION: on by default, off when told, and refuses any other value', () => {
    expect(codecOptionsFromEnv({})).toEqual({});
    expect(codecOptionsFromEnv({ FINFLOW_PAYLOAD_COMPRESSION: 'on' })).toEqual({});
    expect(codecOptionsFromEnv({ FINFLOW_PAYLOAD_COMPRESSION: 'OFF' })).toEqual({ compress: false });
    expect(() => codecOptionsFromEnv({ FINFLOW_PAYLOAD_COMPRESSION: 'gzip' })).toThrow(
      /FINFLOW_PAYLOAD_COMPRESSION must be "on" or "off", not "gzip"/,
    );
  });

  it('fails closed when the format byte is switched between compressed and uncompressed', async () => {
    const codec = new EncryptionCodec(ring);
    const [big] = await codec.encode([defaultPayloadConverter.toPayload(large)]);
    const small = await encrypted(ring);
    for (const [p, to] of [
      [big, 1],
      [small, 2],
    ] as const) {
      const data = Buffer.from(p.data!);
      data[0] = to;
      await expect(codec.decode([{ metadata: p.metadata, data }])).rejects.toThrow(/authentication failed/);
    }
  });

  it('fails closed when the key id in the metadata is changed to another key of the ring', async () => {
    const both = new KeyRing([k1, k2], 'k1');
    const p = await encrypted(both);
    await expect(new EncryptionCodec(both).decode([withMeta(p, METADATA_KEY_ID_KEY, 'k2')])).rejects.toThrow(
      /authentication failed under key "k2"/,
    );
  });

  it('fails closed when the encoding is changed or the key id removed, never handing on the ciphertext', async () => {
    const p = await encrypted(ring);
    const codec = new EncryptionCodec(ring);
    await expect(codec.decode([withMeta(p, METADATA_ENCODING_KEY, 'json/plain')])).rejects.toThrow(
      /has key id "k1" but encoding "json\/plain"/,
    );
    await expect(codec.decode([withMeta(p, METADATA_ENCODING_KEY, undefined)])).rejects.toThrow(PayloadDecryptionError);
    await expect(codec.decode([withMeta(p, METADATA_KEY_ID_KEY, undefined)])).rejects.toThrow(/has no key id/);
    const stripped = withMeta(withMeta(p, METADATA_KEY_ID_KEY, undefined), METADATA_ENCODING_KEY, undefined);
    await expect(codec.decode([stripped])).rejects.toThrow(/has data but no encoding/);
  });

  it('fails the whole batch when one payload of it fails', async () => {
    const good = await encrypted(ring);
    const bad = withMeta(good, METADATA_KEY_ID_KEY, 'nope');
    await expect(new EncryptionCodec(ring).decode([good, bad])).rejects.toThrow(PayloadDecryptionError);
  });

  it('passes unencrypted payloads (e.g. from the plain temporal CLI) through decode, unless told to refuse them', async () => {
    const plain = defaultPayloadConverter.toPayload({ company: 'ACME' });
    const [through] = await new EncryptionCodec(ring).decode([plain]);
    expect(through).toBe(plain);
    await expect(new EncryptionCodec(ring, { rejectUnencrypted: true }).decode([plain])).rejects.toThrow(
      /not encrypted .* refused/,
    );
    const p = await encrypted(ring);
    await expect(new EncryptionCodec(ring, { rejectUnencrypted: true }).decode([p])).resolves.toHaveLength(1);
  });

  it('after rotation still decrypts old payloads and encrypts new ones with the new key', async () => {
    const old = await encrypted(new KeyRing([k1], 'k1'));
    const rotated = new KeyRing([k1, k2], 'k2');
    const codec = new EncryptionCodec(rotated);
    expect(defaultPayloadConverter.fromPayload((await codec.decode([old]))[0])).toEqual(value);
    const [fresh] = await codec.encode([defaultPayloadConverter.toPayload(value)]);
    expect(text(fresh.metadata![METADATA_KEY_ID_KEY])).toBe('k2');
    // a process that has only the old key cannot read the new payload: hence the two-step rotation
    await expect(new EncryptionCodec(new KeyRing([k1], 'k1')).decode([fresh])).rejects.toThrow(/unknown key id "k2"/);
  });
});

describe('the data converter', () => {
  const ring = new KeyRing([k1], 'k1');

  it('loads with the encryption codec and a failure converter that encodes messages and stack traces', () => {
    const loaded = loadDataConverter(createDataConverter(ring));
    expect(loaded.payloadCodecs).toHaveLength(1);
    expect(loaded.payloadCodecs[0]).toBeInstanceOf(EncryptionCodec);
    expect(loaded.failureConverter).toBeInstanceOf(DefaultFailureConverter);
    expect((loaded.failureConverter as DefaultFailureConverter).options.encodeCommonAttributes).toBe(true);
    expect(FAILURE_CONVERTER_PATH).toMatch(/domain[/\\]security[/\\]failure-converter\.(ts|js)$/);
  });

  it('keeps an error message quoting an account number out of the encoded failure, and restores it on decode', async () => {
    const loaded = loadDataConverter(createDataConverter(ring));
    const failure = await encodeErrorToFailure(loaded, new Error(`payment to ${IBAN} bounced`));
    const wire = Buffer.from(temporal.api.failure.v1.Failure.encode(failure).finish());
    expect(wire.includes(Buffer.from(IBAN))).toBe(false);
    expect(wire.includes(Buffer.from('bounced'))).toBe(false);
    expect(failure.message).toBe('Encoded failure');
    const err = await decodeOptionalFailureToOptionalError(loaded, failure);
    expect(err?.message).toBe(`payment to ${IBAN} bounced`);
  });

  it('without the codec the same failure would carry the account number in clear', async () => {
    const plainConverter = loadDataConverter({});
    const failure = await encodeErrorToFailure(plainConverter, new Error(`payment to ${IBAN} bounced`));
    const wire = Buffer.from(temporal.api.failure.v1.Failure.encode(failure).finish());
    expect(wire.includes(Buffer.from(IBAN))).toBe(true);
  });
});
