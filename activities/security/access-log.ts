// The access log: who read, changed, decoded or shredded which classified data, when, for what purpose, and
// whether it was allowed. In PostgreSQL the table is append-only (a trigger refuses UPDATE, DELETE and
// TRUNCATE), because an audit trail that its writers can edit proves nothing.
import type { Queryable } from './db';

export const ACCESS_ACTIONS = ['read', 'change', 'decode', 'shred'] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];
export const ACCESS_OUTCOMES = ['allowed', 'denied', 'failed'] as const;
export type AccessOutcome = (typeof ACCESS_OUTCOMES)[number];

export interface AccessEvent {
  /** Who: a user (JWT subject), a service, or `anonymous` for a refused unauthenticated call. */
  actor: string;
  action: AccessAction;
  /** What: a dataset, a table, a workflow or namespace. */
  resource: string;
  /** Which classified fields were involved (`source.field` or a payload field name). */
  fields: readonly string[];
  purpose: string;
  outcome: AccessOutcome;
}

export interface AccessLogEntry extends AccessEvent {
  id: string;
  at: Date;
}

export interface AccessLog {
  record(event: AccessEvent): Promise<void>;
}

/** Refuses an event that could not answer an auditor's who/what/why. */
export function validateAccessEvent(event: AccessEvent): AccessEvent {
  const missing = (['actor', 'resource', 'purpose'] as const).filter(
    (k) => typeof event[k] !== 'string' || event[k].trim() === '',
  );
  if (missing.length) throw new Error(`access log event lacks ${missing.join(', ')}`);
  if (!ACCESS_ACTIONS.includes(event.action))
    throw new Error(`access log action ${JSON.stringify(event.action)} is not one of ${ACCESS_ACTIONS.join(', ')}`);
  if (!ACCESS_OUTCOMES.includes(event.outcome))
    throw new Error(`access log outcome ${JSON.stringify(event.outcome)} is not one of ${ACCESS_OUTCOMES.join(', ')}`);
  if (!Array.isArray(event.fields) || event.fields.some((f) => typeof f !== 'string'))
    throw new Error('access log fields must be a list of field names');
  return event;
}

export class InMemoryAccessLog implements AccessLog {
  readonly entries: AccessLogEntry[] = [];

  constructor(private readonly now: () => Date = () => new Date()) {}

  async record(event: AccessEvent): Promise<void> {
    validateAccessEvent(event);
    this.entries.push({ ...event, fields: [...event.fields], id: String(this.entries.length + 1), at: this.now() });
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS access_log (
  id       bigserial PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  actor    text NOT NULL CHECK (actor <> ''),
  action   text NOT NULL CHECK (action IN ('read', 'change', 'decode', 'shred')),
  resource text NOT NULL CHECK (resource <> ''),
  fields   text[] NOT NULL DEFAULT '{}',
  purpose  text NOT NULL CHECK (purpose <> ''),
  outcome  text NOT NULL CHECK (outcome IN ('allowed', 'denied', 'failed'))
);
CREATE INDEX IF NOT EXISTS access_log_resource_at ON access_log (resource, at);
CREATE INDEX IF NOT EXISTS access_log_actor_at ON access_log (actor, at);
CREATE OR REPLACE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'access_log is append-only (% refused)', TG_OP;
END $$;
DROP TRIGGER IF EXISTS access_log_no_update ON access_log;
CREATE TRIGGER access_log_no_update BEFORE UPDATE OR DELETE ON access_log
  FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
DROP TRIGGER IF EXISTS access_log_no_truncate ON access_log;
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
  FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();
`;

export interface AccessLogQuery {
  actor?: string;
  resource?: string;
  action?: AccessAction;
  since?: Date;
  limit?: number;
}

export class PgAccessLog implements AccessLog {
  constructor(private readonly db: Queryable) {}

  /** Creates the table, its indexes and the append-only triggers (idempotent). */
  async ensureSchema(): Promise<void> {
    await this.db.query(SCHEMA);
  }

  async record(event: AccessEvent): Promise<void> {
    validateAccessEvent(event);
    await this.db.query(
      'INSERT INTO access_log (actor, action, resource, fields, purpose, outcome) VALUES ($1, $2, $3, $4, $5, $6)',
      [event.actor, event.action, event.resource, [...event.fields], event.purpose, event.outcome],
    );
  }

  async list(query: AccessLogQuery = {}): Promise<AccessLogEntry[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      where.push(sql.replace('?', `$${values.length}`));
    };
    if (query.actor !== undefined) add('actor = ?', query.actor);
    if (query.resource !== undefined) add('resource = ?', query.resource);
    if (query.action !== undefined) add('action = ?', query.action);
    if (query.since !== undefined) add('at >= ?', query.since);
    values.push(query.limit ?? 1000);
    const { rows } = await this.db.query<{
      id: string;
      at: Date;
      actor: string;
      action: AccessAction;
      resource: string;
      fields: string[];
      purpose: string;
      outcome: AccessOutcome;
    }>(
      `SELECT id::text AS id, at, actor, action, resource, fields, purpose, outcome FROM access_log
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT $${values.length}`,
      values,
    );
    return rows;
  }
}
