// Suggested matches, decided by a person (issue 15): a reconciliation rule proposed records as a match instead of
// matching them (the rule is marked `auto: false`, or several candidates were equally good), and the
// reconciliation's owner role confirms one candidate or rejects the proposal. Pure: who and when come from the
// caller; the proposal's facts come from the exception's evidence (domain/recon/categorise.ts, `suggestions()`).
//
// How a decision is represented (what the result store writes):
//   - The `suggested_match` exception keeps its row and takes the state `confirmed` or `rejected`, with who, when
//     and the person's words. Neither state is open: such an item no longer counts as unexplained for materiality
//     or attestation (its records are either matched or in the leftovers below).
//   - confirm: the chosen candidate's records become one match of the proposing rule, named with the person who
//     confirmed it (`SuggestionDecision.match`). The summary counts it as matched (confirmed) for that rule.
//   - The records the decision leaves unmatched (all of them on reject; those outside the chosen candidate on
//     confirm) return to the leftovers as new open exceptions, categorised as the categoriser categorises leftovers
//     it may not pair on evidence:
//       * one record on each side with different amounts, the proposal's only pair: `amount_mismatch` (they share
//         the key; the person refused the match, not the difference, which remains to be explained);
//       * every other record alone: `missing_in_b` for a side-a record, `missing_in_a` for a side-b record (the
//         person said they do not belong together, or several candidates made any pairing a guess; the evidence
//         then names `ambiguous_category: suggested_match` and how many candidates there were).
//     Their item ids are `returned:<suggestion id>:<record id>` (stable, so a retried write is the same write),
//     and their evidence names the suggestion they came from and who decided. Per currency the leftovers'
//     differences (plus the match's) add up to the suggestion's difference: control totals still balance.
import { Dec, parseDecimal } from '../money';
import {
  type Actor,
  authoriseExceptionAction,
  type ExceptionAction,
  ExceptionActionError,
  type ExceptionState,
  parseExceptionAction,
} from './lifecycle';

export const SUGGESTION_ACTIONS = ['confirm', 'reject'] as const;
export type SuggestionActionName = (typeof SUGGESTION_ACTIONS)[number];

/** `candidate` is the 1-based number of the candidate confirmed, as `finflow exceptions suggestions` lists them. */
export type SuggestionAction =
  { action: 'confirm'; candidate: number; text?: string } | { action: 'reject'; reason: string };

/** The states a decided suggestion takes (see the comment at the top). */
export const SUGGESTION_STATES = ['confirmed', 'rejected'] as const;

const invalid = (m: string) => new ExceptionActionError('InvalidExceptionAction', m);

export function isSuggestionAction(raw: unknown): boolean {
  return (
    typeof raw === 'object' &&
    raw !== null &&
    (SUGGESTION_ACTIONS as readonly unknown[]).includes((raw as Record<string, unknown>).action)
  );
}

/** Checks a confirm or reject as a person sent it; unknown fields are refused so a typo is not ignored. */
export function parseSuggestionAction(raw: unknown, where = 'exception action'): SuggestionAction {
  if (!isSuggestionAction(raw)) throw invalid(`${where}.action: not one of ${SUGGESTION_ACTIONS.join(', ')}`);
  const r = raw as Record<string, unknown>;
  const allowed = r.action === 'confirm' ? ['action', 'candidate', 'text'] : ['action', 'reason'];
  const extra = Object.keys(r).filter((k) => !allowed.includes(k));
  if (extra.length) throw invalid(`${where}: ${String(r.action)} takes no ${extra.join(', ')}`);
  if (r.action === 'reject') {
    if (typeof r.reason !== 'string' || !r.reason.trim())
      throw invalid(`${where}.reason: a reject needs a reason (a non-empty text)`);
    return { action: 'reject', reason: r.reason.trim() };
  }
  const candidate = r.candidate ?? 1;
  if (typeof candidate !== 'number' || !Number.isInteger(candidate) || candidate < 1)
    throw invalid(`${where}.candidate: ${JSON.stringify(r.candidate)} is not a candidate number (1, 2, ...)`);
  if (r.text !== undefined && (typeof r.text !== 'string' || !r.text.trim()))
    throw invalid(`${where}.text: when given, a non-empty text`);
  return { action: 'confirm', candidate, ...(typeof r.text === 'string' ? { text: r.text.trim() } : {}) };
}

/** Any action a person may sign on exceptions: the lifecycle's, or a decision on a suggestion. */
export function parseAnyExceptionAction(
  raw: unknown,
  opts: { reasonCodes?: readonly string[]; where?: string } = {},
): ExceptionAction | SuggestionAction {
  return isSuggestionAction(raw) ? parseSuggestionAction(raw, opts.where) : parseExceptionAction(raw, opts);
}

