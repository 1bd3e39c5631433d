// A close's trail in the audit ledger (issue 18): every entry about it, in ledger order. Entries name a close by
// subject (`<close id>` or `<close id>/...`: approval attempts, exception actions) or by payload.closeWorkflowId
// (evidence packages). `finflow audit show --close <id>` prints it; `finflow audit verify` checks the chain.
import type { Pool } from 'pg';
import { LEDGER_TABLE } from './schema';
import { fromRow, type LedgerEntry, type LedgerRow } from './ledger';

export async function closeTrail(pool: Pool, closeId: string, limit = 100_000): Promise<LedgerEntry[]> {
  if (!closeId) throw new Error('a close id is needed to show its trail');
  const r = await pool.query<LedgerRow>(
    `SELECT * FROM ${LEDGER_TABLE}
      WHERE subject = $1 OR left(subject, length($1) + 1) = $1 || '/' OR payload->>'closeWorkflowId' = $1
      ORDER BY seq LIMIT $2`,
    [closeId, limit],
  );
  return r.rows.map(fromRow);
}

export interface TrailLine {
  seq: number;
  at: string;
  who: string;
  what: string;
  on: string;
  accepted: boolean;
  /** The outcome when accepted, the reason (and message) when refused. */
  why: string;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Who did what, when, on what, accepted or refused and why: one entry as a person reads it. */
export function trailLine(e: LedgerEntry, closeId: string): TrailLine {
  const p = (e.payload ?? {}) as Record<string, unknown>;
  const accepted = !e.action.endsWith('.refused') && p.accepted !== false;
  const on = e.subject.startsWith(`${closeId}/`) ? e.subject.slice(closeId.length + 1) : e.subject;
  const verb = text(p.decision) ?? text(p.action);
  const what = verb ? `${e.action} ${verb}` : e.action;
  const reason = text(p.outcome) ?? text(p.reason) ?? text(p.type);
  const why = accepted
    ? (reason ?? (typeof p.count === 'number' ? `${p.count} item(s)` : ''))
    : [reason, text(p.message)].filter(Boolean).join(': ');
  return { seq: e.seq, at: e.at, who: e.actor, what, on, accepted, why };
}

export function formatTrailLine(l: TrailLine): string {
  return `${String(l.seq).padStart(6)}  ${l.at}  ${l.who}  ${l.what}  ${l.on}  ${l.accepted ? 'ACCEPTED' : 'REFUSED'}${l.why ? `  ${l.why}` : ''}`;
}
