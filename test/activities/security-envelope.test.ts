import { Pool } from 'pg';
import { InMemoryAccessLog } from '../../activities/security/access-log';
import {
  DataDecryptionError,
  DataKeyMissingError,
  DataShreddedError,
  EnvelopeEncryption,
  InMemoryDataKeyStore,
  PgDataKeyStore,
  toActivityFailure,
  type DataKeyStore,
} from '../../activities/security/envelope';
import { UnknownKeyError } from '../../activities/security/key-ring';
import { ApplicationFailure } from '@temporalio/common';
import type { Queryable } from '../../activities/security/db';
import { KeyRing, generateMasterKey } from '../../activities/security/key-ring';
import { freshDatabase } from '../helpers/postgres';

const audit = { actor: 'controller@acme', purpose: 'retention expired' };

// The same behaviour is required of every store; the PostgreSQL one runs on the run's real server.
function envelopeSuite(name: string, makeStore: () => Promise<DataKeyStore>) {
  describe(`envelope encryption over ${name}`, () => {
    let store: DataKeyStore;
    let accessLog: InMemoryAccessLog;
    const k1 = generateMasterKey('k1');
    const k2 = generateMasterKey('k2');
    beforeEach(async () => {
      store = await makeStore();
      accessLog = new InMemoryAccessLog();
    });
    const envelope = (ring: KeyRing) => new EnvelopeEncryption({ keys: ring, store, accessLog });

    it('decrypts with the dataset key what it encrypted, and stores the data key only wrapped', async () => {
      const env = envelope(new KeyRing([k1], 'k1'));
      const blob = await env.encrypt('close:ACME:2026-10', 'DE89370400440532013000', 'bank.account_number');
      expect(blob.toString('latin1')).not.toContain('DE89370400440532013000');
      expect((await env.decrypt('close:ACME:2026-10', blob, 'bank.account_number')).toString()).toBe(
        'DE89370400440532013000',
      );
      const row = await store.get('close:ACME:2026-10');
      expect(row).toMatchObject({ kid: 'k1', shreddedAt: null });
      expect(row!.wrappedKey!.length).toBe(1 + 12 + 32 + 16);
    });

    it('gives each dataset its own key, so ciphertext does not decrypt under another dataset or context', async () => {
      const env = envelope(new KeyRing([k1], 'k1'));
      const blob = await env.encrypt('close:ACME:2026-10', 'secret', 'c');
      await env.encrypt('close:ACME:2026-11', 'other', 'c');
      await expect(env.decrypt('close:ACME:2026-11', blob, 'c')).rejects.toThrow(DataDecryptionError);
      await expect(env.decrypt('close:ACME:2026-10', blob, 'other-column')).rejects.toThrow(DataDecryptionError);
      const w10 = (await store.get('close:ACME:2026-10'))!.wrappedKey!;
      const w11 = (await store.get('close:ACME:2026-11'))!.wrappedKey!;
      expect(w10.equals(w11)).toBe(false);
    });

    it('fails closed on a tampered ciphertext', async () => {
      const env = envelope(new KeyRing([k1], 'k1'));
      const blob = await env.encrypt('ds', 'secret');
      const tampered = Buffer.from(blob);
      tampered[20] ^= 1;
      await expect(env.decrypt('ds', tampered)).rejects.toThrow(/authentication failed/);
      await expect(env.decrypt('ds', blob)).resolves.toEqual(Buffer.from('secret'));
    });

    it('frames a sealed chunk as its length and the same blob encrypt gives, for text and bytes alike', async () => {
      const env = envelope(new KeyRing([k1], 'k1'));
      const cipher = await env.open('ds', { create: true });
      try {
        const text = `${'é'.repeat(70_000)}\n`;
        for (const clear of [text, Buffer.from(text, 'utf8')]) {
          const frame = cipher.encryptFrame(clear, 'spill:b1/0');
          const blob = frame.subarray(4);
          expect(frame.readUInt32BE(0)).toBe(blob.length);
          expect(blob.length).toBe(1 + 12 + Buffer.byteLength(text) + 16);
          expect(cipher.decrypt(blob, 'spill:b1/0').toString('utf8')).toBe(text);
          expect(() => cipher.decrypt(blob, 'spill:b1/1')).toThrow(DataDecryptionError);
        }
        // encrypt() and the frame's blob are one format: each opens the other's way.
        expect(cipher.decrypt(cipher.encrypt(text, 'c'), 'c').toString('utf8')).toBe(text);
      } finally {
        cipher.dispose();
      }
    });

    it('refuses to read a dataset that never had a key instead of inventing one', async () => {
      const env = envelope(new KeyRing([k1], 'k1'));
      await expect(env.decrypt('never', Buffer.alloc(40))).rejects.toThrow(DataKeyMissingError);
      expect(await store.get('never')).toBeUndefined();
    });

    it('still decrypts data keyed under the old master key after rotation, and wraps new data keys with the new one', async () => {
      const before = envelope(new KeyRing([k1], 'k1'));
      const old = await before.encrypt('old-ds', 'old value');
      const after = envelope(new KeyRing([k1, k2], 'k2'));
      expect((await after.decrypt('old-ds', old)).toString()).toBe('old value');
      await after.encrypt('new-ds', 'new value');
      expect((await store.get('new-ds'))!.kid).toBe('k2');
      expect((await store.get('old-ds'))!.kid).toBe('k1');
    });

    it('re-wraps old data keys so the old master key can be retired', async () => {
      const before = envelope(new KeyRing([k1], 'k1'));
      const a = await before.encrypt('a', 'value a');
      const b = await before.encrypt('b', 'value b');
      const after = envelope(new KeyRing([k1, k2], 'k2'));
      expect(await after.rewrapAll('k1')).toBe(2);
      expect(await after.rewrapAll('k1')).toBe(0);
      const retired = envelope(new KeyRing([k2], 'k2'));
      expect((await retired.decrypt('a', a)).toString()).toBe('value a');
      expect((await retired.decrypt('b', b)).toString()).toBe('value b');
      // without re-wrapping, retiring the key would have locked the data out
      const c = await before.encrypt('c', 'value c');
      await expect(retired.decrypt('c', c)).rejects.toThrow(/unknown encryption key id "k1"/);
    });

    it('makes a shredded dataset unreadable with DataShreddedError, refuses new writes, and logs the shred', async () => {
      const env = envelope(new KeyRing([k1], 'k1'));
      const blob = await env.encrypt('close:ACME:2026-10', 'DE89370400440532013000');
      const result = await env.shred('close:ACME:2026-10', audit);
      expect(result).toMatchObject({ hadKey: true, firstShred: true });
      const err = await env.decrypt('close:ACME:2026-10', blob).catch((e: Error) => e);
      expect(err).toBeInstanceOf(DataShreddedError);
      expect((err as Error).message).toMatch(/crypto-shredded at .*: its data can no longer be decrypted/);
      await expect(env.encrypt('close:ACME:2026-10', 'new')).rejects.toThrow(DataShreddedError);
      const row = await store.get('close:ACME:2026-10');
      expect(row).toMatchObject({ wrappedKey: null, kid: null });
      expect(row!.shreddedAt).toBeInstanceOf(Date);
      expect(accessLog.entries).toEqual([
        expect.objectContaining({
          actor: audit.actor,
          action: 'shred',
          resource: 'close:ACME:2026-10',
          outcome: 'allowed',
        }),
      ]);
      // other datasets are untouched
      const other = await env.encrypt('close:ACME:2026-11', 'fine');
      expect((await env.decrypt('close:ACME:2026-11', other)).toString()).toBe('fine');
    });

    it('shreds idempotently, and tombstones a dataset that had no key so it never gets one', async () => {
      const env = envelope(new KeyRing([k1], 'k1'));
      await env.encrypt('ds', 'x');
      expect((await env.shred('ds', audit)).firstShred).toBe(true);
      expect((await env.shred('ds', audit)).firstShred).toBe(false);
      expect(await env.shred('unknown-ds', audit)).toMatchObject({ hadKey: false, firstShred: true });
      await expect(env.encrypt('unknown-ds', 'x')).rejects.toThrow(DataShreddedError);
      expect(accessLog.entries.map((e) => e.resource)).toEqual(['ds', 'ds', 'unknown-ds']);
    });

    it('keeps an already opened cipher for its batch, and refuses every later open after a shred', async () => {
      const env = envelope(new KeyRing([k1], 'k1'));
      const cipher = await env.open('batch-ds', { create: true });
      const sealed = cipher.encryptText('DE89370400440532013000', 'col');
      expect(cipher.decryptText(sealed, 'col')).toBe('DE89370400440532013000');
      await env.shred('batch-ds', audit);
      await expect(env.open('batch-ds', { create: false })).rejects.toThrow(DataShreddedError);
      cipher.dispose();
      expect(() => cipher.decryptText(sealed, 'col')).toThrow(/disposed/);
    });
  });
}