/** A suggestion as the store holds it. */
export interface StoredSuggestion {
  itemId: string;
  category: string;
  state: ExceptionState;
  key: string;
  currency: string | null;
  /** The rule that proposed it (older rows: from the evidence). */
  rule: string | null;
  aItems: string[];
  bItems: string[];
  evidence: unknown;
}

export interface SuggestionCandidate {
  /** 1-based, as listed. */
  number: number;
  a: string[];
  b: string[];
  amountA: string;
  amountB: string;
  difference: string;
}

export interface SuggestionView {
  itemId: string;
  rule: string;
  key: string;
  currency: string | null;
  /** Why it was proposed: the rule is not automatic, or several candidates were equally good. */
  because: string;
  candidates: SuggestionCandidate[];
  /** How many candidates there were (more than listed when the list was capped). */
  candidateCount: number;
  amountsA: Record<string, string>;
  amountsB: Record<string, string>;
}

function field(ev: Record<string, unknown>, name: string, itemId: string): string {
  const v = ev[name];
  if (typeof v !== 'string')
    throw invalid(
      `suggestion ${itemId} has no ${name} in its evidence (proposed before suggestions could be decided): ` +
        'rerun the reconciliation to decide it',
    );
  return v;
}

const scaleOf = (s: string) => (s.includes('.') ? s.length - s.indexOf('.') - 1 : 0);

function sumText(amounts: string[], scale: number): string {
  return amounts.reduce((t, x) => t.plus(parseDecimal(x)), new Dec(0)).toFixed(scale);
}

/** Reads a suggestion's candidates and per-record amounts from its evidence; refused for any other exception. */
export function readSuggestion(x: StoredSuggestion): SuggestionView {
  if (x.category !== 'suggested_match')
    throw invalid(`exception ${x.itemId} is a ${x.category}, not a suggested match: only suggestions are confirmed`);
  const ev = (typeof x.evidence === 'object' && x.evidence !== null ? x.evidence : {}) as Record<string, unknown>;
  const list = (text: string, n: number, side: string) => {
    const out = text.split(',');
    if (out.length !== n || out.some((v) => !/^-?\d+(\.\d+)?$/.test(v)))
      throw invalid(`suggestion ${x.itemId}: amounts_${side} does not give one amount per record`);
    return out;
  };
  const amountsA = list(field(ev, 'amounts_a', x.itemId), x.aItems.length, 'a');
  const amountsB = list(field(ev, 'amounts_b', x.itemId), x.bItems.length, 'b');
  const scale = Math.max(0, ...[...amountsA, ...amountsB].map(scaleOf));
  const candidates = field(ev, 'candidate_index', x.itemId)
    .split(' | ')
    .map((c, n): SuggestionCandidate => {
      const [pa, pb] = c.split('=');
      const at = (p: string | undefined, items: string[]) =>
        (p ?? '').split('+').map((s) => {
          const i = Number(s);
          if (s === '' || !Number.isInteger(i) || i < 0 || i >= items.length)
            throw invalid(`suggestion ${x.itemId}: candidate ${n + 1} names no record at ${JSON.stringify(s)}`);
          return i;
        });
      const ia = at(pa, x.aItems);
      const ib = at(pb, x.bItems);
      const amountA = sumText(
        ia.map((i) => amountsA[i]),
        scale,
      );
      const amountB = sumText(
        ib.map((i) => amountsB[i]),
        scale,
      );
      return {
        number: n + 1,
        a: ia.map((i) => x.aItems[i]),
        b: ib.map((i) => x.bItems[i]),
        amountA,
        amountB,
        difference: parseDecimal(amountA).minus(parseDecimal(amountB)).toFixed(scale),
      };
    });
  const rule = x.rule ?? (typeof ev.rule === 'string' ? ev.rule : 'unknown');
  return {
    itemId: x.itemId,
    rule,
    key: x.key,
    currency: x.currency,
    because: typeof ev.proposed_because === 'string' ? ev.proposed_because : 'several_equally_good_candidates',
    candidates,
    candidateCount: typeof ev.candidate_count === 'number' ? ev.candidate_count : candidates.length,
    amountsA: Object.fromEntries(x.aItems.map((id, i) => [id, amountsA[i]])),
    amountsB: Object.fromEntries(x.bItems.map((id, i) => [id, amountsB[i]])),
  };
}

/** A record returned to the leftovers, as an exception the store writes (see the comment at the top). */
export interface ReturnedException {
  itemId: string;
  side: 'a' | 'b' | 'both';
  key: string;
  currency: string | null;
  category: 'amount_mismatch' | 'missing_in_a' | 'missing_in_b';
  aItems: string[];
  bItems: string[];
  /** The item's own side (side a's when both). */
  amount: string;
  amountA: string;
  amountB: string;
  difference: string;
  evidence: Record<string, string | number | boolean>;
}

