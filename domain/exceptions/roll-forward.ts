// Roll-forward (issue 15): when a reconciliation's next period runs, the previous period's unresolved exceptions
// come in as a third input (brought forward). Those this period's data now matches (a deposit in transit whose
// bank side arrived) are cleared, each by one of this period's own open exceptions holding the other side; the rest
// are carried into the new run with their explanation and the date they were first seen. Pure: the activity reads
// both lists from the result store and records what this decides.
//
// The rule: a brought-forward item and a new open exception clear each other when they have the same key and
// currency and their signed differences (side a minus side b) add up to zero: GL 500.00 with no bank line in
// December (+500.00) is cleared by the bank's 500.00 with no GL line in February (-500.00). One to one; when several
// items are interchangeable (same key, currency and amount) they are paired in item-id order, which changes no
// total.
//
// Beyond the exact clearing, the reconciliation's own amount rules apply, in its order (`RollForwardRule`, from its
// tolerance rules): a brought-forward item and a new open exception of the same key and currency whose differences
// add up to within the rule's tolerance (absolute and/or percent of the larger absolute amount, combined as the rule
// says) clear each other, naming the rule; the residual is the rule's accepted difference, as within a period. Only
// a unique best candidate clears (the smallest residual, one of it): where two new exceptions would clear an item
// equally well, the roll-forward does not pick by input order and the item is carried. Rules that compare dates
// (max_days_apart, date_window) are not applied: exceptions keep no record dates. Control totals: brought-forward items are not records of side a or b of the new period; they are a third
// population, conserved on their own: brought in = cleared + carried, in count and per-currency amount.
import { Dec, parseDecimal } from '../money';
import { totalsByCurrency } from './filter';
import { type ExceptionState, SYSTEM_ACTOR_PREFIX } from './lifecycle';

/** Unresolved states: what the next period brings forward. An explained item not yet resolved is still open. */
export const BROUGHT_FORWARD_STATES: readonly ExceptionState[] = ['open', 'explained', 'carried_forward'];

/** Who clears a brought-forward item: the system, never a person (no person may act under the system prefix). */
export const ROLL_FORWARD_ACTOR = `${SYSTEM_ACTOR_PREFIX}roll-forward`;

/** The recorded actor of one run's roll-forward: the system and the run it acted in. */
export function rollForwardActor(runId: string): string {
  return `${ROLL_FORWARD_ACTOR} (run ${runId})`;
}

export const ROLL_FORWARD_RULE = 'same_key_opposite_amount';

/** A reconciliation amount rule the roll-forward applies after the exact clearing (a tolerance rule of its own). */
export interface RollForwardRule {
  id: string;
  absolute?: string;
  percent?: string;
  combine: 'all' | 'any';
}

/** An unresolved exception of the previous period's run. */
export interface BroughtForwardItem {
  itemId: string;
  key: string;
  currency: string | null;
  /** Signed side a minus side b, exact decimal. */
  difference: string;
  state: ExceptionState;
}

/** An open exception of this period's own data (never a brought-forward one). */
export interface CurrentItem {
  itemId: string;
  key: string;
  currency: string | null;
  difference: string;
}

export interface Clearing<B extends BroughtForwardItem = BroughtForwardItem, C extends CurrentItem = CurrentItem> {
  broughtForward: B;
  /** This period's exception holding the other side. */
  by: C;
  /** ROLL_FORWARD_RULE, or the id of the reconciliation's rule that cleared it. */
  rule: string;
  /** The two differences' sum (zero for the exact clearing): what the rule accepted. */
  residual: string;
}

export interface RollForwardDecision<B extends BroughtForwardItem, C extends CurrentItem> {
  cleared: Clearing<B, C>[];
  /** Brought-forward items still unresolved, in item-id order. */
  carried: B[];
}

const byId = (a: { itemId: string }, b: { itemId: string }) => (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0);

/** The state a carried item has in the new period: carried forward becomes explained (its explanation stands). */
export function carriedState(state: ExceptionState): ExceptionState {
  if (!BROUGHT_FORWARD_STATES.includes(state))
    throw new RangeError(`a ${state} exception is not brought forward: only ${BROUGHT_FORWARD_STATES.join(', ')}`);
  return state === 'carried_forward' ? 'explained' : state;
}

/**
 * The rules of a reconciliation the roll-forward applies, in its order: its tolerance rules that compare amounts
 * only (no max_days_apart: exceptions keep no record dates), are automatic (auto: false proposes, a person decides)
 * and take every record (where_a / where_b look at fields exceptions do not keep).
 */
export function rollForwardRules(
  rules: readonly {
    id: string;
    type: string;
    absolute?: string;
    percent?: string;
    combine?: 'all' | 'any';
    max_days_apart?: number;
    auto?: boolean;
    where_a?: unknown;
    where_b?: unknown;
  }[],
): RollForwardRule[] {
  return rules.flatMap((r) =>
    r.type === 'tolerance' &&
    r.max_days_apart === undefined &&
    r.auto !== false &&
    r.where_a === undefined &&
    r.where_b === undefined
      ? [
          {
            id: r.id,
            ...(r.absolute !== undefined ? { absolute: r.absolute } : {}),
            ...(r.percent !== undefined ? { percent: r.percent } : {}),
            combine: r.combine ?? 'all',
          },
        ]
      : [],
  );
}

