// The tamper-evident audit ledger: an append-only table in PostgreSQL where each entry carries the SHA-256 of its
// own content and of the entry before it (a hash chain). Editing, removing or reordering any entry breaks the
// chain from that point; signed checkpoints of (seq, hash), exported and kept elsewhere, also expose a chain
// rewritten wholesale or cut short at its end.
//
// Entry hash = SHA-256 over "finflow.audit-ledger.v1\n" + canonical JSON (domain/compliance/canonical-json) of
// { seq, at, actor, action, subject, payload, idempotencyKey, prevHash }, with `at` as an ISO 8601 UTC instant
// with milliseconds. The first entry's prevHash is 64 zeros.
import { createHash, type KeyObject } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import { canonicalJson } from '../../domain/compliance/canonical-json';
import { publicKeyFromPem, signBytes, verifyBytes, type SigningKey } from '../compliance/signing';
import { APPEND_LOCK_KEY, CHECKPOINT_TABLE, LEDGER_TABLE, SCHEMA_LOCK_KEY, SCHEMA_SQL } from './schema';

export const GENESIS_HASH = '0'.repeat(64);
const HASH_DOMAIN = 'finflow.audit-ledger.v1\n';
const CHECKPOINT_DOMAIN = 'finflow.audit-ledger-checkpoint.v1\n';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export interface LedgerEntryInput {
  actor: string;
  action: string;
  subject: string;
  payload?: unknown;
  /** When it happened; defaults to the ledger's clock. */
  at?: string;
  /** An append with a key already in the ledger returns that entry instead of adding one (activity retries). */
  idempotencyKey?: string;
}

export interface LedgerEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  payload: unknown;
  idempotencyKey: string | null;
  prevHash: string;
  hash: string;
}

export const ExportedCheckpointSchema = z
  .object({
    schema: z.literal('finflow.audit-ledger-checkpoint'),
    schemaVersion: z.literal(1),
    ledger: z.string(),
    seq: z.int().positive(),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    at: z.string(),
    keyId: z.string(),
    publicKey: z.string(),
    signature: z.string(),
  })
  .strict();
export type ExportedCheckpoint = z.infer<typeof ExportedCheckpointSchema>;

export interface LedgerBreak {
  seq: number;
  reason: string;
}

export interface LedgerVerifyResult {
  ok: boolean;
  entries: number;
  lastSeq: number;
  lastHash: string;
  checkpointsChecked: number;
  /** False when no public key was at hand, so checkpoint signatures were not checked (their hashes still were). */
  signaturesVerified: boolean;
  firstBroken?: LedgerBreak;
}

export function entryHash(e: Omit<LedgerEntry, 'hash'>): string {
  const body = canonicalJson({
    seq: e.seq,
    at: e.at,
    actor: e.actor,
    action: e.action,
    subject: e.subject,
    payload: e.payload,
    idempotencyKey: e.idempotencyKey,
    prevHash: e.prevHash,
  });
  return createHash('sha256').update(HASH_DOMAIN).update(body).digest('hex');
}

function checkpointMessage(c: Pick<ExportedCheckpoint, 'ledger' | 'seq' | 'hash' | 'at'>): string {
  return CHECKPOINT_DOMAIN + canonicalJson({ ledger: c.ledger, seq: c.seq, hash: c.hash, at: c.at });
}

function toSeq(v: unknown): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`ledger seq ${String(v)} is not a safe integer`);
  return n;
}

function isoMs(at: string | Date, what: string): string {
  const d = at instanceof Date ? at : new Date(at);
  if (Number.isNaN(d.getTime())) throw new Error(`${what} ${JSON.stringify(at)} is not an ISO 8601 instant`);
  return d.toISOString();
}

/** A ledger row as PostgreSQL returns it. */
export interface LedgerRow {
  seq: string;
  at: Date;
  actor: string;
  action: string;
  subject: string;
  payload: unknown;
  idempotency_key: string | null;
  prev_hash: string;
  hash: string;
}

