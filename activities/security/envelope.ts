// Envelope encryption for data at rest: every dataset (a close's extracts, a result table's sensitive columns, a
// report) has its own random 256-bit data key, stored only wrapped (AES-256-GCM) by a master key from the ring.
//
// Crypto-shredding: shred(dataset) destroys the wrapped data key and marks the dataset shredded, so everything
// encrypted under it, wherever copies live, can no longer be decrypted; reads fail with DataShreddedError, and
// the dataset refuses new writes (its name stays a tombstone). What a DBMS keeps of the old row (dead tuples
// until VACUUM, WAL, backups) still holds the wrapped key: it is useless without the master key that wrapped it,
// so to cover backups too, rotate the master key, rewrapAll() from the old key id, and retire the old key.
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { AccessLog } from './access-log';
import { OVERHEAD_BYTES, openAesGcm, sealAesGcm } from './aes-gcm';
import type { Queryable } from './db';
import { deriveKey, type KeyProvider } from './key-ring';

const WRAP_PURPOSE = 'finflow/data-key-wrap/v1';
const FORMAT_VERSION = 1;
const DATA_KEY_BYTES = 32;

export class DataShreddedError extends Error {
  constructor(
    readonly dataset: string,
    readonly shreddedAt: Date,
  ) {
    super(
      `dataset ${JSON.stringify(dataset)} was crypto-shredded at ${shreddedAt.toISOString()}: its data can no longer be decrypted`,
    );
    this.name = 'DataShreddedError';
  }
}

export class DataKeyMissingError extends Error {
  constructor(readonly dataset: string) {
    super(`dataset ${JSON.stringify(dataset)} has no data key: nothing was ever encrypted for it`);
    this.name = 'DataKeyMissingError';
  }
}

export class DataDecryptionError extends Error {
  constructor(
    readonly dataset: string,
    reason: string,
  ) {
    super(`cannot decrypt data of dataset ${JSON.stringify(dataset)}: ${reason}`);
    this.name = 'DataDecryptionError';
  }
}

/**
 * How an activity should rethrow a failure of this module. Shredded, never-keyed and undecryptable (tampered)
 * data stays so: retrying cannot help, so those become non-retryable ApplicationFailures typed by their name for
 * the workflow to recognise. Anything else, notably UnknownKeyError while a rotation is still reaching this
 * worker, is left retryable.
 */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof DataShreddedError || err instanceof DataKeyMissingError || err instanceof DataDecryptionError)
    return ApplicationFailure.create({ message: err.message, type: err.name, nonRetryable: true });
  return err;
}

export interface StoredDataKey {
  dataset: string;
  /** Id of the master key that wrapped it; null once shredded. */
  kid: string | null;
  wrappedKey: Buffer | null;
  createdAt: Date;
  shreddedAt: Date | null;
}

export interface ShredResult {
  dataset: string;
  shreddedAt: Date;
  /** False when the dataset was unknown (a tombstone is written so it can never get a key later). */
  hadKey: boolean;
  /** False when the dataset had already been shredded before this call. */
  firstShred: boolean;
}

export interface DataKeyStore {
  get(dataset: string): Promise<StoredDataKey | undefined>;
  /** Stores a new wrapped key unless the dataset has a row; returns the row that is stored (ours or a racer's). */
  insertIfAbsent(dataset: string, kid: string, wrappedKey: Buffer): Promise<StoredDataKey>;
  /** Replaces the wrapped key only if it is still wrapped by `expectedKid` (re-wrapping after a rotation). */
  replaceWrapped(dataset: string, expectedKid: string, kid: string, wrappedKey: Buffer): Promise<boolean>;
  /** Destroys the wrapped key and marks the dataset shredded; idempotent. */
  shred(dataset: string): Promise<ShredResult>;
  /** Live (not shredded) datasets whose key is wrapped by `kid`. */
  datasetsWrappedBy(kid: string): Promise<string[]>;
}

function checkDataset(dataset: string): string {
  if (typeof dataset !== 'string' || dataset.trim() === '' || dataset.length > 200)
    throw new Error(`dataset name must be 1-200 characters, got ${JSON.stringify(dataset)}`);
  return dataset;
}

export class InMemoryDataKeyStore implements DataKeyStore {
  private readonly rows = new Map<string, StoredDataKey>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  async get(dataset: string): Promise<StoredDataKey | undefined> {
    const row = this.rows.get(dataset);
    return row && { ...row, wrappedKey: row.wrappedKey && Buffer.from(row.wrappedKey) };
  }

  async insertIfAbsent(dataset: string, kid: string, wrappedKey: Buffer): Promise<StoredDataKey> {
    if (!this.rows.has(dataset))
      this.rows.set(dataset, {
        dataset,
        kid,
        wrappedKey: Buffer.from(wrappedKey),
        createdAt: this.now(),
        shreddedAt: null,
      });
    return (await this.get(dataset))!;
  }

