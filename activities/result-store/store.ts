// The PostgreSQL result store of reconciliation runs: matches and exceptions, written in bulk (COPY into a
// staging table, then one INSERT ... ON CONFLICT) and read back as streams. Writes are keyed by (run, item), so
// an activity that is retried, or a partition written twice, leaves exactly the same rows; a controller's
// explanation or resolution survives any such rewrite.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type DbQuery, type DbRecord, postgresBatches } from '../connectors/postgres';
import type { ReconException, ReconMatch } from '../../domain/recon';
import { copyChunks } from './copy-text';
import { type RunCodec, type RunSealer, runCodec, type SensitiveColumn } from './run-codec';
import { BlockReader, BlockWriter, isBlockRef } from './sealed-blocks';
import {
  EXCEPTIONS_TABLE,
  EXCEPTION_STATUSES,
  type ExceptionStatus,
  MATCHES_TABLE,
  RUNS_TABLE,
  RUN_STATUSES,
  type RunStatus,
  migrateResultStore,
} from './schema';

export type { RunSealer, SensitiveColumn } from './run-codec';

export interface ResultStoreDeps {
  pool: Pool;
  /** Seals the sensitive columns of each run under its dataset key. Without it they are stored as given. */
  sealerFor?: RunSealer;
  /** Which columns are sealed; default all three (`key`, `evidence`, the people's `explanation`). */
  sensitiveColumns?: SensitiveColumn[];
}

export type ExceptionSide = 'a' | 'b' | 'both';

/** One unmatched or mismatched item as the engine reports it. Amounts are exact decimal strings. */
export interface ExceptionInput {
  /** Stable across retries: a record id (`GL:17`) or the engine's id for a group of records. */
  itemId: string;
  side: ExceptionSide;
  key: string;
  category: string;
  currency?: string | null;
  amount: string | null;
  difference?: string | null;
  /** JSON-safe facts behind the category (record ids, amounts on each side, dates, the rule that came closest). */
  evidence?: Record<string, unknown>;
  /** Hash partition that produced the item, when the run was split. */
  partition?: number | null;
  /** The matching rule involved, if any. */
  rule?: string | null;
  /** Record ids on each side. */
  aItems?: string[];
  bItems?: string[];
  /** Sums of the item's records on each side, exact decimal strings. */
  amountA?: string | null;
  amountB?: string | null;
  /** A difference a rule accepted (rounding, within tolerance): stored as explained by `rule:<id>`. */
  accepted?: boolean;
}

export interface ExceptionRow extends Required<Omit<ExceptionInput, 'evidence'>> {
  runId: string;
  evidence: unknown;
  status: ExceptionStatus;
  /** The reason code of a person's explanation (exception actions), null while none. */
  reasonCode: string | null;
  explanation: string | null;
  explainedBy: string | null;
  explainedAt: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
}

export interface MatchInput {
  /** Stable across retries, e.g. the rule id and the matched record ids. */
  itemId: string;
  rule: string;
  key: string;
  currency?: string | null;
  aItems: string[];
  bItems: string[];
  amountA: string;
  amountB: string;
  difference: string;
  partition?: number | null;
}

export interface MatchRow extends Required<MatchInput> {
  runId: string;
}

export interface RunInput {
  workflowId: string;
  workflowRunId: string;
  reconId: string;
  definitionHash: string;
}

export interface RunRow extends RunInput {
  runId: string;
  status: RunStatus;
  summary: unknown;
  startedAt: string;
  finishedAt: string | null;
}

export interface WriteResult {
  /** Rows handed in. */
  rows: number;
  /** Rows inserted or changed; 0 when the same batch was already written. */
  changed: number;
}

export interface ExceptionTotal {
  category: string;
  side: ExceptionSide;
  currency: string | null;
  count: number;
  open: number;
  explained: number;
  resolved: number;
  /** Exact sums as decimal strings. */
  amount: string;
  difference: string;
}

/** The run id: one per workflow execution, so a reset or a rerun keeps the earlier run's results apart. */
export function runIdOf(workflowId: string, workflowRunId: string): string {
  return `${workflowId}/${workflowRunId}`;
}

