// The approval notification outbox: one row per thing an approver, preparer or close owner must hear about
// (a request, a reminder, an escalation, a deadlock, a rejection). Workflows write it through an activity;
// approver apps poll it (gateway GET /notifications) or receive it by webhook. The row is the durable record: a
// webhook that stays down loses nothing, the app still finds the row.
//
// Idempotent by (workflow id, first run id, checkpoint, round, kind, level): an activity retried after a lost
// reply, or a workflow reset (same first run id), finds its row instead of adding a second one; a new execution
// under a reused workflow id (a close started again after it was terminated) gets its own rows. `level` means the chain level for
// approval_requested / rejected / approved, the escalation level for reminder / escalated / deadlocked, and the
// reminder count for resubmission_reminder.
import { createHmac } from 'node:crypto';
import type { Pool } from 'pg';

export const OUTBOX_TABLE = 'approval_outbox';
/** Serialises schema creation across processes sharing the database ("FFAO"). */
const SCHEMA_LOCK_KEY = 0x46_46_41_4f;

export const NOTIFICATION_KINDS = [
  'approval_requested',
  'reminder',
  'escalated',
  'deadlocked',
  'rejected',
  'approved',
  'resubmission_reminder',
  'not_resubmitted',
  // A close task past its deadline, or with no slack left before it (workflows/month-end-close.ts).
  'task_late',
  'task_at_risk',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface OutboxNotification {
  workflowId: string;
  /** The workflow's first execution run id (kept across resets and continue-as-new). */
  runId: string;
  checkpointId: string;
  round: number;
  kind: NotificationKind;
  level: number;
  /** userIds who should act or know. */
  recipients: string[];
  /** Roles concerned (for apps that route by role). */
  roles: string[];
  subject: string;
  /** Ids, amounts, levels and due times only: no comments or free text, which may quote restricted data. */
  body: { [k: string]: Json };
}

export interface OutboxRow extends OutboxNotification {
  id: string;
  createdAt: string;
  webhookAttempts: number;
  webhookDeliveredAt: string | null;
  webhookLastError: string | null;
}

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS ${OUTBOX_TABLE} (
  id bigserial PRIMARY KEY,
  workflow_id text NOT NULL,
  run_id text NOT NULL,
  checkpoint_id text NOT NULL,
  round integer NOT NULL CHECK (round >= 1),
  kind text NOT NULL,
  level integer NOT NULL CHECK (level >= 0),
  recipients text[] NOT NULL,
  roles text[] NOT NULL,
  subject text NOT NULL,
  body jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  webhook_attempts integer NOT NULL DEFAULT 0,
  webhook_delivered_at timestamptz,
  webhook_last_error text,
  UNIQUE (workflow_id, run_id, checkpoint_id, round, kind, level)
);
CREATE INDEX IF NOT EXISTS ${OUTBOX_TABLE}_recipients ON ${OUTBOX_TABLE} USING gin (recipients);
`;

const COLUMNS = `id::text AS id, workflow_id, run_id, checkpoint_id, round, kind, level, recipients, roles, subject, body,
  created_at, webhook_attempts, webhook_delivered_at, webhook_last_error`;

interface DbRow {
  id: string;
  workflow_id: string;
  run_id: string;
  checkpoint_id: string;
  round: number;
  kind: NotificationKind;
  level: number;
  recipients: string[];
  roles: string[];
  subject: string;
  body: OutboxNotification['body'];
  created_at: Date;
  webhook_attempts: number;
  webhook_delivered_at: Date | null;
  webhook_last_error: string | null;
}

function toRow(r: DbRow): OutboxRow {
  return {
    id: r.id,
    workflowId: r.workflow_id,
    runId: r.run_id,
    checkpointId: r.checkpoint_id,
    round: r.round,
    kind: r.kind,
    level: r.level,
    recipients: r.recipients,
    roles: r.roles,
    subject: r.subject,
    body: r.body,
    createdAt: r.created_at.toISOString(),
    webhookAttempts: r.webhook_attempts,
    webhookDeliveredAt: r.webhook_delivered_at?.toISOString() ?? null,
    webhookLastError: r.webhook_last_error,
  };
}

export class OutboxError extends Error {
  override name = 'OutboxError';
}

function check(n: OutboxNotification): void {
  const where = `notification ${n.kind} of ${n.workflowId}/${n.checkpointId} round ${n.round}`;
  if (!NOTIFICATION_KINDS.includes(n.kind)) throw new OutboxError(`${where}: unknown kind ${String(n.kind)}`);
  if (!Number.isSafeInteger(n.round) || n.round < 1) throw new OutboxError(`${where}: round must be >= 1`);
  if (!Number.isSafeInteger(n.level) || n.level < 0) throw new OutboxError(`${where}: level must be >= 0`);
  if (!n.workflowId || !n.runId || !n.checkpointId)
    throw new OutboxError(`${where}: workflowId, runId and checkpointId are required`);
}

export class ApprovalOutbox {
  private schema?: Promise<void>;

  constructor(private readonly pool: Pool) {}

  /** Creates the table once per process (and once per database, under an advisory lock). */
  ensureSchema(): Promise<void> {
    this.schema ??= (async () => {
      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
        await c.query(SCHEMA_SQL);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    })().catch((err: unknown) => {
      this.schema = undefined;
      throw err;
    });
    return this.schema;
  }

  /** Writes a notification unless its key is already there; either way returns the row. */
  async enqueue(n: OutboxNotification): Promise<{ row: OutboxRow; inserted: boolean }> {
    check(n);
    await this.ensureSchema();
    const ins = await this.pool.query<DbRow>(
      `INSERT INTO ${OUTBOX_TABLE} (workflow_id, run_id, checkpoint_id, round, kind, level, recipients, roles, subject, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (workflow_id, run_id, checkpoint_id, round, kind, level) DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        n.workflowId,
        n.runId,
        n.checkpointId,
        n.round,
        n.kind,
        n.level,
        n.recipients,
        n.roles,
        n.subject,
        JSON.stringify(n.body),
      ],
    );
    if (ins.rows[0]) return { row: toRow(ins.rows[0]), inserted: true };
    const found = await this.pool.query<DbRow>(
      `SELECT ${COLUMNS} FROM ${OUTBOX_TABLE}
       WHERE workflow_id = $1 AND run_id = $2 AND checkpoint_id = $3 AND round = $4 AND kind = $5 AND level = $6`,
      [n.workflowId, n.runId, n.checkpointId, n.round, n.kind, n.level],
    );
    return { row: toRow(found.rows[0]), inserted: false };
  }

  async get(id: string): Promise<OutboxRow | undefined> {
    await this.ensureSchema();
    const r = await this.pool.query<DbRow>(`SELECT ${COLUMNS} FROM ${OUTBOX_TABLE} WHERE id = $1`, [id]);
    return r.rows[0] ? toRow(r.rows[0]) : undefined;
  }

  /**
   * Notifications for one user, oldest first, after the id an app saw last (poll with the last id it got).
   * Optionally only those of one workflow.
   */
  async forRecipient(
    userId: string,
    opts: { afterId?: string; limit?: number; workflowId?: string } = {},
  ): Promise<OutboxRow[]> {
    await this.ensureSchema();
    const limit = Math.min(Math.max(opts.limit ?? 100, 1), 500);
    const after = opts.afterId ?? '0';
    if (!/^\d{1,18}$/.test(after)) throw new OutboxError(`afterId must be a notification id (digits), got ${after}`);
    const r = await this.pool.query<DbRow>(
      `SELECT ${COLUMNS} FROM ${OUTBOX_TABLE}
       WHERE $1 = ANY(recipients) AND id > $2::bigint AND ($3::text IS NULL OR workflow_id = $3)
       ORDER BY id LIMIT $4`,
      [userId, after, opts.workflowId ?? null, limit],
    );
    return r.rows.map(toRow);
  }

  /** Every notification of one workflow, oldest first (status views, tests, evidence). */
  async forWorkflow(workflowId: string): Promise<OutboxRow[]> {
    await this.ensureSchema();
    const r = await this.pool.query<DbRow>(
      `SELECT ${COLUMNS} FROM ${OUTBOX_TABLE} WHERE workflow_id = $1 ORDER BY id`,
      [workflowId],
    );
    return r.rows.map(toRow);
  }

  async recordDelivery(id: string, outcome: { ok: true } | { ok: false; error: string }): Promise<void> {
    await this.pool.query(
      outcome.ok
        ? `UPDATE ${OUTBOX_TABLE} SET webhook_attempts = webhook_attempts + 1, webhook_delivered_at = now(),
             webhook_last_error = NULL WHERE id = $1 AND webhook_delivered_at IS NULL`
        : `UPDATE ${OUTBOX_TABLE} SET webhook_attempts = webhook_attempts + 1, webhook_last_error = $2 WHERE id = $1`,
      outcome.ok ? [id] : [id, outcome.error.slice(0, 1000)],
    );
  }
}

