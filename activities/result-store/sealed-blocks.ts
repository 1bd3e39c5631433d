// Sealed blocks: the values of one column of one write (the match keys; the exception keys; the exceptions'
// evidence), sealed together rather than one by one.
//
// A reconciliation of a million records writes about a million matches, and sealing each match's key on its own
// (column-seal.ts: a nonce, a tag and base64 per value) cost about 1.7 us of CPU per key and made every row 64
// characters longer for PostgreSQL to take in: +2 s on an 18 s run (bench:security, 2026-12-06). So a run with a
// data key seals such columns in blocks of up to BLOCK_ENTRIES: each block is the JSON of its item ids and values
// in order ({"i": [...], "k": [...]}), deflated (item ids and keys repeat their prefixes; the sizes of sealed
// blocks of 4,096 values say nothing useful), sealed once under the run's column key (ColumnSealer) with its own
// context `<table>.<column>|<run>|block:<id>`, and stored as bytes in recon_sealed_blocks; the row keeps only a
// reference, `ff2:<block id>:<index>`. Values written and changed one at a time (the people's explanations) stay
// sealed one by one.
//
// Reading fails closed as per-value sealing does: a block that is missing, tampered, moved to another run or sealed
// under another key does not open; a reference moved to another row names an entry of another item and is refused;
// crypto-shredding the dataset makes every block unreadable. Block ids are random, so a rewrite of some matches
// (a retried activity) gives them new blocks and never changes a block other rows still point into.
import { randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Pool, PoolClient } from 'pg';
import type { ColumnSealer } from '../security/column-seal';
import { BLOCKS_TABLE } from './schema';

export const BLOCK_PREFIX = 'ff2:';
/** Entries per block: a block is opened whole, so this bounds the work of reading one key. */
export const BLOCK_ENTRIES = 4096;
/** Blocks kept open while a run's matches are read (they are read in block order). */
const OPEN_BLOCKS = 8;
/** A block inflates to at most this (4,096 entries of keys and item ids far below it). */
const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

interface Block {
  id: string;
  /** `ff2:<id>:`, the start of every reference into the block. */
  prefix: string;
  items: string[];
  keys: string[];
}

/** The index part of a reference: four digits at least, so references sort in block order. */
function indexText(i: number): string {
  return i < 10 ? `000${i}` : i < 100 ? `00${i}` : i < 1000 ? `0${i}` : String(i);
}

export function isBlockRef(value: string): boolean {
  return value.startsWith(BLOCK_PREFIX);
}

function parseRef(value: string): { blockId: string; index: number } | undefined {
  const m = /^ff2:([A-Za-z0-9_-]+):(\d{4,})$/.exec(value);
  return m ? { blockId: m[1], index: Number(m[2]) } : undefined;
}

function contextOf(table: string, column: string, runId: string, blockId: string): string {
  return `${table}.${column}|${runId}|block:${blockId}`;
}

/** Collects one write's values into blocks and hands out their references. */
export class BlockWriter {
  private readonly blocks: Block[] = [];
  private current: Block | undefined;

  constructor(
    private readonly runId: string,
    private readonly table: string,
    private readonly column: string,
  ) {}

  /** The reference the row stores in place of `value`. */
  add(itemId: string, value: string): string {
    let block = this.current;
    if (!block || block.keys.length >= BLOCK_ENTRIES) {
      const id = randomBytes(12).toString('base64url');
      block = { id, prefix: `${BLOCK_PREFIX}${id}:`, items: [], keys: [] };
      this.blocks.push(block);
      this.current = block;
    }
    block.items.push(itemId);
    return block.prefix + indexText(block.keys.push(value) - 1);
  }

  /** Seals the blocks and inserts them, in the write's own transaction (before its COMMIT). */
  async write(client: PoolClient, sealer: ColumnSealer): Promise<void> {
    if (this.blocks.length === 0) return;
    const ids = this.blocks.map((b) => b.id);
    const bodies = this.blocks.map((b) =>
      sealer.sealBytes(
        deflateRawSync(JSON.stringify({ i: b.items, k: b.keys }), { level: 1 }),
        contextOf(this.table, this.column, this.runId, b.id),
      ),
    );
    await client.query(
      `INSERT INTO ${BLOCKS_TABLE} (run_id, block_id, body) SELECT $1, unnest($2::text[]), unnest($3::bytea[])`,
      [this.runId, ids, bodies],
    );
  }
}

/** Opens the blocks a run's rows point into, a few at a time. */
export class BlockReader {
  private readonly open = new Map<string, { items: string[]; keys: string[] }>();

  constructor(
    private readonly pool: Pool,
    private readonly runId: string,
    private readonly table: string,
    private readonly column: string,
    private readonly sealer: ColumnSealer,
    private readonly refuse: (message: string) => Error,
  ) {}

  /** Loads the blocks these values point into (call before `value` for a batch of rows). */
  async load(values: readonly string[]): Promise<void> {
    const needed = new Set<string>();
    for (const v of values) {
      const ref = isBlockRef(v) ? parseRef(v) : undefined;
      if (ref) needed.add(ref.blockId);
    }
    const wanted = [...needed].filter((id) => !this.open.has(id));
    this.evictAllBut(needed, wanted.length);
    if (wanted.length === 0) return;
    const { rows } = await this.pool.query<{ block_id: string; body: Buffer }>(
      `SELECT block_id, body FROM ${BLOCKS_TABLE} WHERE run_id = $1 AND block_id = ANY ($2::text[])`,
      [this.runId, wanted],
    );
    for (const r of rows) {
      let block: { i?: unknown; k?: unknown };
      try {
        const deflated = this.sealer.openBytes(r.body, contextOf(this.table, this.column, this.runId, r.block_id));
        block = JSON.parse(inflateRawSync(deflated, { maxOutputLength: MAX_BLOCK_BYTES }).toString('utf8')) as {
          i?: unknown;
          k?: unknown;
        };
      } catch (err) {
        throw this.refuse(`sealed block ${r.block_id} of run ${this.runId}: ${(err as Error).message}`);
      }
      if (!Array.isArray(block.i) || !Array.isArray(block.k) || block.i.length !== block.k.length)
        throw this.refuse(`sealed block ${r.block_id} of run ${this.runId} is not a list of items and keys`);
      this.open.set(r.block_id, { items: block.i as string[], keys: block.k as string[] });
    }
  }

  /**
   * Makes room for `coming` more blocks: the oldest open blocks go first, never one the current batch points into.
   * Matches are read in block order, so older blocks are done with; exceptions are read by category, and a batch
   * may point into every block of the run.
   */
  private evictAllBut(needed: ReadonlySet<string>, coming: number): void {
    for (const id of [...this.open.keys()]) {
      if (this.open.size + coming <= Math.max(OPEN_BLOCKS, needed.size)) break;
      if (!needed.has(id)) this.open.delete(id);
    }
  }

  /** The clear value a row's reference points to; the entry must be the row's own item. */
  value(itemId: string, stored: string): string {
    const ref = parseRef(stored);
    const what = `${this.table}.${this.column} of item ${itemId} in run ${this.runId}`;
    if (!ref) throw this.refuse(`${what} is not a valid sealed-block reference`);
    const block = this.open.get(ref.blockId);
    if (!block) throw this.refuse(`${what}: its sealed block ${ref.blockId} is missing`);
    if (block.items[ref.index] !== itemId)
      throw this.refuse(`${what}: the block entry it points to belongs to another item (moved from another row)`);
    return block.keys[ref.index];
  }
}