const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function refuse(message: string, type = 'InvalidResult'): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

function decimalOrNull(v: string | null | undefined, what: string): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string' || !DECIMAL_RE.test(v))
    throw refuse(`${what} is not a decimal string: ${JSON.stringify(v)}`);
  return v;
}

function partOrNull(v: number | null | undefined, what: string): string | null {
  if (v === null || v === undefined) return null;
  if (!Number.isSafeInteger(v) || v < 0 || v > 2 ** 31 - 1) throw refuse(`${what} is not a partition number: ${v}`);
  return String(v);
}

function idList(v: string[] | undefined, what: string): string {
  if (v === undefined) return '[]';
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw refuse(`${what} must be a list of record ids`);
  return JSON.stringify(v);
}

function intOf(s: string | null): number {
  return s === null ? 0 : Number(s);
}

export interface ResultStore {
  /** Creates or upgrades the tables (idempotent). */
  migrate(): Promise<number[]>;
  /** Records a run's start; a second call for the same run is a no-op, a different definition hash is refused. */
  startRun(run: RunInput): Promise<{ runId: string; created: boolean }>;
  /** Records the outcome; repeating it keeps the first finish time. */
  finishRun(runId: string, outcome: { status: RunStatus; summary: unknown }): Promise<void>;
  getRun(runId: string): Promise<RunRow | undefined>;
  writeExceptions(runId: string, rows: Iterable<ExceptionInput> | AsyncIterable<ExceptionInput>): Promise<WriteResult>;
  writeMatches(runId: string, rows: Iterable<MatchInput> | AsyncIterable<MatchInput>): Promise<WriteResult>;
  /** Exceptions in report order (category, key, item), in batches: never the whole run in memory. */
  streamExceptions(
    runId: string,
    /** `itemId`: that exception only. */
    opts?: { statuses?: ExceptionStatus[]; batchSize?: number; itemId?: string },
  ): AsyncGenerator<ExceptionRow[]>;
  streamMatches(runId: string, opts?: { batchSize?: number }): AsyncGenerator<MatchRow[]>;
  /** Counts and exact sums per category, side and currency. */
  exceptionTotals(runId: string): Promise<ExceptionTotal[]>;
  /** Marks an exception explained (who, when, why). Refused once it is resolved. */
  explainException(
    runId: string,
    itemId: string,
    note: { explanation: string; by: string; at?: string },
  ): Promise<ExceptionRow>;
  /** Marks an exception resolved; needs an explanation, given now or earlier. Repeating it by the same person is a no-op. */
  resolveException(
    runId: string,
    itemId: string,
    note: { by: string; explanation?: string; at?: string },
  ): Promise<ExceptionRow>;
}

const EXCEPTION_COLUMNS = [
  'run_id',
  'item_id',
  'side',
  'key',
  'category',
  'currency',
  'amount',
  'difference',
  'rule',
  'a_items',
  'b_items',
  'amount_a',
  'amount_b',
  'accepted',
  'evidence',
  'part',
] as const;

/** Staged with the batch but written on first insert only: afterwards explanations belong to people. */
const EXCEPTION_INSERT_ONLY = {
  stage: ['explanation'],
  columns: ['status', 'explanation', 'explained_by', 'explained_at'],
  exprs: [
    "CASE WHEN accepted THEN 'explained' ELSE 'open' END",
    'CASE WHEN accepted THEN explanation END',
    "CASE WHEN accepted THEN 'rule:' || coalesce(rule, 'unknown') END",
    'CASE WHEN accepted THEN now() END',
  ],
};

const MATCH_COLUMNS = [
  'run_id',
  'item_id',
  'rule',
  'key',
  'currency',
  'a_items',
  'b_items',
  'amount_a',
  'amount_b',
  'difference',
  'part',
] as const;

const EXCEPTION_SELECT = `item_id, side, key, category, currency, amount, difference, rule, a_items, b_items,
  amount_a, amount_b, accepted, evidence, part, status, reason_code,
  explanation, explained_by, explained_at, resolved_by, resolved_at`;

