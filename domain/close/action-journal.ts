// How a person's task action is written in the close's journal and answered (issue 19: moved out of
// workflows/month-end-close.ts, behaviour unchanged). Every action, accepted or refused, gets an entry: who, what,
// which task, why, and for a signed one the key and nonce that prove who acted. Pure: the close keeps the journal.
import type { CloseJournalEntry, TaskAction, TaskActionAnswer } from '../../contracts/close';

/** Refused actions beyond this are counted, not kept (a flood of bad signals must not grow the state). */
export const MAX_REFUSALS_KEPT = 500;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The journal has kept as many refusals as it keeps: a further refusal is only counted. */
export function refusalsFull(journal: readonly CloseJournalEntry[]): boolean {
  return journal.filter((j) => j.accepted === false).length >= MAX_REFUSALS_KEPT;
}

export interface JournalDetail {
  /** Why the close refused the action (absent: accepted). */
  refusal?: string;
  signed?: CloseJournalEntry['signed'];
  /** attest: the role attested in. */
  role?: string;
}

/**
 * The journal entry of an action as it came, malformed ones included: a missing `by` is `(unknown)`, a missing
 * action `(malformed)`; an added task is named by its id.
 */
export function journalEntryOf(
  a: TaskAction,
  accepted: boolean,
  at: string,
  { refusal, signed, role }: JournalDetail = {},
): CloseJournalEntry {
  const e: CloseJournalEntry = {
    at,
    by: typeof a?.by === 'string' ? a.by : '(unknown)',
    action: typeof a?.action === 'string' ? a.action : '(malformed)',
    accepted,
  };
  if (typeof a?.taskId === 'string') e.taskId = a.taskId;
  else if (a?.action === 'add' && isRecord(a.task) && typeof a.task.id === 'string') e.taskId = a.task.id;
  if (typeof a?.reason === 'string') e.reason = a.reason;
  if (typeof a?.note === 'string') e.note = a.note;
  if (typeof a?.to === 'string') e.to = a.to;
  if (refusal) e.refusal = refusal;
  if (signed) e.signed = signed;
  if (a?.action === 'attest' && typeof a.statement === 'string') e.statement = a.statement;
  if (role) e.role = role;
  return e;
}

/** What the `submitTaskAction` update answers. */
export function actionAnswer(a: TaskAction, accepted: boolean, message: string): TaskActionAnswer {
  const answer: TaskActionAnswer = { accepted, action: String(a?.action), message };
  if (typeof a?.taskId === 'string') answer.taskId = a.taskId;
  return answer;
}

/** Fields a signed action may also carry in plain: each must say what the token says. */
export const SIGNED_FIELDS = ['action', 'taskId', 'by', 'reason', 'to', 'note', 'statement'] as const;

/** The first plain field that differs from the signed action's; undefined when none does. */
export function unsignedDifference(plain: TaskAction, signed: TaskAction): (typeof SIGNED_FIELDS)[number] | undefined {
  return SIGNED_FIELDS.find((k) => plain[k] !== undefined && plain[k] !== signed[k]);
}
