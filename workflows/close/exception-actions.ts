// People's signed actions on a reconciliation's exceptions, through the close (issue 15): the `submitExceptionAction`
// update. Why the close and not the reconciliation: the reconciliation child has finished by the time people work
// its exceptions (it returned its summary), while the close is running, holds the reconciliation's run id and owner
// role and the user directory, and hosts the approval checkpoints whose segregation of duties and certification
// depend on who explained what. The update's validator turns away what cannot be an action at once; the handler has
// an activity verify the token and apply it in the result store and the audit ledger, then journals the outcome,
// accepted or refused, so the close's history and status show who acted, on how many exceptions, for what total.
import { patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { ExceptionActivities } from '../../activities/exceptions';
import { submitExceptionActionUpdate, type ExceptionActionAnswer, type ExceptionActionRequest } from '../definitions';
import type { CloseJournalEntry, TaskStatus } from '../types';

/** patched() id: marks a close's first exception action taken through this handler. */
export const EXCEPTION_ACTIONS_PATCH = 'exception-actions-update';

export type { ExceptionActionAnswer, ExceptionActionRequest } from '../definitions';

// Verification and the store write are quick; a few attempts ride out a database hiccup. The activity is idempotent
// on the token's nonce, so a retry after it applied returns what it applied.
const exceptionActivities = proxyActivities<ExceptionActivities>({
  startToCloseTimeout: '1m',
  retry: { maximumAttempts: 5, initialInterval: '1s', nonRetryableErrorTypes: ['ExceptionActionsNotConfigured'] },
});

const MAX_TOKEN_CHARS = 65_536;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface ExceptionActionsHost {
  closeId: string;
  tasks: () => TaskStatus[];
  /** The close's user directory (its approval policy's users). */
  users: () => { userId: string; roles: string[] }[];
  journal: (e: CloseJournalEntry) => void;
  nowIso: () => string;
  changed: () => void;
}

/** The users of a close's approval policy (as given in its input), each with their roles. */
export function directoryUsers(policy: unknown): { userId: string; roles: string[] }[] {
  const users = isRecord(policy) && Array.isArray(policy.users) ? (policy.users as unknown[]) : [];
  return users.filter(isRecord).flatMap((u) =>
    typeof u.userId === 'string'
      ? [
          {
            userId: u.userId,
            roles: Array.isArray(u.roles) ? u.roles.filter((r): r is string => typeof r === 'string') : [],
          },
        ]
      : [],
  );
}

function targetTask(tasks: TaskStatus[], task: string): TaskStatus | undefined {
  return tasks.find((t) => t.kind === 'reconciliation' && (t.id === task || t.result?.reconId === task));
}

export function installExceptionActions(host: ExceptionActionsHost): void {
  // Nonces this close already accepted: a second delivery of the same token is refused here, before the store.
  const seen = new Map<string, string>();
  setHandler(
    submitExceptionActionUpdate,
    async (req: ExceptionActionRequest): Promise<ExceptionActionAnswer> => {
      // Histories recorded before this handler hold no such update, so they replay unchanged; the marker says which
      // closes took exception actions through this code.
      patched(EXCEPTION_ACTIONS_PATCH);
      const t = targetTask(host.tasks(), req.task) as TaskStatus;
      const result = t.result as NonNullable<TaskStatus['result']>;
      const journal = (o: ExceptionActionAnswer) => {
        const e: CloseJournalEntry = {
          at: host.nowIso(),
          by: o.by ?? 'unverified:(nobody)',
          action: `exceptions.${o.accepted ? o.action : 'refused'}`,
          taskId: t.id,
          accepted: o.accepted,
        };
        if (o.accepted) {
          const totals = o.totals.map((x) => `${x.currency ? `${x.currency} ` : ''}${x.total}`).join(' + ');
          e.note =
            o.action === 'certify'
              ? `certified ${result.reconId} complete: its ${o.count} exception(s), totals ${totals || 'none'} (result-store action ${o.seq})`
              : `${o.count} exception(s) of ${result.reconId}, totals ${totals} (result-store action ${o.seq})`;
          e.signed = o.proof;
        } else e.refusal = `${o.type}: ${o.message}`;
        host.journal(e);
        host.changed();
      };
      const nonce = tokenNonce(req.token);
      if (nonce && seen.has(nonce)) {
        const o: ExceptionActionAnswer = {
          accepted: false,
          // The same token: whoever it proved the first time.
          by: seen.get(nonce) as string,
          type: 'ExceptionActionReplayed',
          message: `the signed action ${nonce} was already applied by this close: a token counts once`,
        };
        journal(o);
        return o;
      }
      const o = await exceptionActivities.applyExceptionAction({
        target: {
          closeId: host.closeId,
          reconId: result.reconId,
          runId: result.runId as string,
          ownerRoles: t.ownerRole ? [t.ownerRole] : [],
        },
        token: req.token,
        users: host.users(),
      });
      if (o.accepted) seen.set(o.nonce, o.by);
      journal(o);
      return o;
    },
    {
      validator: (req: ExceptionActionRequest) => {
        if (!isRecord(req) || typeof req.task !== 'string' || typeof req.token !== 'string')
          throw new Error('an exception action is { task, token }');
        if (!req.token || req.token.length > MAX_TOKEN_CHARS) throw new Error('the token is empty or too large');
        const t = targetTask(host.tasks(), req.task);
        if (!t) throw new Error(`${host.closeId} has no reconciliation task ${req.task}`);
        if (!t.result?.runId)
          throw new Error(`reconciliation ${t.id} has no result-store run yet (state ${t.state}): nothing to act on`);
      },
    },
  );
}

/** The token's jti, read without trusting it (the activity verifies); undefined when unreadable. */
function tokenNonce(token: string): string | undefined {
  try {
    const part = token.split('.')[1];
    const json = JSON.parse(base64UrlDecode(part)) as { jti?: unknown };
    return typeof json.jti === 'string' ? json.jti : undefined;
  } catch {
    return undefined;
  }
}

function base64UrlDecode(s: string): string {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const c of b64) {
    if (c === '=') break;
    const i = chars.indexOf(c);
    if (i < 0) throw new Error('not base64url');
    value = (value << 6) | i;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 0xff);
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
