// The master key ring: one current key that encrypts, older keys kept only to decrypt what they encrypted.
// Keys come from the environment or a key file, behind KeyProvider so a KMS can stand in.
//
// Rotation without downtime is two steps when several processes share keys: first give every worker and client
// the new key as an extra (not current) key, then make it current. A process that has not yet learnt the new key
// can then never meet data it cannot decrypt. Old keys stay in the ring until nothing encrypted with them is
// needed any more (for data keys: EnvelopeEncryption.rewrapAll moves them to the new key first).
import { hkdfSync, randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';

export const MASTER_KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

export interface KeyProvider {
  /** The key new data is encrypted with. */
  getCurrentKey(): Promise<MasterKey>;
  /** A key by id, current or old; throws UnknownKeyError when the ring does not hold it. */
  getKey(keyId: string): Promise<MasterKey>;
}

export class UnknownKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`unknown encryption key id ${JSON.stringify(keyId)}: the key ring does not hold it`);
    this.name = 'UnknownKeyError';
  }
}

export class KeyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyConfigError';
  }
}

function checkKeyId(id: string, where: string): string {
  if (!KEY_ID.test(id))
    throw new KeyConfigError(`${where}: key id ${JSON.stringify(id)} must be 1-64 letters, digits, '.', '_' or '-'`);
  return id;
}

/** Decodes a base64 key, refusing anything but exactly 32 bytes. The message never contains key material. */
export function decodeKey(base64: string, id: string, where: string): MasterKey {
  const text = base64.trim();
  if (!BASE64.test(text)) throw new KeyConfigError(`${where}: key ${id} is not valid base64`);
  const key = Buffer.from(text, 'base64');
  if (key.length !== MASTER_KEY_BYTES)
    throw new KeyConfigError(`${where}: key ${id} is ${key.length} bytes; AES-256 needs ${MASTER_KEY_BYTES}`);
  return { id: checkKeyId(id, where), key };
}

export function generateMasterKey(id: string): MasterKey {
  return { id: checkKeyId(id, 'generateMasterKey'), key: randomBytes(MASTER_KEY_BYTES) };
}

/** An immutable ring held in memory. */
export class KeyRing implements KeyProvider {
  private readonly keys: ReadonlyMap<string, MasterKey>;

  constructor(
    keys: Iterable<MasterKey>,
    readonly currentId: string,
    where = 'key ring',
  ) {
    const map = new Map<string, MasterKey>();
    for (const k of keys) {
      checkKeyId(k.id, where);
      if (k.key.length !== MASTER_KEY_BYTES) throw new KeyConfigError(`${where}: key ${k.id} is not 32 bytes`);
      if (map.has(k.id)) throw new KeyConfigError(`${where}: key id ${k.id} appears twice`);
      map.set(k.id, k);
    }
    if (map.size === 0) throw new KeyConfigError(`${where}: no keys`);
    if (!map.has(currentId))
      throw new KeyConfigError(
        `${where}: current key ${JSON.stringify(currentId)} is not among ${[...map.keys()].join(', ')}`,
      );
    this.keys = map;
  }

  get ids(): string[] {
    return [...this.keys.keys()];
  }

  async getCurrentKey(): Promise<MasterKey> {
    return this.keys.get(this.currentId)!;
  }

  async getKey(keyId: string): Promise<MasterKey> {
    const key = this.keys.get(keyId);
    if (!key) throw new UnknownKeyError(keyId);
    return key;
  }

  /** A ring that also holds `key` (step one of a rotation), optionally making it current (step two). */
  withKey(key: MasterKey, makeCurrent: boolean): KeyRing {
    return new KeyRing([...this.keys.values(), key], makeCurrent ? key.id : this.currentId);
  }

  /** The same keys with `keyId` current (step two of a rotation). */
  withCurrent(keyId: string): KeyRing {
    if (!this.keys.has(keyId)) throw new UnknownKeyError(keyId);
    return new KeyRing(this.keys.values(), keyId);
  }

  /** A ring without `keyId`. The current key cannot be retired. */
  without(keyId: string): KeyRing {
    if (keyId === this.currentId) throw new KeyConfigError(`cannot retire ${keyId}: it is the current key`);
    if (!this.keys.has(keyId)) throw new UnknownKeyError(keyId);
    return new KeyRing(
      [...this.keys.values()].filter((k) => k.id !== keyId),
      this.currentId,
    );
  }

  /** Serialisable form (for a key file). Holds key material: never log it. */
  toJSON(): KeyFileContent {
    return {
      current: this.currentId,
      keys: Object.fromEntries([...this.keys.values()].map((k) => [k.id, k.key.toString('base64')])),
    };
  }
}

/** Parses `kid1:base64,kid2:base64`. */
export function parseKeyList(spec: string, where: string): MasterKey[] {
  const entries = spec
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  return entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new KeyConfigError(`${where}: entry ${i + 1} is not "keyId:base64key"`);
    return decodeKey(entry.slice(colon + 1), entry.slice(0, colon), where);
  });
}

/**
 * The ring from FINFLOW_KEYS ("kid1:base64,kid2:base64") and FINFLOW_CURRENT_KEY (required when there is more
 * than one key: guessing which key encrypts would be a silent rotation).
 */
export function keyRingFromEnv(env: NodeJS.ProcessEnv = process.env): KeyRing {
  const spec = env.FINFLOW_KEYS;
  if (!spec || !spec.trim()) throw new KeyConfigError('FINFLOW_KEYS is not set: give "keyId:base64key[,...]"');
  const keys = parseKeyList(spec, 'FINFLOW_KEYS');
  let current = env.FINFLOW_CURRENT_KEY?.trim();
  if (!current) {
    if (keys.length > 1) throw new KeyConfigError('FINFLOW_CURRENT_KEY must name one of the FINFLOW_KEYS');
    current = keys[0].id;
  }
  return new KeyRing(keys, current, 'FINFLOW_KEYS / FINFLOW_CURRENT_KEY');
}