/** A ledger row as the rest of finflow reads it. */
export function fromRow(r: LedgerRow): LedgerEntry {
  return {
    seq: toSeq(r.seq),
    at: r.at.toISOString(),
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    payload: r.payload,
    idempotencyKey: r.idempotency_key,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export interface AuditLedgerDeps {
  pool: Pool;
  /** Signs checkpoints; without it the ledger still chains but cannot checkpoint. */
  signingKey?: SigningKey;
  /** Write a signed checkpoint in the same transaction as every Nth entry. */
  checkpointEvery?: number;
  clock?: () => Date;
}

export class AuditLedger {
  private constructor(private readonly deps: AuditLedgerDeps) {}

  /** Opens the ledger, creating its tables and triggers if they are missing (safe to run concurrently). */
  static async open(deps: AuditLedgerDeps): Promise<AuditLedger> {
    if (deps.checkpointEvery !== undefined && !(Number.isInteger(deps.checkpointEvery) && deps.checkpointEvery > 0))
      throw new Error(`checkpointEvery must be a positive integer, not ${deps.checkpointEvery}`);
    if (deps.checkpointEvery && !deps.signingKey) throw new Error('checkpointEvery needs a signing key');
    await AuditLedger.transaction(deps.pool, async (db) => {
      await db.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
      await db.query(SCHEMA_SQL);
    });
    return new AuditLedger(deps);
  }

  private static async transaction<T>(pool: Pool, fn: (db: PoolClient) => Promise<T>): Promise<T> {
    const db = await pool.connect();
    try {
      await db.query('BEGIN');
      const out = await fn(db);
      await db.query('COMMIT');
      return out;
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
  }

  async append(input: LedgerEntryInput): Promise<LedgerEntry> {
    for (const f of ['actor', 'action', 'subject'] as const)
      if (typeof input[f] !== 'string' || !input[f].trim())
        throw new Error(`audit entry: ${f} must be a non-empty string`);
    const payload = input.payload === undefined ? {} : input.payload;
    // Refuses what JSON (and so jsonb) cannot carry exactly, before anything is written.
    const payloadText = canonicalJson(payload);
    const at = isoMs(input.at ?? (this.deps.clock ?? (() => new Date()))(), 'audit entry at');
    return AuditLedger.transaction(this.deps.pool, async (db) => {
      // One chain: appends from every process queue here, so no two entries can claim the same predecessor.
      await db.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK_KEY]);
      if (input.idempotencyKey !== undefined) {
        const prior = await db.query<LedgerRow>(`SELECT * FROM ${LEDGER_TABLE} WHERE idempotency_key = $1`, [
          input.idempotencyKey,
        ]);
        if (prior.rows.length) {
          const e = fromRow(prior.rows[0]);
          if (e.actor !== input.actor || e.action !== input.action || e.subject !== input.subject)
            throw new Error(
              `audit entry: idempotency key ${input.idempotencyKey} was already used for ${e.action} on ${e.subject} by ${e.actor}`,
            );
          return e;
        }
      }
      const last = await db.query<{ seq: string; hash: string }>(
        `SELECT seq, hash FROM ${LEDGER_TABLE} ORDER BY seq DESC LIMIT 1`,
      );
      const seq = last.rows.length ? toSeq(last.rows[0].seq) + 1 : 1;
      const prevHash = last.rows.length ? last.rows[0].hash : GENESIS_HASH;
      const entry: Omit<LedgerEntry, 'hash'> = {
        seq,
        at,
        actor: input.actor,
        action: input.action,
        subject: input.subject,
        payload: JSON.parse(payloadText) as unknown,
        idempotencyKey: input.idempotencyKey ?? null,
        prevHash,
      };
      const hash = entryHash(entry);
      await db.query(
        `INSERT INTO ${LEDGER_TABLE} (seq, at, actor, action, subject, payload, idempotency_key, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)`,
        [seq, at, entry.actor, entry.action, entry.subject, payloadText, entry.idempotencyKey, prevHash, hash],
      );
      if (this.deps.checkpointEvery && seq % this.deps.checkpointEvery === 0)
        await this.insertCheckpoint(db, seq, hash, at);
      return { ...entry, hash };
    });
  }

  private async insertCheckpoint(db: PoolClient, seq: number, hash: string, at: string): Promise<ExportedCheckpoint> {
    const key = this.deps.signingKey;
    if (!key) throw new Error('the audit ledger has no signing key: it cannot sign a checkpoint');
    const unsigned = { ledger: LEDGER_TABLE, seq, hash, at };
    const cp: ExportedCheckpoint = {
      schema: 'finflow.audit-ledger-checkpoint',
      schemaVersion: 1,
      ...unsigned,
      keyId: key.keyId,
      publicKey: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      signature: signBytes(key, checkpointMessage(unsigned)),
    };
    await db.query(
      `INSERT INTO ${CHECKPOINT_TABLE} (seq, hash, at, key_id, public_key, signature) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (seq) DO NOTHING`,
      [seq, hash, at, cp.keyId, cp.publicKey, cp.signature],
    );
    return cp;
  }

  /** Signs the current head of the chain (seq, hash) and returns the checkpoint, to be kept outside the database. */
  async checkpoint(): Promise<ExportedCheckpoint> {
    return AuditLedger.transaction(this.deps.pool, async (db) => {
      await db.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK_KEY]);
      const last = await db.query<{ seq: string; hash: string }>(
        `SELECT seq, hash FROM ${LEDGER_TABLE} ORDER BY seq DESC LIMIT 1`,
      );
      if (!last.rows.length) throw new Error('the audit ledger is empty: nothing to checkpoint');
      const seq = toSeq(last.rows[0].seq);
      const existing = await db.query(`SELECT seq FROM ${CHECKPOINT_TABLE} WHERE seq = $1`, [seq]);
      if (existing.rows.length)
        return (await this.checkpointsWith(db)).find((c) => c.seq === seq) as ExportedCheckpoint;
      return this.insertCheckpoint(db, seq, last.rows[0].hash, isoMs((this.deps.clock ?? (() => new Date()))(), 'now'));
    });
  }

  private async checkpointsWith(db: Pool | PoolClient): Promise<ExportedCheckpoint[]> {
    const r = await db.query<{
      seq: string;
      hash: string;
      at: Date;
      key_id: string;
      public_key: string;
      signature: string;
    }>(`SELECT * FROM ${CHECKPOINT_TABLE} ORDER BY seq`);
    return r.rows.map((c) => ({
      schema: 'finflow.audit-ledger-checkpoint' as const,
      schemaVersion: 1 as const,
      ledger: LEDGER_TABLE,
      seq: toSeq(c.seq),
      hash: c.hash,
      at: c.at.toISOString(),
      keyId: c.key_id,
      publicKey: c.public_key,
      signature: c.signature,
    }));
  }

  /** The checkpoints stored in the database (export them; stored copies alone prove little against a DBA). */
  async checkpoints(): Promise<ExportedCheckpoint[]> {
    return this.checkpointsWith(this.deps.pool);
  }

  async entries(fromSeq = 1, limit = 1000): Promise<LedgerEntry[]> {
    const r = await this.deps.pool.query<LedgerRow>(
      `SELECT * FROM ${LEDGER_TABLE} WHERE seq >= $1 ORDER BY seq LIMIT $2`,
      [fromSeq, limit],
    );
    return r.rows.map(fromRow);
  }

  /**
   * Recomputes the whole chain and checks every checkpoint (the database's and any `trusted` ones exported
   * earlier) against it. Reports the first broken entry: the lowest seq at which the ledger stops being what was
   * written.
   */
  async verify(
    opts: { publicKey?: KeyObject; trusted?: ExportedCheckpoint[]; batchSize?: number } = {},
  ): Promise<LedgerVerifyResult> {
    const publicKey = opts.publicKey ?? this.deps.signingKey?.publicKey;
    const stored = await this.checkpoints();
    const checkpoints = [
      ...stored,
      ...(opts.trusted ?? []).map((c, i) => {
        const p = ExportedCheckpointSchema.safeParse(c);
        if (!p.success)
          throw new Error(`trusted checkpoint ${i} is not a finflow ledger checkpoint: ${p.error.message}`);
        return p.data;
      }),
    ];
    const wanted = new Set(checkpoints.map((c) => c.seq));
    const chainHashAt = new Map<number, string>();

    const breaks: LedgerBreak[] = [];
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let entries = 0;
    const batch = opts.batchSize ?? 5000;
    walk: for (;;) {
      const r = await this.deps.pool.query<LedgerRow>(
        `SELECT * FROM ${LEDGER_TABLE} WHERE seq >= $1 ORDER BY seq LIMIT $2`,
        [expectedSeq, batch],
      );
      for (const row of r.rows) {
        const e = fromRow(row);
        if (e.seq !== expectedSeq) {
          breaks.push({
            seq: expectedSeq,
            reason: `entry ${expectedSeq} is missing (the next entry is ${e.seq}): deleted`,
          });
          break walk;
        }
        const { hash, ...content } = e;
        if (entryHash(content) !== hash) {
          breaks.push({ seq: e.seq, reason: 'its content does not match its hash: the entry was edited' });
          break walk;
        }
        if (e.prevHash !== prevHash) {
          breaks.push({
            seq: e.seq,
            reason: `its prev_hash does not match the hash of entry ${e.seq - 1}: the chain was rewritten before it`,
          });
          break walk;
        }
        if (wanted.has(e.seq)) chainHashAt.set(e.seq, hash);
        prevHash = hash;
        expectedSeq++;
        entries++;
      }
      if (r.rows.length < batch) break;
    }
    const lastSeq = expectedSeq - 1;

    let checkpointsChecked = 0;
    for (const c of checkpoints) {
      if (c.ledger !== LEDGER_TABLE) {
        breaks.push({ seq: c.seq, reason: `a checkpoint of ledger ${c.ledger} was given for ${LEDGER_TABLE}` });
        continue;
      }
      if (publicKey && !verifyBytes(publicKey, checkpointMessage(c), c.signature)) {
        breaks.push({ seq: c.seq, reason: `the checkpoint at seq ${c.seq} has a signature that does not verify` });
        continue;
      }
      const recorded = chainHashAt.get(c.seq);
      if (recorded === undefined) {
        // Only a problem if the chain walk got past it intact, or never reached it because the ledger is shorter.
        if (!breaks.length)
          breaks.push({
            seq: lastSeq + 1,
            reason: `the checkpoint at seq ${c.seq} is beyond the end of the ledger (seq ${lastSeq}): entries were removed`,
          });
        continue;
      }
      if (recorded !== c.hash) {
        breaks.push({
          seq: c.seq,
          reason: `the checkpoint at seq ${c.seq} signed hash ${c.hash.slice(0, 16)}…, the chain now has ${recorded.slice(0, 16)}…: rewritten`,
        });
        continue;
      }
      checkpointsChecked++;
    }
    breaks.sort((a, b) => a.seq - b.seq);
    return {
      ok: breaks.length === 0,
      entries,
      lastSeq,
      lastHash: prevHash,
      checkpointsChecked,
      signaturesVerified: publicKey !== undefined,
      firstBroken: breaks[0],
    };
  }
}

/** A public key for checkpoint verification from PEM text (re-exported for the CLI). */
export { publicKeyFromPem };