  async replaceWrapped(dataset: string, expectedKid: string, kid: string, wrappedKey: Buffer): Promise<boolean> {
    const row = this.rows.get(dataset);
    if (!row || row.shreddedAt || row.kid !== expectedKid) return false;
    row.wrappedKey?.fill(0);
    row.kid = kid;
    row.wrappedKey = Buffer.from(wrappedKey);
    return true;
  }

  async shred(dataset: string): Promise<ShredResult> {
    const row = this.rows.get(dataset);
    if (row?.shreddedAt) return { dataset, shreddedAt: row.shreddedAt, hadKey: true, firstShred: false };
    const shreddedAt = this.now();
    if (!row) {
      this.rows.set(dataset, { dataset, kid: null, wrappedKey: null, createdAt: shreddedAt, shreddedAt });
      return { dataset, shreddedAt, hadKey: false, firstShred: true };
    }
    // Overwrite the bytes before dropping the reference: the buffer may linger in memory until collected.
    row.wrappedKey?.fill(0);
    row.wrappedKey = null;
    row.kid = null;
    row.shreddedAt = shreddedAt;
    return { dataset, shreddedAt, hadKey: true, firstShred: true };
  }

  async datasetsWrappedBy(kid: string): Promise<string[]> {
    return [...this.rows.values()].filter((r) => r.kid === kid && !r.shreddedAt).map((r) => r.dataset);
  }
}

const DATA_KEYS_SCHEMA = `
CREATE TABLE IF NOT EXISTS data_keys (
  dataset     text PRIMARY KEY,
  kid         text,
  wrapped_key bytea,
  created_at  timestamptz NOT NULL DEFAULT now(),
  shredded_at timestamptz,
  CONSTRAINT data_keys_live_or_shredded CHECK (
    (shredded_at IS NULL AND kid IS NOT NULL AND wrapped_key IS NOT NULL)
    OR (shredded_at IS NOT NULL AND kid IS NULL AND wrapped_key IS NULL))
);
CREATE INDEX IF NOT EXISTS data_keys_kid ON data_keys (kid) WHERE shredded_at IS NULL;
`;

interface DataKeyRow extends Record<string, unknown> {
  dataset: string;
  kid: string | null;
  wrapped_key: Buffer | null;
  created_at: Date;
  shredded_at: Date | null;
}

function fromRow(row: DataKeyRow): StoredDataKey {
  return {
    dataset: row.dataset,
    kid: row.kid,
    wrappedKey: row.wrapped_key,
    createdAt: row.created_at,
    shreddedAt: row.shredded_at,
  };
}

/**
 * data_keys in PostgreSQL. Shredding sets wrapped_key to NULL (the overwrite) and shredded_at, then VACUUMs the
 * table so the dead row version holding the old bytes is reclaimed; VACUUM needs a connection outside a
 * transaction and ownership of the table, and `vacuumed` in the result says whether it ran.
 */
export class PgDataKeyStore implements DataKeyStore {
  lastVacuumError: Error | undefined;

  constructor(private readonly db: Queryable) {}

  async ensureSchema(): Promise<void> {
    await this.db.query(DATA_KEYS_SCHEMA);
  }

  async get(dataset: string): Promise<StoredDataKey | undefined> {
    const { rows } = await this.db.query<DataKeyRow>(
      'SELECT dataset, kid, wrapped_key, created_at, shredded_at FROM data_keys WHERE dataset = $1',
      [dataset],
    );
    return rows[0] && fromRow(rows[0]);
  }

  async insertIfAbsent(dataset: string, kid: string, wrappedKey: Buffer): Promise<StoredDataKey> {
    await this.db.query(
      'INSERT INTO data_keys (dataset, kid, wrapped_key) VALUES ($1, $2, $3) ON CONFLICT (dataset) DO NOTHING',
      [dataset, kid, wrappedKey],
    );
    const row = await this.get(dataset);
    if (!row) throw new Error(`data key of ${dataset} vanished right after insert`);
    return row;
  }

  async replaceWrapped(dataset: string, expectedKid: string, kid: string, wrappedKey: Buffer): Promise<boolean> {
    const { rowCount } = await this.db.query(
      'UPDATE data_keys SET kid = $3, wrapped_key = $4 WHERE dataset = $1 AND kid = $2 AND shredded_at IS NULL',
      [dataset, expectedKid, kid, wrappedKey],
    );
    return rowCount === 1;
  }