/** Whether `residual` is within `rule`'s tolerance for amounts `x` and `y` (percent of the larger absolute one). */
export function withinTolerance(rule: RollForwardRule, x: Dec, y: Dec, residual: Dec): boolean {
  const r = residual.abs();
  const checks: boolean[] = [];
  if (rule.absolute !== undefined) checks.push(r.lte(parseDecimal(rule.absolute, `rule ${rule.id} absolute`)));
  if (rule.percent !== undefined) {
    const larger = Dec.max(x.abs(), y.abs());
    checks.push(r.lte(larger.times(parseDecimal(rule.percent, `rule ${rule.id} percent`)).dividedBy(100)));
  }
  return rule.combine === 'all' ? checks.every(Boolean) : checks.some(Boolean);
}

/** Which brought-forward item each of this period's open exceptions clears, and which are carried. */
export function decideRollForward<B extends BroughtForwardItem, C extends CurrentItem>(
  broughtForward: readonly B[],
  current: readonly C[],
  rules: readonly RollForwardRule[] = [],
): RollForwardDecision<B, C> {
  const slot = (key: string, currency: string | null, amount: Dec) =>
    `${key}\u0000${currency ?? ''}\u0000${amount.toFixed()}`;
  const waiting = new Map<string, C[]>();
  for (const c of [...current].sort(byId)) {
    const d = parseDecimal(c.difference, `exception ${c.itemId} difference`);
    if (d.isZero()) continue;
    const k = slot(c.key, c.currency, d);
    const list = waiting.get(k);
    if (list) list.push(c);
    else waiting.set(k, [c]);
  }
  const cleared: Clearing<B, C>[] = [];
  const carried: B[] = [];
  for (const b of [...broughtForward].sort(byId)) {
    carriedState(b.state);
    const d = parseDecimal(b.difference, `brought-forward exception ${b.itemId} difference`);
    const other = d.isZero() ? undefined : waiting.get(slot(b.key, b.currency, d.negated()))?.shift();
    if (other) cleared.push({ broughtForward: b, by: other, rule: ROLL_FORWARD_RULE, residual: '0' });
    else carried.push(b);
  }
  if (!rules.length || !carried.length) return { cleared, carried };
  // The reconciliation's own tolerance rules, in order, over what the exact clearing left on both sides.
  const taken = new Set(cleared.map((c) => c.by.itemId));
  let left = carried;
  for (const rule of rules) {
    const still: B[] = [];
    for (const b of left) {
      const d = parseDecimal(b.difference, `brought-forward exception ${b.itemId} difference`);
      let best: { c: C; residual: Dec }[] = [];
      for (const c of [...current].sort(byId)) {
        if (taken.has(c.itemId) || c.key !== b.key || c.currency !== b.currency) continue;
        const cd = parseDecimal(c.difference, `exception ${c.itemId} difference`);
        // The other side of the item: opposite signs only (the same sign is a second item, not its clearing).
        if (cd.isZero() || d.isZero() || cd.isNegative() === d.isNegative()) continue;
        const residual = d.plus(cd);
        if (!withinTolerance(rule, d, cd, residual)) continue;
        const cmp = best.length ? residual.abs().comparedTo(best[0].residual.abs()) : -1;
        if (cmp < 0) best = [{ c, residual }];
        else if (cmp === 0) best.push({ c, residual });
      }
      if (best.length === 1) {
        taken.add(best[0].c.itemId);
        cleared.push({ broughtForward: b, by: best[0].c, rule: rule.id, residual: best[0].residual.toFixed() });
      } else still.push(b);
    }
    left = still;
  }
  return { cleared, carried: left };
}

export interface CountAndTotals {
  count: number;
  totals: { currency: string | null; total: string }[];
}

function countAndTotals(items: readonly BroughtForwardItem[]): CountAndTotals {
  return {
    count: items.length,
    totals: totalsByCurrency(items.map((x) => ({ itemId: x.itemId, currency: x.currency, amount: x.difference }))),
  };
}

export interface RollForwardTotals {
  broughtIn: CountAndTotals;
  cleared: CountAndTotals;
  carried: CountAndTotals;
}

/**
 * The third population's control totals: brought in = cleared + carried, in count and per currency; a decision
 * that lost or invented an item fails loudly (RangeError naming what does not add up).
 */
export function rollForwardTotals<B extends BroughtForwardItem, C extends CurrentItem>(
  broughtForward: readonly B[],
  decision: RollForwardDecision<B, C>,
): RollForwardTotals {
  const clearedItems = decision.cleared.map((c) => c.broughtForward);
  const out = {
    broughtIn: countAndTotals(broughtForward),
    cleared: countAndTotals(clearedItems),
    carried: countAndTotals(decision.carried),
  };
  const ids = new Set([...clearedItems, ...decision.carried].map((x) => x.itemId));
  if (ids.size !== broughtForward.length || broughtForward.some((x) => !ids.has(x.itemId)))
    throw new RangeError(
      `roll-forward does not balance: ${broughtForward.length} brought in, ${clearedItems.length} cleared + ${decision.carried.length} carried`,
    );
  const sum = new Map<string, Dec>();
  for (const t of [...out.cleared.totals, ...out.carried.totals])
    sum.set(t.currency ?? '', (sum.get(t.currency ?? '') ?? new Dec(0)).plus(t.total));
  for (const t of out.broughtIn.totals)
    if (!(sum.get(t.currency ?? '') ?? new Dec(0)).equals(t.total))
      throw new RangeError(
        `roll-forward does not balance in ${t.currency ?? 'no currency'}: ${t.total} brought in, ${(sum.get(t.currency ?? '') ?? new Dec(0)).toFixed()} cleared + carried`,
      );
  return out;
}