export interface SuggestionDecision {
  itemId: string;
  rule: string;
  state: (typeof SUGGESTION_STATES)[number];
  /** The confirmed candidate as a match (confirm only). */
  match?: SuggestionCandidate;
  returned: ReturnedException[];
}

/** From which states a suggestion may be decided: open, or explained (e.g. "under investigation") but not settled. */
const DECIDABLE: readonly ExceptionState[] = ['open', 'explained'];

/**
 * Decides one suggestion: refused unless the actor holds the reconciliation's owner role, the exception is a
 * suggestion still open (or explained), and a confirmed candidate is one of those listed. Returns the new state,
 * the match, and the records returned to the leftovers.
 */
export function decideSuggestion(
  x: StoredSuggestion,
  action: SuggestionAction,
  ctx: { actor: Actor; ownerRoles: readonly string[]; reconId: string },
): SuggestionDecision {
  authoriseExceptionAction(ctx.actor, ctx.ownerRoles, ctx.reconId);
  const view = readSuggestion(x);
  if (!DECIDABLE.includes(x.state))
    throw new ExceptionActionError(
      'ExceptionTransitionRefused',
      `suggestion ${x.itemId} is ${x.state}: it cannot be ${action.action === 'confirm' ? 'confirmed' : 'rejected'} ` +
        '(only an open or explained suggestion is decided, once)',
    );
  let match: SuggestionCandidate | undefined;
  if (action.action === 'confirm') {
    match = view.candidates[action.candidate - 1];
    if (!match)
      throw invalid(
        `suggestion ${x.itemId} lists ${view.candidates.length} candidate(s): there is no candidate ${action.candidate}`,
      );
  }
  const scale = Math.max(0, ...[...Object.values(view.amountsA), ...Object.values(view.amountsB)].map(scaleOf));
  const zero = new Dec(0).toFixed(scale);
  const restA = x.aItems.filter((id) => !match?.a.includes(id));
  const restB = x.bItems.filter((id) => !match?.b.includes(id));
  const base = {
    returned_from: x.itemId,
    returned_because: action.action === 'reject' ? 'suggestion_rejected' : 'other_candidate_confirmed',
    decided_by: ctx.actor.id,
    rule: view.rule,
  };
  const returned: ReturnedException[] = [];
  const lonePair = x.aItems.length === 1 && x.bItems.length === 1 && restA.length === 1 && restB.length === 1;
  const [a0, b0] = [restA[0], restB[0]];
  if (lonePair && view.amountsA[a0] !== view.amountsB[b0]) {
    const diff = parseDecimal(view.amountsA[a0]).minus(parseDecimal(view.amountsB[b0])).toFixed(scale);
    returned.push({
      itemId: `returned:${x.itemId}:${a0}`,
      side: 'both',
      key: x.key,
      currency: x.currency,
      category: 'amount_mismatch',
      aItems: [a0],
      bItems: [b0],
      amount: view.amountsA[a0],
      amountA: view.amountsA[a0],
      amountB: view.amountsB[b0],
      difference: diff,
      evidence: { ...base, difference: diff },
    });
    return { itemId: x.itemId, rule: view.rule, state: 'rejected', returned };
  }
  const ambiguous: Record<string, string | number> =
    view.candidateCount > 1 ? { ambiguous_category: 'suggested_match', candidates: view.candidateCount } : {};
  for (const id of restA)
    returned.push({
      itemId: `returned:${x.itemId}:${id}`,
      side: 'a',
      key: x.key,
      currency: x.currency,
      category: 'missing_in_b',
      aItems: [id],
      bItems: [],
      amount: view.amountsA[id],
      amountA: view.amountsA[id],
      amountB: zero,
      difference: view.amountsA[id],
      evidence: { ...base, ...ambiguous },
    });
  for (const id of restB)
    returned.push({
      itemId: `returned:${x.itemId}:${id}`,
      side: 'b',
      key: x.key,
      currency: x.currency,
      category: 'missing_in_a',
      aItems: [],
      bItems: [id],
      amount: view.amountsB[id],
      amountA: zero,
      amountB: view.amountsB[id],
      difference: new Dec(0).minus(parseDecimal(view.amountsB[id])).toFixed(scale),
      evidence: { ...base, ...ambiguous },
    });
  return {
    itemId: x.itemId,
    rule: view.rule,
    state: match ? 'confirmed' : 'rejected',
    ...(match ? { match } : {}),
    returned,
  };
}
