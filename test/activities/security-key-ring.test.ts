import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KeyConfigError,
  KeyFileProvider,
  KeyRing,
  UnknownKeyError,
  deriveKey,
  generateMasterKey,
  keyProviderFromEnv,
  keyRingFromEnv,
  readKeyFile,
  rotateKeyFile,
  setCurrentKeyInFile,
  writeKeyFile,
} from '../../activities/security/key-ring';

const b64 = () => randomBytes(32).toString('base64');

describe('the key ring from the environment', () => {
  it('reads FINFLOW_KEYS and encrypts with FINFLOW_CURRENT_KEY while keeping the others for decryption', async () => {
    const k1 = b64();
    const k2 = b64();
    const ring = keyRingFromEnv({ FINFLOW_KEYS: `2026-01:${k1}, 2026-07:${k2}`, FINFLOW_CURRENT_KEY: '2026-07' });
    expect((await ring.getCurrentKey()).id).toBe('2026-07');
    expect((await ring.getCurrentKey()).key.toString('base64')).toBe(k2);
    expect((await ring.getKey('2026-01')).key.toString('base64')).toBe(k1);
    await expect(ring.getKey('2025-01')).rejects.toThrow(UnknownKeyError);
  });

  it('takes the only key as current when there is one, and insists on FINFLOW_CURRENT_KEY when there are several', async () => {
    expect((await keyRingFromEnv({ FINFLOW_KEYS: `only:${b64()}` }).getCurrentKey()).id).toBe('only');
    expect(() => keyRingFromEnv({ FINFLOW_KEYS: `a:${b64()},b:${b64()}` })).toThrow(/FINFLOW_CURRENT_KEY must name/);
    expect(() => keyRingFromEnv({ FINFLOW_KEYS: `a:${b64()}`, FINFLOW_CURRENT_KEY: 'b' })).toThrow(/current key "b"/);
  });

  it('refuses keys that are missing, short, not base64, duplicated or badly named, without echoing key material', () => {
    const short = randomBytes(16).toString('base64');
    expect(() => keyRingFromEnv({})).toThrow(/FINFLOW_KEYS is not set/);
    expect(() => keyRingFromEnv({ FINFLOW_KEYS: `a:${short}` })).toThrow(/16 bytes; AES-256 needs 32/);
    expect(() => keyRingFromEnv({ FINFLOW_KEYS: 'a:not*base64' })).toThrow(/not valid base64/);
    const k = b64();
    expect(() => keyRingFromEnv({ FINFLOW_KEYS: `a:${k},a:${k}`, FINFLOW_CURRENT_KEY: 'a' })).toThrow(/appears twice/);
    expect(() => keyRingFromEnv({ FINFLOW_KEYS: `bad id:${k}` })).toThrow(/key id "bad id"/);
    const err = (() => {
      try {
        keyRingFromEnv({ FINFLOW_KEYS: `a:${short}` });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toMatch(/16 bytes/);
    expect(err?.message).not.toContain(short);
  });
});

describe('rotation in memory', () => {
  it('adds a key as an extra first, then makes it current, and cannot retire the current key', async () => {
    const ring = new KeyRing([generateMasterKey('k1')], 'k1');
    const staged = ring.withKey(generateMasterKey('k2'), false);
    expect((await staged.getCurrentKey()).id).toBe('k1');
    expect(staged.ids).toEqual(['k1', 'k2']);
    const rotated = staged.withCurrent('k2');
    expect((await rotated.getCurrentKey()).id).toBe('k2');
    expect(() => rotated.without('k2')).toThrow(/current key/);
    expect(rotated.without('k1').ids).toEqual(['k2']);
  });

  it('derives distinct subkeys per purpose and per key', () => {
    const a = generateMasterKey('a');
    const b = { id: 'b', key: a.key };
    expect(deriveKey(a, 'p1').equals(deriveKey(a, 'p1'))).toBe(true);
    expect(deriveKey(a, 'p1').equals(deriveKey(a, 'p2'))).toBe(false);
    expect(deriveKey(a, 'p1').equals(deriveKey(b, 'p1'))).toBe(false);
    expect(deriveKey(a, 'p1').equals(a.key)).toBe(false);
  });
});

describe('the key file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'finflow-keys-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is written with mode 0600 and read back to the same ring', async () => {
    const path = join(dir, 'keys.json');
    const ring = new KeyRing([generateMasterKey('k1'), generateMasterKey('k2')], 'k2');
    await writeKeyFile(path, ring);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const back = await readKeyFile(path);
    expect(back.currentId).toBe('k2');
    expect((await back.getKey('k1')).key.equals((await ring.getKey('k1')).key)).toBe(true);
  });

  it('is refused when group or others may read it', async () => {
    const path = join(dir, 'keys.json');
    await writeKeyFile(path, new KeyRing([generateMasterKey('k1')], 'k1'));
    await chmod(path, 0o640);
    await expect(readKeyFile(path)).rejects.toThrow(/mode 0640: group\/others must have no access \(chmod 600\)/);
    await chmod(path, 0o604);
    await expect(new KeyFileProvider(path).getCurrentKey()).rejects.toThrow(KeyConfigError);
  });

  it('is refused when it is not the expected JSON, without quoting its content', async () => {
    const path = join(dir, 'keys.json');
    const secret = b64();
    await writeFile(path, `{"current": "a", "keys": {"a": "${secret}"`, { mode: 0o600 });
    const err = await readKeyFile(path).catch((e: Error) => e);
    expect(err).toBeInstanceOf(KeyConfigError);
    expect((err as Error).message).toMatch(/not valid JSON/);
    expect((err as Error).message).not.toContain(secret);
    await writeFile(path, '{"keys": {}}', { mode: 0o600 });
    await expect(readKeyFile(path)).rejects.toThrow(/must be \{"current"/);
  });

  it('reaches a running provider after rotation without a restart, old keys still decrypting', async () => {
    const path = join(dir, 'keys.json');
    await writeKeyFile(path, new KeyRing([generateMasterKey('k1')], 'k1'));
    const provider = new KeyFileProvider(path, 0);
    const k1 = await provider.getCurrentKey();
    expect(k1.id).toBe('k1');
    await rotateKeyFile(path, 'k2', false);
    expect((await provider.getCurrentKey()).id).toBe('k1');
    expect((await provider.getKey('k2')).id).toBe('k2');
    await setCurrentKeyInFile(path, 'k2');
    expect((await provider.getCurrentKey()).id).toBe('k2');
    expect((await provider.getKey('k1')).key.equals(k1.key)).toBe(true);
    await expect(rotateKeyFile(path, 'k2')).rejects.toThrow(/already holds key k2/);
  });

  it('looks again at once when asked for a key id it does not hold yet', async () => {
    const path = join(dir, 'keys.json');
    await writeKeyFile(path, new KeyRing([generateMasterKey('k1')], 'k1'));
    const provider = new KeyFileProvider(path, 60 * 60 * 1000);
    await provider.getCurrentKey();
    await rotateKeyFile(path, 'k2', true);
    // within the reload interval the current key is the cached one...
    expect((await provider.getCurrentKey()).id).toBe('k1');
    // ...but an unknown id forces a fresh read, as when another worker has already rotated
    expect((await provider.getKey('k2')).id).toBe('k2');
    await expect(provider.getKey('k3')).rejects.toThrow(UnknownKeyError);
  });

  it('is chosen over FINFLOW_KEYS when FINFLOW_KEY_FILE is set', async () => {
    const path = join(dir, 'keys.json');
    await writeKeyFile(path, new KeyRing([generateMasterKey('from-file')], 'from-file'));
    const provider = keyProviderFromEnv({ FINFLOW_KEY_FILE: path, FINFLOW_KEYS: `from-env:${b64()}` });
    expect((await provider.getCurrentKey()).id).toBe('from-file');
    expect((await keyProviderFromEnv({ FINFLOW_KEYS: `from-env:${b64()}` }).getCurrentKey()).id).toBe('from-env');
  });
});