export function createResultStore(deps: ResultStoreDeps): ResultStore {
  const { pool } = deps;
  const sensitive = new Set<SensitiveColumn>(deps.sensitiveColumns ?? ['key', 'evidence', 'explanation']);

  const codecOf = (runId: string): Promise<RunCodec> =>
    runCodec(runId, { sealerFor: deps.sealerFor, sensitive, refuse });

  /**
   * One write's values of a column: sealed a block at a time (sealed-blocks.ts) when the run has a key and the
   * column is sensitive, otherwise as the codec seals (or not) each value; `write` stores the blocks in the
   * write's transaction.
   */
  function columnWriter(runId: string, table: string, column: SensitiveColumn) {
    const blocks = sensitive.has(column) ? new BlockWriter(runId, table, column) : undefined;
    return {
      seal: (codec: RunCodec, itemId: string, value: string): string =>
        codec.sealer && blocks ? blocks.add(itemId, value) : codec.enc(table, column, itemId, value),
      write: async (client: PoolClient, codec: RunCodec): Promise<void> => {
        if (codec.sealer && blocks) await blocks.write(client, codec.sealer);
      },
    };
  }

  /** A column of a run's rows read back: references into sealed blocks (loaded a batch at a time), or values. */
  function columnReader(runId: string, codec: RunCodec, table: string, column: SensitiveColumn) {
    const blocks = codec.sealer
      ? new BlockReader(pool, runId, table, column, codec.sealer, (m) => refuse(m, 'DataDecryptionError'))
      : undefined;
    return {
      load: async (values: readonly string[]): Promise<void> => {
        await blocks?.load(values);
      },
      open: (itemId: string, value: string): string =>
        blocks && isBlockRef(value) ? blocks.value(itemId, value) : codec.dec(table, column, itemId, value),
    };
  }
  type ColumnWriter = ReturnType<typeof columnWriter>;
  type ColumnReader = ReturnType<typeof columnReader>;

  function encodeEvidence(
    codec: RunCodec,
    itemId: string,
    evidence: Record<string, unknown> | undefined,
    what: string,
    column: ColumnWriter,
  ): string {
    let json: string;
    try {
      json = JSON.stringify(evidence ?? {});
    } catch (err) {
      throw refuse(`${what}: evidence is not JSON-safe (${(err as Error).message})`);
    }
    if (evidence !== undefined && (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence)))
      throw refuse(`${what}: evidence must be an object`);
    if (!codec.sealed || !sensitive.has('evidence')) return json;
    // Sealed evidence is kept as a JSON string inside the jsonb column: a block reference, or a value sealed alone.
    return JSON.stringify(column.seal(codec, itemId, json));
  }

  /** The evidence column as stored (parsed once): a JSON string in a sealed run, the evidence object otherwise. */
  function storedEvidence(text: string | null): unknown {
    return text === null ? {} : JSON.parse(text);
  }

  function decodeEvidence(codec: RunCodec, itemId: string, value: unknown, column: ColumnReader): unknown {
    if (typeof value === 'string') return JSON.parse(column.open(itemId, value));
    if (codec.sealed && sensitive.has('evidence'))
      throw refuse(
        `${EXCEPTIONS_TABLE}.evidence of item ${itemId} is not encrypted, but this run's results must be`,
        'DataDecryptionError',
      );
    return value;
  }

  function exceptionRow(
    runId: string,
    codec: RunCodec,
    r: DbRecord,
    evidence: unknown,
    columns: { key: ColumnReader; evidence: ColumnReader },
  ): ExceptionRow {
    const itemId = r.item_id!;
    return {
      runId,
      itemId,
      side: r.side as ExceptionSide,
      key: columns.key.open(itemId, r.key!),
      category: r.category!,
      currency: r.currency,
      amount: r.amount,
      difference: r.difference,
      evidence: decodeEvidence(codec, itemId, evidence, columns.evidence),
      partition: r.part === null ? null : Number(r.part),
      rule: r.rule,
      aItems: JSON.parse(r.a_items!) as string[],
      bItems: JSON.parse(r.b_items!) as string[],
      amountA: r.amount_a,
      amountB: r.amount_b,
      accepted: r.accepted === 'true',
      status: r.status as ExceptionStatus,
      reasonCode: r.reason_code ?? null,
      explanation: r.explanation === null ? null : codec.dec(EXCEPTIONS_TABLE, 'explanation', itemId, r.explanation),
      explainedBy: r.explained_by,
      explainedAt: r.explained_at,
      resolvedBy: r.resolved_by,
      resolvedAt: r.resolved_at,
    };
  }

  /**
   * COPY into a temporary staging table, then one INSERT ... ON CONFLICT, all in one transaction: either the
   * whole batch is stored or none of it. Tables without insert-only columns (matches) first try a COPY straight
   * into the table, which is what a first write needs, at about half the cost. `update` lists the columns a rewrite may change (computed ones only).
   */
  async function bulkWrite<T>(
    runId: string,
    table: string,
    columns: readonly string[],
    update: readonly string[],
    rows: Iterable<T> | AsyncIterable<T>,
    encode: (row: T, index: number, codec: RunCodec) => (string | null)[],
    insertOnly: { stage: string[]; columns: string[]; exprs: string[] } = { stage: [], columns: [], exprs: [] },
    /** Runs in the write's transaction just before its COMMIT (the sealed blocks of its columns). */
    beforeCommit?: (client: PoolClient, codec: RunCodec) => Promise<void>,
  ): Promise<WriteResult> {
    const staged = [...columns, ...insertOnly.stage];
    const codec = await codecOf(runId);
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      codec.dispose();
      throw err;
    }
    let ok = false;
    const counter = { rows: 0 };
    try {
      await client.query('BEGIN');
      // Held to the end of the write: the run cannot vanish underneath it.
      const run = await client.query(`SELECT 1 FROM ${RUNS_TABLE} WHERE run_id = $1 FOR KEY SHARE`, [runId]);
      if (run.rowCount !== 1)
        throw refuse(`no run ${runId}: start the run before writing its results`, 'RunNotStarted');
      // Encoded whole first (callers write in batches): a refused row fails the write before anything is sent, and
      // the same text can be sent twice.
      const chunks: string[] = [];
      for await (const c of copyChunks(rows, (row: T, i: number) => encode(row, i, codec), counter)) chunks.push(c);
      if (insertOnly.columns.length === 0) {
        // The first write of a batch (the usual case) goes straight into the table; a row already there (a retried
        // activity) or twice in the batch violates the primary key, and the batch then takes the staging path.
        await client.query('SAVEPOINT finflow_direct');
        try {
          await pipeline(
            Readable.from(chunks),
            client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)),
          );
          await beforeCommit?.(client, codec);
          await client.query('COMMIT');
          ok = true;
          return { rows: counter.rows, changed: counter.rows };
        } catch (err) {
          if ((err as { code?: string }).code !== '23505') throw err;
          await client.query('ROLLBACK TO SAVEPOINT finflow_direct');
        }
      }
      await client.query(
        `CREATE TEMP TABLE finflow_stage ON COMMIT DROP AS SELECT ${staged.join(', ')} FROM ${table} WITH NO DATA`,
      );
      await pipeline(
        Readable.from(chunks),
        client.query(copyFrom(`COPY finflow_stage (${staged.join(', ')}) FROM STDIN`)),
      );
      const dup = await client.query<{ item_id: string }>(
        'SELECT item_id FROM finflow_stage GROUP BY item_id HAVING count(*) > 1 LIMIT 1',
      );
      if (dup.rows.length)
        throw refuse(`item ${dup.rows[0].item_id} appears more than once in one write to ${table}`, 'DuplicateItem');
      const changed = await client.query(
        `INSERT INTO ${table} AS t (${[...columns, ...insertOnly.columns].join(', ')})
         SELECT ${[...columns, ...insertOnly.exprs].join(', ')} FROM finflow_stage
         ON CONFLICT (run_id, item_id) DO UPDATE SET ${update.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
         WHERE (${update.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${update.map((c) => `EXCLUDED.${c}`).join(', ')})`,
      );
      await beforeCommit?.(client, codec);
      await client.query('COMMIT');
      ok = true;
      return { rows: counter.rows, changed: changed.rowCount ?? 0 };
    } finally {
      codec.dispose();
      if (!ok) await client.query('ROLLBACK').catch(() => undefined);
      // A COPY that failed half-way leaves the connection's protocol state unknown: drop it.
      client.release(ok ? undefined : true);
    }
  }

  /** Exceptions of a run in report order; `itemId` narrows to one. Values in the connector's exact text forms. */
  async function* readExceptions(
    runId: string,
    filter: { statuses?: ExceptionStatus[]; itemId?: string; batchSize?: number },
  ): AsyncGenerator<ExceptionRow[]> {
    const statuses = filter.statuses ?? [...EXCEPTION_STATUSES];
    for (const st of statuses)
      if (!(EXCEPTION_STATUSES as readonly string[]).includes(st)) throw refuse(`unknown status ${JSON.stringify(st)}`);
    const params: DbQuery['params'] = {
      run_id: { type: 'text', value: runId },
      statuses: { type: 'text', value: statuses.join(',') },
    };
    if (filter.itemId !== undefined) params.item_id = { type: 'text', value: filter.itemId };
    const codec = await codecOf(runId);
    try {
      const batches = postgresBatches(
        pool,
        {
          source: 'result store',
          // Sealed keys have no useful order (random nonces): such a run is listed by item within a category.
          sql: `SELECT ${EXCEPTION_SELECT} FROM ${EXCEPTIONS_TABLE}
                WHERE run_id = :run_id AND status = ANY (string_to_array(:statuses, ','))
                ${filter.itemId !== undefined ? 'AND item_id = :item_id' : ''}
                ORDER BY category, ${codec.sealed && sensitive.has('key') ? '' : 'key, '}item_id`,
          params,
        },
        { batchSize: filter.batchSize },
      );
      const columns = {
        key: columnReader(runId, codec, EXCEPTIONS_TABLE, 'key'),
        evidence: columnReader(runId, codec, EXCEPTIONS_TABLE, 'evidence'),
      };
      for await (const batch of batches) {
        const evidence = batch.map((r) => storedEvidence(r.evidence));
        await columns.key.load(batch.map((r) => r.key!));
        await columns.evidence.load(evidence.filter((e): e is string => typeof e === 'string'));
        yield batch.map((r, i) => exceptionRow(runId, codec, r, evidence[i], columns));
      }
    } finally {
      codec.dispose();
    }
  }

  /** Seals one explanation for the run's item (a person's words may hold an account number). */
  async function sealExplanation(runId: string, itemId: string, text: string): Promise<string> {
    const codec = await codecOf(runId);
    try {
      return codec.enc(EXCEPTIONS_TABLE, 'explanation', itemId, text);
    } finally {
      codec.dispose();
    }
  }

  async function getException(runId: string, itemId: string): Promise<ExceptionRow | undefined> {
    // Read to the end (one row at most) rather than return mid-stream, which would cost the pooled connection.
    let found: ExceptionRow | undefined;
    for await (const batch of readExceptions(runId, { itemId })) found ??= batch[0];
    return found;
  }

  return {
    migrate: () => migrateResultStore(pool),

    async startRun(run) {
      for (const [k, v] of Object.entries(run))
        if (typeof v !== 'string' || !v) throw refuse(`run ${k} must be a non-empty string`);
      const runId = runIdOf(run.workflowId, run.workflowRunId);
      const inserted = await pool.query(
        `INSERT INTO ${RUNS_TABLE} (run_id, workflow_id, workflow_run_id, recon_id, definition_hash)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id) DO NOTHING`,
        [runId, run.workflowId, run.workflowRunId, run.reconId, run.definitionHash],
      );
      if (inserted.rowCount === 1) return { runId, created: true };
      const existing = await pool.query<{ recon_id: string; definition_hash: string }>(
        `SELECT recon_id, definition_hash FROM ${RUNS_TABLE} WHERE run_id = $1`,
        [runId],
      );
      const e = existing.rows[0];
      if (e.definition_hash !== run.definitionHash || e.recon_id !== run.reconId)
        throw refuse(
          `run ${runId} already exists for ${e.recon_id} with definition ${e.definition_hash}, not ${run.reconId} with ${run.definitionHash}`,
          'RunConflict',
        );
      return { runId, created: false };
    },

    async finishRun(runId, outcome) {
      if (!(RUN_STATUSES as readonly string[]).includes(outcome.status) || outcome.status === 'running')
        throw refuse(`a run cannot finish with status ${JSON.stringify(outcome.status)}`);
      const res = await pool.query(
        `UPDATE ${RUNS_TABLE} SET status = $2, summary = $3::jsonb, finished_at = coalesce(finished_at, now())
         WHERE run_id = $1`,
        [runId, outcome.status, JSON.stringify(outcome.summary ?? null)],
      );
      if (res.rowCount !== 1) throw refuse(`no run ${runId}`, 'RunNotStarted');
    },

    async getRun(runId) {
      const rows = postgresBatches(pool, {
        source: 'result store',
        sql: `SELECT run_id, workflow_id, workflow_run_id, recon_id, definition_hash, status, summary, started_at,
                     finished_at FROM ${RUNS_TABLE} WHERE run_id = :run_id`,
        params: { run_id: { type: 'text', value: runId } },
      });
      let r: DbRecord | undefined;
      for await (const batch of rows) r ??= batch[0];
      if (!r) return undefined;
      return {
        runId: r.run_id!,
        workflowId: r.workflow_id!,
        workflowRunId: r.workflow_run_id!,
        reconId: r.recon_id!,
        definitionHash: r.definition_hash!,
        status: r.status as RunStatus,
        summary: r.summary === null ? null : (JSON.parse(r.summary) as unknown),
        startedAt: r.started_at!,
        finishedAt: r.finished_at,
      };
    },

    writeExceptions(runId, rows) {
      // With a data key, the exceptions' keys and evidence are sealed a block at a time (sealed-blocks.ts), as the
      // match keys are; the people's explanations stay sealed one by one (they are written and changed singly).
      const keys = columnWriter(runId, EXCEPTIONS_TABLE, 'key');
      const evidence = columnWriter(runId, EXCEPTIONS_TABLE, 'evidence');
      return bulkWrite(
        runId,
        EXCEPTIONS_TABLE,
        EXCEPTION_COLUMNS,
        EXCEPTION_COLUMNS.slice(2),
        rows,
        (x, i, codec) => {
          const what = `exception ${i + 1}${typeof x?.itemId === 'string' ? ` (${x.itemId})` : ''}`;
          if (typeof x?.itemId !== 'string' || !x.itemId) throw refuse(`${what}: itemId is missing`);
          if (!['a', 'b', 'both'].includes(x.side)) throw refuse(`${what}: side must be a, b or both`);
          if (typeof x.key !== 'string') throw refuse(`${what}: key must be a string`);
          if (typeof x.category !== 'string' || !x.category) throw refuse(`${what}: category is missing`);
          const accepted = x.accepted === true;
          return [
            runId,
            x.itemId,
            x.side,
            keys.seal(codec, x.itemId, x.key),
            x.category,
            x.currency ?? null,
            decimalOrNull(x.amount, `${what}: amount`),
            decimalOrNull(x.difference, `${what}: difference`),
            x.rule ?? null,
            idList(x.aItems, `${what}: aItems`),
            idList(x.bItems, `${what}: bItems`),
            decimalOrNull(x.amountA, `${what}: amountA`),
            decimalOrNull(x.amountB, `${what}: amountB`),
            accepted ? 't' : 'f',
            encodeEvidence(codec, x.itemId, x.evidence, what, evidence),
            partOrNull(x.partition, `${what}: partition`),
            accepted
              ? codec.enc(
                  EXCEPTIONS_TABLE,
                  'explanation',
                  x.itemId,
                  `accepted by rule ${x.rule ?? 'unknown'} (${x.category})`,
                )
              : null,
          ];
        },
        EXCEPTION_INSERT_ONLY,
        async (client, codec) => {
          await keys.write(client, codec);
          await evidence.write(client, codec);
        },
      );
    },

    writeMatches(runId, rows) {
      // With a data key, the match keys are sealed a block at a time (sealed-blocks.ts), not one by one.
      const keys = columnWriter(runId, MATCHES_TABLE, 'key');
      return bulkWrite(
        runId,
        MATCHES_TABLE,
        MATCH_COLUMNS,
        MATCH_COLUMNS.slice(2),
        rows,
        (m, i, codec) => {
          const what = `match ${i + 1}${typeof m?.itemId === 'string' ? ` (${m.itemId})` : ''}`;
          if (typeof m?.itemId !== 'string' || !m.itemId) throw refuse(`${what}: itemId is missing`);
          if (typeof m.rule !== 'string' || !m.rule) throw refuse(`${what}: rule is missing`);
          if (typeof m.key !== 'string') throw refuse(`${what}: key must be a string`);
          return [
            runId,
            m.itemId,
            m.rule,
            keys.seal(codec, m.itemId, m.key),
            m.currency ?? null,
            idList(m.aItems, `${what}: aItems`),
            idList(m.bItems, `${what}: bItems`),
            decimalOrNull(m.amountA, `${what}: amountA`) ?? refuseNull(`${what}: amountA`),
            decimalOrNull(m.amountB, `${what}: amountB`) ?? refuseNull(`${what}: amountB`),
            decimalOrNull(m.difference, `${what}: difference`) ?? refuseNull(`${what}: difference`),
            partOrNull(m.partition, `${what}: partition`),
          ];
        },
        undefined,
        (client, codec) => keys.write(client, codec),
      );
    },

    streamExceptions(runId, opts = {}) {
      return readExceptions(runId, opts);
    },

    async *streamMatches(runId, opts = {}) {
      const codec = await codecOf(runId);
      try {
        const batches = postgresBatches(
          pool,
          {
            source: 'result store',
            // Sealed keys are block references (or per-value ciphertext, with no useful order): a sealed run is
            // listed in block order, so each block is opened once.
            sql: `SELECT item_id, rule, key, currency, a_items, b_items, amount_a, amount_b, difference, part
                  FROM ${MATCHES_TABLE} WHERE run_id = :run_id
                  ORDER BY rule, key, item_id`,
            params: { run_id: { type: 'text', value: runId } },
          },
          { batchSize: opts.batchSize },
        );
        const keys = columnReader(runId, codec, MATCHES_TABLE, 'key');
        for await (const batch of batches) {
          await keys.load(batch.map((r) => r.key!));
          yield batch.map((r) => ({
            runId,
            itemId: r.item_id!,
            rule: r.rule!,
            key: keys.open(r.item_id!, r.key!),
            currency: r.currency,
            aItems: JSON.parse(r.a_items!) as string[],
            bItems: JSON.parse(r.b_items!) as string[],
            amountA: r.amount_a!,
            amountB: r.amount_b!,
            difference: r.difference!,
            partition: r.part === null ? null : Number(r.part),
          }));
        }
      } finally {
        codec.dispose();
      }
    },

    async exceptionTotals(runId) {
      const { rows } = await pool.query<Record<string, string | null>>(
        `SELECT category, side, currency, count(*)::text AS n,
                count(*) FILTER (WHERE status = 'open')::text AS open,
                count(*) FILTER (WHERE status = 'explained')::text AS explained,
                count(*) FILTER (WHERE status = 'resolved')::text AS resolved,
                coalesce(sum(amount), 0)::text AS amount, coalesce(sum(difference), 0)::text AS difference
           FROM ${EXCEPTIONS_TABLE} WHERE run_id = $1
          GROUP BY category, side, currency ORDER BY category, side, currency NULLS FIRST`,
        [runId],
      );
      return rows.map((r) => ({
        category: r.category!,
        side: r.side as ExceptionSide,
        currency: r.currency,
        count: intOf(r.n),
        open: intOf(r.open),
        explained: intOf(r.explained),
        resolved: intOf(r.resolved),
        amount: r.amount!,
        difference: r.difference!,
      }));
    },

    async explainException(runId, itemId, note) {
      if (!note.explanation?.trim()) throw refuse('an explanation may not be empty');
      if (!note.by?.trim()) throw refuse('who explains must be named');
      const res = await pool.query(
        `UPDATE ${EXCEPTIONS_TABLE} SET status = 'explained', explanation = $3, explained_by = $4,
                explained_at = coalesce($5::timestamptz, now())
          WHERE run_id = $1 AND item_id = $2 AND status <> 'resolved'`,
        [runId, itemId, await sealExplanation(runId, itemId, note.explanation), note.by, note.at ?? null],
      );
      const row = await getException(runId, itemId);
      if (!row) throw refuse(`no exception ${itemId} in run ${runId}`, 'ExceptionNotFound');
      if (res.rowCount === 0)
        throw refuse(
          `exception ${itemId} was resolved by ${row.resolvedBy} at ${row.resolvedAt}; it cannot be re-explained`,
          'ExceptionAlreadyResolved',
        );
      return row;
    },

    async resolveException(runId, itemId, note) {
      if (!note.by?.trim()) throw refuse('who resolves must be named');
      if (note.explanation !== undefined && !note.explanation.trim()) throw refuse('an explanation may not be empty');
      const res = await pool.query(
        `UPDATE ${EXCEPTIONS_TABLE} SET status = 'resolved', explanation = coalesce($3, explanation),
                resolved_by = $4, resolved_at = coalesce($5::timestamptz, now())
          WHERE run_id = $1 AND item_id = $2 AND status <> 'resolved' AND coalesce($3, explanation) IS NOT NULL`,
        [
          runId,
          itemId,
          note.explanation === undefined ? null : await sealExplanation(runId, itemId, note.explanation),
          note.by,
          note.at ?? null,
        ],
      );
      const row = await getException(runId, itemId);
      if (!row) throw refuse(`no exception ${itemId} in run ${runId}`, 'ExceptionNotFound');
      if (res.rowCount === 1) return row;
      if (row.status === 'resolved') {
        // A retried resolve by the same person changes nothing; someone else's is a conflict.
        if (row.resolvedBy === note.by) return row;
        throw refuse(
          `exception ${itemId} was already resolved by ${row.resolvedBy} at ${row.resolvedAt}`,
          'ExceptionAlreadyResolved',
        );
      }
      throw refuse(`exception ${itemId} needs an explanation before it can be resolved`, 'ExplanationRequired');
    },
  };
}