  async shred(dataset: string): Promise<ShredResult & { vacuumed: boolean }> {
    const result = await this.shredRow(dataset);
    let vacuumed = false;
    try {
      await this.db.query('VACUUM data_keys');
      vacuumed = true;
      this.lastVacuumError = undefined;
    } catch (err) {
      this.lastVacuumError = err as Error;
    }
    return { ...result, vacuumed };
  }

  // Each statement is atomic on its own (row locks), so concurrent shreds and key inserts cannot both win;
  // a row appearing between the UPDATE and the INSERT sends us round again.
  private async shredRow(dataset: string): Promise<ShredResult> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const updated = await this.db.query<{ shredded_at: Date }>(
        `UPDATE data_keys SET kid = NULL, wrapped_key = NULL, shredded_at = now()
         WHERE dataset = $1 AND shredded_at IS NULL RETURNING shredded_at`,
        [dataset],
      );
      if (updated.rows.length === 1)
        return { dataset, shreddedAt: updated.rows[0].shredded_at, hadKey: true, firstShred: true };
      const inserted = await this.db.query<{ shredded_at: Date }>(
        `INSERT INTO data_keys (dataset, kid, wrapped_key, shredded_at) VALUES ($1, NULL, NULL, now())
         ON CONFLICT (dataset) DO NOTHING RETURNING shredded_at`,
        [dataset],
      );
      if (inserted.rows.length === 1)
        return { dataset, shreddedAt: inserted.rows[0].shredded_at, hadKey: false, firstShred: true };
      const row = await this.get(dataset);
      if (row?.shreddedAt) return { dataset, shreddedAt: row.shreddedAt, hadKey: true, firstShred: false };
    }
    throw new Error(`could not shred ${dataset}: its data key row kept changing`);
  }

  async datasetsWrappedBy(kid: string): Promise<string[]> {
    const { rows } = await this.db.query<{ dataset: string }>(
      'SELECT dataset FROM data_keys WHERE kid = $1 AND shredded_at IS NULL ORDER BY dataset',
      [kid],
    );
    return rows.map((r) => r.dataset);
  }
}

function wrapAad(dataset: string, kid: string): Buffer {
  return Buffer.from(`finflow-data-key/v1\0${dataset}\0${kid}`);
}

function dataAad(dataset: string, context: string): Buffer {
  return Buffer.from(`finflow-data/v1\0${dataset}\0${context}`);
}

/** [version][nonce][ciphertext][tag], AES-256-GCM. */
function seal(key: Buffer, plaintext: Uint8Array | string, aad: Buffer, prefix = 0): Buffer {
  return sealAesGcm(key, plaintext, aad, FORMAT_VERSION, prefix);
}

function open(key: Buffer, blob: Uint8Array, aad: Buffer): Buffer {
  if (blob.length < OVERHEAD_BYTES) throw new Error('ciphertext too short');
  if (blob[0] !== FORMAT_VERSION) throw new Error(`unknown ciphertext format version ${blob[0]}`);
  try {
    return openAesGcm(key, blob, aad);
  } catch {
    throw new Error('authentication failed (wrong key, wrong dataset or context, or tampered ciphertext)');
  }
}

/**
 * A dataset's data key, unwrapped, for one bounded piece of work (an activity's batch). Shredding takes effect
 * for every later open; call dispose() when done so the key does not outlive the work in memory.
 */
export class DatasetCipher {
  private key: Buffer | undefined;

  constructor(
    readonly dataset: string,
    key: Buffer,
  ) {
    this.key = key;
  }

  private live(): Buffer {
    if (!this.key) throw new Error(`the cipher of dataset ${this.dataset} was disposed`);
    return this.key;
  }

  /** `context` (e.g. "recon_results.account_number") is bound to the ciphertext, so it cannot be moved elsewhere. */
  encrypt(plaintext: Uint8Array | string, context = ''): Buffer {
    return seal(this.live(), plaintext, dataAad(this.dataset, context));
  }

  /**
   * A frame of a chunked sealed file (spill files, sealed reports): a 4-byte big-endian length, then encrypt()'s
   * blob, in one buffer.
   */
  encryptFrame(plaintext: Uint8Array | string, context = ''): Buffer {
    const frame = seal(this.live(), plaintext, dataAad(this.dataset, context), 4);
    frame.writeUInt32BE(frame.length - 4, 0);
    return frame;
  }

  decrypt(blob: Uint8Array, context = ''): Buffer {
    try {
      return open(this.live(), blob, dataAad(this.dataset, context));
    } catch (err) {
      throw new DataDecryptionError(this.dataset, (err as Error).message);
    }
  }

  /** Text column form: base64 of encrypt(). */
  encryptText(text: string, context = ''): string {
    return this.encrypt(text, context).toString('base64');
  }

  decryptText(base64: string, context = ''): string {
    return this.decrypt(Buffer.from(base64, 'base64'), context).toString('utf8');
  }

