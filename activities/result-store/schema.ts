// The result store's tables, as numbered migrations kept in code. Applying them is idempotent and safe when
// several workers start at once: an advisory lock serialises them and each version is recorded once.
import type { Pool } from 'pg';

export const RUNS_TABLE = 'recon_runs';
export const MATCHES_TABLE = 'recon_matches';
export const EXCEPTIONS_TABLE = 'recon_exceptions';
/** The match keys of runs with a data key, sealed a block at a time (sealed-blocks.ts). */
export const BLOCKS_TABLE = 'recon_sealed_blocks';
/** Every person's action on exceptions (issue 15), accepted or refused: who, when, what, which items. */
export const EXCEPTION_ACTIONS_TABLE = 'recon_exception_actions';
/** Suggested matches a person confirmed (the match, naming who) or rejected (issue 15). */
export const SUGGESTION_DECISIONS_TABLE = 'recon_suggestion_decisions';
/** The close's status read model (issue 16): a row per close and per task, kept current by the close. */
export const CLOSE_STATUS_TABLE = 'close_status';
export const CLOSE_STATUS_TASKS_TABLE = 'close_status_tasks';
const MIGRATIONS_TABLE = 'recon_schema_migrations';

/** Arbitrary but fixed: serialises schema changes across every process sharing the database. */
const SCHEMA_LOCK_KEY = 0x46_46_52_53; // "FFRS"

/** `confirmed` / `rejected`: a suggested match a person decided (domain/exceptions/suggestions.ts). */
export const EXCEPTION_STATUSES = [
  'open',
  'explained',
  'resolved',
  'carried_forward',
  'confirmed',
  'rejected',
] as const;
export type ExceptionStatus = (typeof EXCEPTION_STATUSES)[number];

