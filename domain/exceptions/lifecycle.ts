// How people work a reconciliation's exceptions to closure (issue 15): open -> explained -> resolved, or carried
// forward to the next period; reopened with a reason. An explanation is a reason code from the reconciliation's
// list plus text; a resolution is a kind plus text (an adjusting entry names its reference and amount). The
// reconciliation's owner role (the preparer) acts; whoever explained an exception may not approve the
// reconciliation. Pure: who, when and the current state come from the caller; nothing here reads a clock.
import { parseDecimal } from '../money';
import { describeMaterial, type MaterialityResult, unexplainedAboveMateriality } from './materiality';

/** `confirmed` / `rejected`: a suggested match a person decided (see suggestions.ts); neither is open. */
export const EXCEPTION_STATES = ['open', 'explained', 'resolved', 'carried_forward', 'confirmed', 'rejected'] as const;
export type ExceptionState = (typeof EXCEPTION_STATES)[number];

/**
 * The reason codes a reconciliation offers when its definition names none. `bank_error` and `book_error` are a
 * person's word that the bank or the books are wrong: the bank reconciliation statement lists such items under their
 * own headings (domain/recon/bank-statement.ts).
 */
export const DEFAULT_REASON_CODES = [
  'timing',
  'bank_fee',
  'fx',
  'posting_error',
  'duplicate_posting',
  'bank_error',
  'book_error',
  'under_investigation',
  'other',
] as const;

export const RESOLUTION_KINDS = ['adjusting_entry', 'write_off', 'cleared_next_period', 'no_action'] as const;
export type ResolutionKind = (typeof RESOLUTION_KINDS)[number];

export const EXCEPTION_ACTIONS = ['explain', 'resolve', 'reopen', 'carry_forward'] as const;
export type ExceptionActionName = (typeof EXCEPTION_ACTIONS)[number];

export type ExceptionAction =
  | { action: 'explain'; reasonCode: string; text: string }
  | { action: 'resolve'; kind: ResolutionKind; text: string; reference?: string; amount?: string }
  | { action: 'reopen'; reason: string }
  | { action: 'carry_forward'; text: string };

/** A refusal with a stable type (the ApplicationFailure type an activity raises) and a message naming the field. */
export class ExceptionActionError extends Error {
  override name = 'ExceptionActionError';
  constructor(
    readonly type:
      | 'InvalidExceptionAction'
      | 'ExceptionTransitionRefused'
      | 'ExceptionActionUnauthorised'
      | 'ExceptionOfAnotherRun'
      | 'ExceptionFilterMatchedNothing'
      | 'SegregationOfDuties',
    message: string,
  ) {
    super(message);
  }
}

const invalid = (m: string) => new ExceptionActionError('InvalidExceptionAction', m);

function text(raw: Record<string, unknown>, field: string, where: string): string {
  const v = raw[field];
  if (typeof v !== 'string' || !v.trim()) throw invalid(`${where}.${field}: a non-empty text is required`);
  return v.trim();
}

function optionalText(raw: Record<string, unknown>, field: string, where: string): string | undefined {
  return raw[field] === undefined || raw[field] === null ? undefined : text(raw, field, where);
}

/**
 * Checks an action as a person sent it: the reason code must be one of the reconciliation's (`reasonCodes`,
 * default DEFAULT_REASON_CODES), an adjusting entry needs its reference and amount (an exact decimal), every
 * action its text. Unknown fields are refused, so a typo is not silently ignored.
 */