  /**
   * A copy of the data key, for a worker thread of this process that encrypts or decrypts the same dataset (it
   * rebuilds a DatasetCipher from it and disposes of it when its job is done). Never for anything that leaves
   * the process.
   */
  keyForThread(): Uint8Array {
    return new Uint8Array(this.live());
  }

  dispose(): void {
    this.key?.fill(0);
    this.key = undefined;
  }
}

/** A dataset's key as handed to a worker thread (see DatasetCipher.keyForThread). */
export interface ThreadDataKey {
  dataset: string;
  key: Uint8Array;
}

export function cipherFromThreadKey(k: ThreadDataKey): DatasetCipher {
  return new DatasetCipher(k.dataset, Buffer.from(k.key));
}

export interface AuditContext {
  actor: string;
  purpose: string;
}

export class EnvelopeEncryption {
  constructor(private readonly deps: { keys: KeyProvider; store: DataKeyStore; accessLog: AccessLog }) {}

  private async unwrap(row: StoredDataKey): Promise<Buffer> {
    if (row.shreddedAt || !row.wrappedKey || !row.kid)
      throw new DataShreddedError(row.dataset, row.shreddedAt ?? new Date(0));
    const master = await this.deps.keys.getKey(row.kid);
    try {
      return open(deriveKey(master, WRAP_PURPOSE), row.wrappedKey, wrapAad(row.dataset, row.kid));
    } catch (err) {
      throw new DataDecryptionError(
        row.dataset,
        `its data key does not unwrap with master key ${row.kid}: ${(err as Error).message}`,
      );
    }
  }

  /**
   * The dataset's cipher. With `create` (for writing) a data key is made on first use; without it (for reading)
   * a dataset that never had one is an error rather than a fresh key that could decrypt nothing.
   */
  async open(dataset: string, opts: { create: boolean }): Promise<DatasetCipher> {
    checkDataset(dataset);
    let row = await this.deps.store.get(dataset);
    if (!row) {
      if (!opts.create) throw new DataKeyMissingError(dataset);
      const master = await this.deps.keys.getCurrentKey();
      const dataKey = randomBytes(DATA_KEY_BYTES);
      const wrapped = seal(deriveKey(master, WRAP_PURPOSE), dataKey, wrapAad(dataset, master.id));
      dataKey.fill(0);
      row = await this.deps.store.insertIfAbsent(dataset, master.id, wrapped);
    }
    return new DatasetCipher(dataset, await this.unwrap(row));
  }

  async encrypt(dataset: string, plaintext: Uint8Array | string, context = ''): Promise<Buffer> {
    const cipher = await this.open(dataset, { create: true });
    try {
      return cipher.encrypt(plaintext, context);
    } finally {
      cipher.dispose();
    }
  }

  async decrypt(dataset: string, blob: Uint8Array, context = ''): Promise<Buffer> {
    const cipher = await this.open(dataset, { create: false });
    try {
      return cipher.decrypt(blob, context);
    } finally {
      cipher.dispose();
    }
  }

  /** Crypto-shreds a dataset and writes the shred to the access log (also when it fails). */
  async shred(dataset: string, audit: AuditContext): Promise<ShredResult> {
    checkDataset(dataset);
    const event = {
      actor: audit.actor,
      action: 'shred' as const,
      resource: dataset,
      fields: [],
      purpose: audit.purpose,
    };
    let result: ShredResult;
    try {
      result = await this.deps.store.shred(dataset);
    } catch (err) {
      await this.deps.accessLog.record({ ...event, outcome: 'failed' });
      throw err;
    }
    await this.deps.accessLog.record({ ...event, outcome: 'allowed' });
    return result;
  }

  /** Re-wraps a dataset's key under the current master key; false when it already is, or is shredded. */
  async rewrap(dataset: string): Promise<boolean> {
    const row = await this.deps.store.get(dataset);
    if (!row || row.shreddedAt || !row.kid) return false;
    const master = await this.deps.keys.getCurrentKey();
    if (row.kid === master.id) return false;
    const dataKey = await this.unwrap(row);
    try {
      const wrapped = seal(deriveKey(master, WRAP_PURPOSE), dataKey, wrapAad(dataset, master.id));
      return await this.deps.store.replaceWrapped(dataset, row.kid, master.id, wrapped);
    } finally {
      dataKey.fill(0);
    }
  }

  /** Re-wraps every live dataset wrapped by `oldKid`, so that key can be retired. Returns how many moved. */
  async rewrapAll(oldKid: string): Promise<number> {
    let moved = 0;
    for (const dataset of await this.deps.store.datasetsWrappedBy(oldKid)) if (await this.rewrap(dataset)) moved++;
    return moved;
  }
}