function refuseNull(what: string): never {
  throw refuse(`${what} is missing`);
}

/**
 * The engine's exception (domain/recon) as the store takes it. `amount` is the item's own side (side a's sum when
 * both sides hold records); both sums, the record ids and the rule are kept as well.
 */
export function exceptionFromRecon(x: ReconException, partition?: number): ExceptionInput {
  const side: ExceptionSide = x.a.length && x.b.length ? 'both' : x.a.length ? 'a' : 'b';
  return {
    itemId: x.id,
    side,
    key: x.key,
    category: x.category,
    currency: x.currency,
    amount: side === 'b' ? x.amount_b : x.amount_a,
    difference: x.difference,
    rule: x.rule ?? null,
    aItems: x.a,
    bItems: x.b,
    amountA: x.amount_a,
    amountB: x.amount_b,
    accepted: !x.open,
    evidence: x.evidence,
    partition: partition ?? null,
  };
}

export function matchFromRecon(m: ReconMatch, partition?: number): MatchInput {
  return {
    itemId: m.id,
    rule: m.rule,
    key: m.key,
    currency: m.currency,
    aItems: m.a,
    bItems: m.b,
    amountA: m.amount_a,
    amountB: m.amount_b,
    difference: m.difference,
    partition: partition ?? null,
  };
}
