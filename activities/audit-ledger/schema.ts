// The ledger's tables and the triggers that make them append-only. The database itself refuses UPDATE, DELETE
// and TRUNCATE, so neither a bug in finflow nor a careless script can rewrite history; a superuser can still
// disable the triggers, which is why every entry is also hash-chained and verifiable.
//
// seq is a plain bigint assigned under the append lock (last + 1), not a bigserial: a sequence leaves gaps on
// rolled-back inserts, and a gap-free seq lets verification tell a deleted entry from an aborted one.
export const LEDGER_TABLE = 'audit_ledger';
export const CHECKPOINT_TABLE = 'audit_ledger_checkpoints';

/** Arbitrary but fixed: serialises appends (and schema creation) across every process that shares the database. */
export const APPEND_LOCK_KEY = 0x46_46_4c_47; // "FFLG"
export const SCHEMA_LOCK_KEY = 0x46_46_4c_53; // "FFLS"

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
  seq bigint PRIMARY KEY CHECK (seq > 0),
  at timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  subject text NOT NULL,
  payload jsonb NOT NULL,
  idempotency_key text UNIQUE,
  prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE TABLE IF NOT EXISTS ${CHECKPOINT_TABLE} (
  seq bigint PRIMARY KEY REFERENCES ${LEDGER_TABLE}(seq),
  hash text NOT NULL,
  at timestamptz NOT NULL,
  key_id text NOT NULL,
  public_key text NOT NULL,
  signature text NOT NULL
);
CREATE OR REPLACE FUNCTION finflow_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['${LEDGER_TABLE}', '${CHECKPOINT_TABLE}'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = t || '_no_change' AND tgrelid = t::regclass) THEN
      EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION finflow_audit_append_only()', t || '_no_change', t);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = t || '_no_truncate' AND tgrelid = t::regclass) THEN
      EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION finflow_audit_append_only()', t || '_no_truncate', t);
    END IF;
  END LOOP;
END
$$;
`;