export interface WebhookConfig {
  url: string;
  /** HMAC-SHA256 key: the receiver checks x-finflow-signature to know the call is ours. */
  secret?: string;
  timeoutMs?: number;
}

export type WebhookResult =
  { delivered: true; status: number } | { delivered: false; retryable: boolean; status?: number; error: string };

/** The body a webhook receives, and its signature header value. */
export function webhookRequest(row: OutboxRow, secret?: string): { body: string; headers: Record<string, string> } {
  const { webhookAttempts: _a, webhookDeliveredAt: _d, webhookLastError: _e, ...notification } = row;
  const body = JSON.stringify(notification);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    // Receivers deduplicate by id: a delivery retried after a lost response arrives twice.
    'x-finflow-notification-id': row.id,
  };
  if (secret) headers['x-finflow-signature'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  return { body, headers };
}

/** One delivery attempt. A 4xx other than 408/429 is the receiver refusing the call: retrying will not help. */
export async function deliverWebhook(
  row: OutboxRow,
  config: WebhookConfig,
  fetchImpl: typeof fetch = fetch,
): Promise<WebhookResult> {
  const { body, headers } = webhookRequest(row, config.secret);
  try {
    const res = await fetchImpl(config.url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(config.timeoutMs ?? 10_000),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return { delivered: true, status: res.status };
    const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
    return { delivered: false, retryable, status: res.status, error: `webhook answered HTTP ${res.status}` };
  } catch (err) {
    return { delivered: false, retryable: true, error: `webhook unreachable: ${(err as Error).message}` };
  }
}