export interface KeyFileContent {
  current: string;
  keys: Record<string, string>;
}

/** Refuses a key file that anyone but its owner can read or write. */
async function checkPermissions(path: string): Promise<{ mtimeMs: number; size: number; ino: number }> {
  const s = await stat(path);
  if (!s.isFile()) throw new KeyConfigError(`key file ${path} is not a regular file`);
  if ((s.mode & 0o077) !== 0)
    throw new KeyConfigError(
      `key file ${path} has mode ${(s.mode & 0o777).toString(8).padStart(4, '0')}: ` +
        'group/others must have no access (chmod 600)',
    );
  return { mtimeMs: s.mtimeMs, size: s.size, ino: s.ino };
}

export async function readKeyFile(path: string): Promise<KeyRing> {
  await checkPermissions(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    // The parser's message can quote file content, i.e. key material: name only the file.
    throw new KeyConfigError(`key file ${path} is not valid JSON${err instanceof Error ? ` (${err.name})` : ''}`);
  }
  const content = parsed as Partial<KeyFileContent>;
  if (
    !content ||
    typeof content !== 'object' ||
    typeof content.current !== 'string' ||
    !content.keys ||
    typeof content.keys !== 'object'
  )
    throw new KeyConfigError(`key file ${path} must be {"current": "<keyId>", "keys": {"<keyId>": "<base64>"}}`);
  const keys = Object.entries(content.keys).map(([id, b64]) => {
    if (typeof b64 !== 'string') throw new KeyConfigError(`key file ${path}: key ${id} is not a string`);
    return decodeKey(b64, id, `key file ${path}`);
  });
  return new KeyRing(keys, content.current, `key file ${path}`);
}

/** Writes a key file atomically (temp file + rename) with mode 0600, so readers never see half a file. */
export async function writeKeyFile(path: string, ring: KeyRing): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(ring.toJSON(), null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Adds a freshly generated key to a key file. `makeCurrent: false` is step one of a rotation across several
 * processes, `true` step two (or both at once for a single process). Returns the new ring.
 */
export async function rotateKeyFile(path: string, newKeyId: string, makeCurrent = true): Promise<KeyRing> {
  const ring = await readKeyFile(path);
  if (ring.ids.includes(newKeyId)) throw new KeyConfigError(`key file ${path} already holds key ${newKeyId}`);
  const next = ring.withKey(generateMasterKey(newKeyId), makeCurrent);
  await writeKeyFile(path, next);
  return next;
}

/** Promotes a key the file already holds to current (step two of a rotation). */
export async function setCurrentKeyInFile(path: string, keyId: string): Promise<KeyRing> {
  const next = (await readKeyFile(path)).withCurrent(keyId);
  await writeKeyFile(path, next);
  return next;
}

/**
 * A ring read from a JSON key file, re-read when the file changes, so a rotation written by `rotateKeyFile`
 * reaches a running worker without a restart. The file is checked at most every `reloadIntervalMs`, and at once
 * when a key id is asked for that the ring does not hold (another process may just have rotated).
 */
export class KeyFileProvider implements KeyProvider {
  private ring: KeyRing | undefined;
  private seen: { mtimeMs: number; size: number; ino: number } | undefined;
  private checkedAt = 0;

  constructor(
    readonly path: string,
    private readonly reloadIntervalMs = 5_000,
  ) {}

  async reload(): Promise<KeyRing> {
    const before = await checkPermissions(this.path);
    this.ring = await readKeyFile(this.path);
    this.seen = before;
    this.checkedAt = Date.now();
    return this.ring;
  }

  private async fresh(force: boolean): Promise<KeyRing> {
    if (!this.ring) return this.reload();
    if (!force && Date.now() - this.checkedAt < this.reloadIntervalMs) return this.ring;
    const now = await checkPermissions(this.path);
    this.checkedAt = Date.now();
    const s = this.seen!;
    if (now.mtimeMs !== s.mtimeMs || now.size !== s.size || now.ino !== s.ino) return this.reload();
    return this.ring;
  }

  async getCurrentKey(): Promise<MasterKey> {
    return (await this.fresh(false)).getCurrentKey();
  }

  async getKey(keyId: string): Promise<MasterKey> {
    const ring = await this.fresh(false);
    if (ring.ids.includes(keyId)) return ring.getKey(keyId);
    return (await this.fresh(true)).getKey(keyId);
  }
}

/** A provider chosen by configuration: FINFLOW_KEY_FILE wins over FINFLOW_KEYS. */
export function keyProviderFromEnv(env: NodeJS.ProcessEnv = process.env): KeyProvider {
  if (env.FINFLOW_KEY_FILE) return new KeyFileProvider(env.FINFLOW_KEY_FILE);
  return keyRingFromEnv(env);
}

const derived = new WeakMap<MasterKey, Map<string, Buffer>>();

/**
 * A subkey of a master key for one purpose (HKDF-SHA256). Each use (payload codec, data-key wrapping, tokens)
 * gets its own key, so no key is ever used by two algorithms.
 */
export function deriveKey(master: MasterKey, purpose: string): Buffer {
  let perKey = derived.get(master);
  if (!perKey) derived.set(master, (perKey = new Map()));
  let key = perKey.get(purpose);
  if (!key) {
    key = Buffer.from(
      hkdfSync('sha256', master.key, Buffer.from('finflow'), Buffer.from(`${purpose}|${master.id}`), 32),
    );
    perKey.set(purpose, key);
  }
  return key;
}