describe('errors seen by activities', () => {
  it('makes shredded, missing and tampered data non-retryable but leaves an unknown key id retryable', () => {
    for (const err of [
      new DataShreddedError('ds', new Date()),
      new DataKeyMissingError('ds'),
      new DataDecryptionError('ds', 'authentication failed'),
    ]) {
      const failure = toActivityFailure(err);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: err.name, nonRetryable: true, message: err.message });
    }
    const rotating = new UnknownKeyError('k9');
    expect(toActivityFailure(rotating)).toBe(rotating);
  });
});

envelopeSuite('the in-memory store', async () => new InMemoryDataKeyStore());

describe('the PostgreSQL data key store', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = new Pool({ connectionString: await freshDatabase('security_keys'), max: 4 });
  });
  afterAll(async () => {
    await pool.end();
  });

  let n = 0;
  envelopeSuite('PostgreSQL', async () => {
    // a fresh schema per test keeps the tests independent on one database
    const schema = `t${++n}`;
    await pool.query(`CREATE SCHEMA ${schema}`);
    const scoped: Queryable = {
      query: async (text: string, values?: unknown[]) => {
        const client = await pool.connect();
        try {
          await client.query(`SET search_path TO ${schema}`);
          return await client.query(text, values);
        } finally {
          await client.query('RESET search_path');
          client.release();
        }
      },
    };
    const store = new PgDataKeyStore(scoped);
    await store.ensureSchema();
    return store;
  });

  it('keeps no wrapped key in the table after a shred, and VACUUMs the table to reclaim the old row version', async () => {
    const store = new PgDataKeyStore(pool);
    await store.ensureSchema();
    const env = new EnvelopeEncryption({
      keys: new KeyRing([generateMasterKey('k1')], 'k1'),
      store,
      accessLog: new InMemoryAccessLog(),
    });
    await env.encrypt('vacuum-ds', 'x');
    const result = await store.shred('vacuum-ds');
    expect(result.vacuumed).toBe(true);
    const { rows } = await pool.query(
      "SELECT wrapped_key, kid, shredded_at FROM data_keys WHERE dataset = 'vacuum-ds'",
    );
    expect(rows).toEqual([{ wrapped_key: null, kid: null, shredded_at: expect.any(Date) }]);
  });

  it('refuses through its check constraint a live row without a key', async () => {
    const store = new PgDataKeyStore(pool);
    await store.ensureSchema();
    await expect(
      pool.query("INSERT INTO data_keys (dataset, kid, wrapped_key) VALUES ('bad', 'k1', NULL)"),
    ).rejects.toThrow(/data_keys_live_or_shredded/);
  });

  it('lets two racing writers agree on one data key', async () => {
    const store = new PgDataKeyStore(pool);
    await store.ensureSchema();
    const keys = new KeyRing([generateMasterKey('k1')], 'k1');
    const a = new EnvelopeEncryption({ keys, store, accessLog: new InMemoryAccessLog() });
    const b = new EnvelopeEncryption({ keys, store, accessLog: new InMemoryAccessLog() });
    const [ca, cb] = await Promise.all([a.encrypt('race-ds', 'from a'), b.encrypt('race-ds', 'from b')]);
    expect((await b.decrypt('race-ds', ca)).toString()).toBe('from a');
    expect((await a.decrypt('race-ds', cb)).toString()).toBe('from b');
  });
});