export function parseExceptionAction(
  raw: unknown,
  opts: { reasonCodes?: readonly string[]; where?: string } = {},
): ExceptionAction {
  const where = opts.where ?? 'exception action';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${where}: an object is required`);
  const r = raw as Record<string, unknown>;
  const allowed: Record<ExceptionActionName, string[]> = {
    explain: ['action', 'reasonCode', 'text'],
    resolve: ['action', 'kind', 'text', 'reference', 'amount'],
    reopen: ['action', 'reason'],
    carry_forward: ['action', 'text'],
  };
  const action = r.action as ExceptionActionName;
  if (!(EXCEPTION_ACTIONS as readonly unknown[]).includes(action))
    throw invalid(`${where}.action: ${JSON.stringify(r.action)} is not one of ${EXCEPTION_ACTIONS.join(', ')}`);
  const extra = Object.keys(r).filter((k) => !allowed[action].includes(k));
  if (extra.length) throw invalid(`${where}: ${action} takes no ${extra.join(', ')}`);
  switch (action) {
    case 'explain': {
      const codes = opts.reasonCodes ?? DEFAULT_REASON_CODES;
      const reasonCode = text(r, 'reasonCode', where);
      if (!codes.includes(reasonCode))
        throw invalid(
          `${where}.reasonCode: ${JSON.stringify(reasonCode)} is not a reason code of this reconciliation (${codes.join(', ')})`,
        );
      return { action, reasonCode, text: text(r, 'text', where) };
    }
    case 'resolve': {
      const kind = text(r, 'kind', where) as ResolutionKind;
      if (!RESOLUTION_KINDS.includes(kind))
        throw invalid(`${where}.kind: ${JSON.stringify(kind)} is not one of ${RESOLUTION_KINDS.join(', ')}`);
      const reference = optionalText(r, 'reference', where);
      const amount = optionalText(r, 'amount', where);
      if (amount !== undefined && !/^-?\d+(\.\d+)?$/.test(amount))
        throw invalid(`${where}.amount: ${JSON.stringify(amount)} is not a decimal amount such as "1250.00"`);
      if (kind === 'adjusting_entry' && (reference === undefined || amount === undefined))
        throw invalid(
          `${where}: an adjusting_entry resolution needs ${[reference === undefined ? 'reference' : '', amount === undefined ? 'amount' : ''].filter(Boolean).join(' and ')} (the entry's number and amount)`,
        );
      return {
        action,
        kind,
        text: text(r, 'text', where),
        ...(reference !== undefined ? { reference } : {}),
        ...(amount !== undefined ? { amount: parseDecimal(amount).toFixed() } : {}),
      };
    }
    case 'reopen':
      return { action, reason: text(r, 'reason', where) };
    case 'carry_forward':
      return { action, text: text(r, 'text', where) };
  }
}

/** From which states each action may be taken, and the state it leads to. */
const TRANSITIONS: Record<ExceptionActionName, { from: readonly ExceptionState[]; to: ExceptionState; hint: string }> =
  {
    // Explaining again (amending) keeps the exception explained; a resolved one must be reopened first.
    explain: { from: ['open', 'explained'], to: 'explained', hint: 'reopen it first' },
    resolve: { from: ['explained'], to: 'resolved', hint: 'explain it first' },
    // An item is carried into the next period only once someone has said what it is.
    carry_forward: { from: ['explained'], to: 'carried_forward', hint: 'explain it first' },
    reopen: { from: ['explained', 'resolved', 'carried_forward'], to: 'open', hint: 'it is already open' },
  };

/** The state an action leads to, or a refusal naming the item, its state and what to do instead. */
export function nextState(itemId: string, state: ExceptionState, action: ExceptionActionName): ExceptionState {
  const t = TRANSITIONS[action];
  if (!t.from.includes(state))
    throw new ExceptionActionError(
      'ExceptionTransitionRefused',
      `exception ${itemId} is ${state}: it cannot be ${pastTense(action)} (${t.hint})`,
    );
  return t.to;
}

function pastTense(action: ExceptionActionName): string {
  return { explain: 'explained', resolve: 'resolved', reopen: 'reopened', carry_forward: 'carried forward' }[action];
}

export interface Actor {
  id: string;
  /** The roles the approval policy's directory gives this person (never the roles the caller claims). */
  roles: readonly string[];
}

/** Ids starting with this are the system's own (roll-forward's clearing): never a person's. */
export const SYSTEM_ACTOR_PREFIX = 'system:';