export const RUN_STATUSES = ['running', 'balanced', 'exceptions', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

// Matches and exceptions carry no foreign key to their run: a bulk write checks and locks the run row once
// (FOR KEY SHARE) instead of a per-row trigger, which cost about a third of the write time of 100k rows.
// Amounts are `numeric` without a scale: whatever the source's precision, the stored value is the exact one.
export const MIGRATIONS: { version: number; description: string; sql: string }[] = [
  {
    version: 1,
    description: 'runs, matches and exceptions',
    sql: `
CREATE TABLE ${RUNS_TABLE} (
  run_id text PRIMARY KEY,
  workflow_id text NOT NULL,
  workflow_run_id text NOT NULL,
  recon_id text NOT NULL,
  definition_hash text NOT NULL,
  status text NOT NULL DEFAULT 'running' CHECK (status IN (${RUN_STATUSES.map((s) => `'${s}'`).join(', ')})),
  summary jsonb,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX recon_runs_recon_idx ON ${RUNS_TABLE} (recon_id, started_at);

CREATE TABLE ${MATCHES_TABLE} (
  run_id text NOT NULL,
  item_id text NOT NULL,
  rule text NOT NULL,
  key text NOT NULL,
  currency text,
  a_items jsonb NOT NULL,
  b_items jsonb NOT NULL,
  amount_a numeric NOT NULL,
  amount_b numeric NOT NULL,
  difference numeric NOT NULL,
  part integer,
  PRIMARY KEY (run_id, item_id)
);

CREATE TABLE ${EXCEPTIONS_TABLE} (
  run_id text NOT NULL,
  item_id text NOT NULL,
  side text NOT NULL CHECK (side IN ('a', 'b', 'both')),
  key text NOT NULL,
  category text NOT NULL,
  currency text,
  amount numeric,
  difference numeric,
  rule text,
  a_items jsonb NOT NULL DEFAULT '[]',
  b_items jsonb NOT NULL DEFAULT '[]',
  amount_a numeric,
  amount_b numeric,
  -- A difference a matching rule accepted (rounding, within tolerance): stored as explained by that rule.
  accepted boolean NOT NULL DEFAULT false,
  evidence jsonb NOT NULL DEFAULT '{}',
  part integer,
  status text NOT NULL DEFAULT 'open' CHECK (status IN (${EXCEPTION_STATUSES.map((s) => `'${s}'`).join(', ')})),
  explanation text,
  explained_by text,
  explained_at timestamptz,
  resolved_by text,
  resolved_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, item_id),
  CHECK (status <> 'explained' OR (explanation IS NOT NULL AND explained_by IS NOT NULL AND explained_at IS NOT NULL)),
  CHECK (status <> 'resolved' OR (explanation IS NOT NULL AND resolved_by IS NOT NULL AND resolved_at IS NOT NULL))
);
CREATE INDEX recon_exceptions_open_idx ON ${EXCEPTIONS_TABLE} (run_id, status) WHERE status <> 'resolved';
`,
  },
  {
    version: 2,
    description: 'match keys sealed in blocks',
    sql: `
CREATE TABLE ${BLOCKS_TABLE} (
  run_id text NOT NULL,
  block_id text NOT NULL,
  body bytea NOT NULL,
  PRIMARY KEY (run_id, block_id)
);
`,
  },
  {
    version: 3,
    description: 'exception lifecycle: reason codes, resolutions, carry-forward, first seen, action history',
    // The status check of version 1 is replaced (carried_forward); a resolution's text is people's words, sealed
    // per value like explanations; numeric, never a float, for an adjusting entry's amount.
    sql: `
ALTER TABLE ${EXCEPTIONS_TABLE} DROP CONSTRAINT IF EXISTS recon_exceptions_status_check;
ALTER TABLE ${EXCEPTIONS_TABLE} ADD CONSTRAINT recon_exceptions_status_check
  CHECK (status IN ('open', 'explained', 'resolved', 'carried_forward'));
ALTER TABLE ${EXCEPTIONS_TABLE}
  ADD COLUMN reason_code text,
  ADD COLUMN resolution_kind text,
  ADD COLUMN resolution_reference text,
  ADD COLUMN resolution_amount numeric,
  ADD COLUMN resolution_note text,
  ADD COLUMN first_seen date;
UPDATE ${EXCEPTIONS_TABLE} SET first_seen = (created_at AT TIME ZONE 'UTC')::date WHERE first_seen IS NULL;
ALTER TABLE ${EXCEPTIONS_TABLE} ALTER COLUMN first_seen SET DEFAULT (now() AT TIME ZONE 'UTC')::date;

CREATE TABLE ${EXCEPTION_ACTIONS_TABLE} (
  seq bigserial PRIMARY KEY,
  -- The signed token's nonce, or an id of its own for a refusal that had none; binds the sealed detail.
  action_id text NOT NULL,
  run_id text NOT NULL,
  recon_id text NOT NULL,
  action text NOT NULL,
  by text NOT NULL,
  at timestamptz NOT NULL,
  accepted boolean NOT NULL,
  refusal text,
  refusal_type text,
  item_ids jsonb NOT NULL,
  count integer NOT NULL,
  totals jsonb NOT NULL,
  filter jsonb,
  detail text NOT NULL,
  nonce text,
  key_id text,
  issuer text,
  CHECK (accepted OR refusal IS NOT NULL)
);
CREATE INDEX recon_exception_actions_run_idx ON ${EXCEPTION_ACTIONS_TABLE} (run_id, seq);
-- A signed action counts once: its nonce may be accepted only once.
CREATE UNIQUE INDEX recon_exception_actions_nonce_idx ON ${EXCEPTION_ACTIONS_TABLE} (nonce) WHERE accepted;
`,
  },
  {
    version: 4,
    description:
      "roll-forward: a run's period and as-of date, the period an exception was first seen, brought-forward links",
    // A run's period and as-of date find "the previous period's run" of a reconciliation; an exception brought
    // forward from it is a row of the new run naming the run and item it came from (bf_run_id, bf_item_id), so its
    // action history can be followed back. first_seen is the business date (the as-of date of the run that first
    // saw the item), not the day a row was written.
    sql: `
ALTER TABLE ${RUNS_TABLE} ADD COLUMN period text, ADD COLUMN as_of date;
CREATE INDEX recon_runs_recon_as_of_idx ON ${RUNS_TABLE} (recon_id, as_of) WHERE as_of IS NOT NULL;
ALTER TABLE ${EXCEPTIONS_TABLE}
  ADD COLUMN first_seen_period text,
  ADD COLUMN bf_run_id text,
  ADD COLUMN bf_item_id text;
`,
  },
  {
    version: 5,
    description: 'suggested matches decided by a person: confirmed and rejected states, the decisions',
    // A decided suggestion keeps its exception row (state confirmed or rejected, settled by/at in resolved_by /
    // resolved_at); the decision names the match a confirmation made and the items a decision returned to the
    // leftovers (domain/exceptions/suggestions.ts). One decision per suggestion: the primary key says so.
    sql: `
ALTER TABLE ${EXCEPTIONS_TABLE} DROP CONSTRAINT IF EXISTS recon_exceptions_status_check;
ALTER TABLE ${EXCEPTIONS_TABLE} ADD CONSTRAINT recon_exceptions_status_check
  CHECK (status IN ('open', 'explained', 'resolved', 'carried_forward', 'confirmed', 'rejected'));
CREATE TABLE ${SUGGESTION_DECISIONS_TABLE} (
  run_id text NOT NULL,
  item_id text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
  rule text NOT NULL,
  by text NOT NULL,
  at timestamptz NOT NULL,
  candidate integer,
  a_items jsonb NOT NULL DEFAULT '[]',
  b_items jsonb NOT NULL DEFAULT '[]',
  amount_a numeric,
  amount_b numeric,
  difference numeric,
  returned jsonb NOT NULL DEFAULT '[]',
  action_seq bigint NOT NULL,
  PRIMARY KEY (run_id, item_id),
  CHECK (decision = 'rejected' OR (candidate IS NOT NULL AND amount_a IS NOT NULL AND amount_b IS NOT NULL))
);
`,
  },
  {
    version: 6,
    description: "roll-forward scope: a run's company",
    // "The previous period's run" is of the same reconciliation of the same company: two companies' closes share a
    // reconciliation id (the seed's), and one's open items must never roll into the other's.
    sql: `
ALTER TABLE ${RUNS_TABLE} ADD COLUMN company text;
DROP INDEX IF EXISTS recon_runs_recon_as_of_idx;
CREATE INDEX recon_runs_recon_company_as_of_idx ON ${RUNS_TABLE} (recon_id, company, as_of) WHERE as_of IS NOT NULL;
`,
  },
  {
    version: 7,
    description: "the close's status read model: a row per close and per task",
    // Written by the close as its state changes (activities/close-status), read by `finflow close status`, `close
    // watch` and Execution.status() without waiting for the close's workflow task. `version` only grows within an
    // execution chain (first_run_id); a write of a version not above the row's is stale and changes nothing.
    sql: `
CREATE TABLE ${CLOSE_STATUS_TABLE} (
  close_id text PRIMARY KEY,
  first_run_id text NOT NULL,
  started_at timestamptz NOT NULL,
  version bigint NOT NULL CHECK (version > 0),
  run integer NOT NULL,
  state text NOT NULL,
  task_count integer NOT NULL,
  status jsonb NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ${CLOSE_STATUS_TASKS_TABLE} (
  close_id text NOT NULL,
  task_id text NOT NULL,
  position integer NOT NULL,
  version bigint NOT NULL,
  state text NOT NULL,
  status jsonb NOT NULL,
  PRIMARY KEY (close_id, task_id)
);
`,
  },
];

/** Applies the migrations not yet applied, in order, each in its own transaction. Returns the versions applied. */
export async function migrateResultStore(pool: Pool): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK_KEY]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
        version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${MIGRATIONS_TABLE}`);
      const done = new Set(rows.map((r) => r.version));
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, description) VALUES ($1, $2)`, [
            m.version,
            m.description,
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
        applied.push(m.version);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
  return applied;
}