/** The reconciliation's owner role (the preparer) works its exceptions; nobody else does, and never as the system. */
export function authoriseExceptionAction(actor: Actor, ownerRoles: readonly string[], reconId: string): void {
  if (actor.id.startsWith(SYSTEM_ACTOR_PREFIX))
    throw new ExceptionActionError(
      'ExceptionActionUnauthorised',
      `${actor.id} may not work the exceptions of ${reconId}: ids starting with "${SYSTEM_ACTOR_PREFIX}" are the system's own`,
    );
  if (!ownerRoles.length)
    throw new ExceptionActionError(
      'ExceptionActionUnauthorised',
      `reconciliation ${reconId} names no owner role, so nobody may work its exceptions`,
    );
  if (!actor.roles.some((r) => ownerRoles.includes(r)))
    throw new ExceptionActionError(
      'ExceptionActionUnauthorised',
      `${actor.id} (${actor.roles.join(', ') || 'no role'}) may not work the exceptions of ${reconId}: ` +
        `only its owner role (${ownerRoles.join(', ')}) may`,
    );
}

/** An action names the run it acts on; every item must belong to that run, or nothing is changed. */
export function checkSameRun(runId: string, items: readonly { itemId: string; runId: string }[]): void {
  const other = items.filter((i) => i.runId !== runId);
  if (other.length)
    throw new ExceptionActionError(
      'ExceptionOfAnotherRun',
      `the action is for run ${runId}, but ${other.map((i) => `${i.itemId} belongs to run ${i.runId}`).join('; ')}`,
    );
}

/**
 * Segregation of duties: whoever explained (or resolved) an exception of the reconciliation may not approve it.
 * `workedBy` lists who acted on its exceptions (the action history); returns nothing when the approver is clear.
 */
export function segregationRefusal(
  approverId: string,
  workedBy: readonly { by: string; action: ExceptionActionName; itemIds: readonly string[] }[],
): string | undefined {
  const own = workedBy.filter((w) => w.by === approverId && (w.action === 'explain' || w.action === 'resolve'));
  if (!own.length) return undefined;
  const items = [...new Set(own.flatMap((w) => w.itemIds))];
  const shown = items.slice(0, 5).join(', ') + (items.length > 5 ? ` and ${items.length - 5} more` : '');
  return `${approverId} explained or resolved exceptions of this reconciliation (${shown}) and may not approve it`;
}

/** The fields of an exception an action sets, for the store to write and the history to record. */
export interface ExceptionChange {
  state: ExceptionState;
  reasonCode?: string;
  explanation?: string;
  resolutionKind?: ResolutionKind;
  resolutionReference?: string;
  resolutionAmount?: string;
  resolution?: string;
  reopenReason?: string;
  carryForward?: string;
}

/** What applying `action` to an exception in `state` changes (refused when the transition is not allowed). */
export function changeOf(itemId: string, state: ExceptionState, action: ExceptionAction): ExceptionChange {
  const to = nextState(itemId, state, action.action);
  switch (action.action) {
    case 'explain':
      return { state: to, reasonCode: action.reasonCode, explanation: action.text };
    case 'resolve':
      return {
        state: to,
        resolutionKind: action.kind,
        resolution: action.text,
        ...(action.reference !== undefined ? { resolutionReference: action.reference } : {}),
        ...(action.amount !== undefined ? { resolutionAmount: action.amount } : {}),
      };
    case 'reopen':
      return { state: to, reopenReason: action.reason };
    case 'carry_forward':
      return { state: to, carryForward: action.text };
  }
}

/**
 * The certification rule over a reconciliation's exceptions: how many are still open (unexplained) above
 * materiality, and their totals per currency. Explained, resolved and carried-forward ones have an explanation.
 */
export function unexplainedMaterial(
  items: Iterable<{ itemId: string; amount: string; currency: string | null; state: ExceptionState }>,
  materiality: string,
  where?: string,
): MaterialityResult {
  const list = [...items].map((x) => ({
    id: x.itemId,
    amount: x.amount,
    currency: x.currency,
    explained: x.state !== 'open',
  }));
  return unexplainedAboveMateriality(list, materiality, where ? { where } : {});
}

/**
 * Certification before approval: the refusal an approval of a reconciliation gets while unexplained exceptions
 * above materiality remain (how many, their totals, which), or nothing when none do.
 */
export function certificationRefusal(reconId: string, m: MaterialityResult): string | undefined {
  if (!m.count) return undefined;
  return `reconciliation ${reconId} cannot be approved yet: ${describeMaterial(m)}`;
}
