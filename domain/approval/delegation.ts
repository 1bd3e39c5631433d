// Runtime delegation of authority (issue 18): `finflow approval delegate --from maya.manager --to sam.supervisor
// --until 2026-11-10 --scope journal_entry:50000`, signed by the delegator or an administrator, added to running
// closes. This module judges such a grant against a close's policy as it stands: who may grant it, that both people
// exist, that it neither delegates to oneself nor closes a loop (A to B to A, or longer), and that its window does
// not overlap another delegation of the same person. Pure: the workflow applies what this accepts.
import { z } from 'zod';
import { Dec, parseDecimal } from '../money';
import { type ApprovalPolicy, type ApprovalPolicyInput, type Delegation, delegationWindow, findUser } from './policy';

/** The role whose holders may grant a delegation on someone else's behalf. */
export const DELEGATION_ADMIN_ROLE = 'administrator';

export type DelegationRefusal =
  | 'invalid_delegation'
  | 'unknown_person'
  | 'self_delegation'
  | 'delegation_loop'
  | 'overlapping_window'
  | 'not_authorised';

const Id = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\s]+$/, 'must not contain spaces');
const IsoDateOrInstant = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: 'must be an ISO date (2026-11-10) or an ISO instant with an offset (2026-11-10T17:00:00Z)',
});

/** What a delegation's signed token carries (its signer is the token's subject, never a field). */
export const DelegationGrantSchema = z.strictObject({
  from: Id,
  to: Id,
  /** Default: when the close receives it. */
  from_date: IsoDateOrInstant.optional(),
  /** Inclusive: a date means through the end of that day (UTC). */
  to_date: IsoDateOrInstant,
  role: Id.optional(),
  scope: z
    .strictObject({
      item_type: Id,
      limit: z
        .string()
        .regex(/^\d+(\.\d+)?$/, 'must be a non-negative decimal amount')
        .optional(),
    })
    .optional(),
  reason: z.string().max(1000).optional(),
});
export type DelegationGrant = z.output<typeof DelegationGrantSchema>;

/**
 * `--scope journal_entry:50000` (an item type, and at most that amount) or `--scope journal_entry` (any amount);
 * anything else is refused naming the option.
 */
export function parseDelegationScope(text: string): NonNullable<DelegationGrant['scope']> {
  const m = /^([^\s:]+)(?::(\d+(?:\.\d+)?))?$/.exec(text.trim());
  if (!m) throw new Error(`--scope must be <item type>[:<limit>], for example journal_entry:50000; got "${text}"`);
  return { item_type: m[1], ...(m[2] !== undefined ? { limit: m[2] } : {}) };
}

/** Whether a delegation's scope covers an item of `itemType` for `amount` (no scope: every item). */
export function delegationCovers(d: Pick<Delegation, 'scope'>, item: { itemType: string; amount?: string }): boolean {
  if (!d.scope) return true;
  if (d.scope.item_type !== item.itemType) return false;
  if (d.scope.limit === undefined) return true;
  const amount = item.amount === undefined ? new Dec(0) : parseDecimal(item.amount).abs();
  return amount.lte(new Dec(d.scope.limit));
}

export type DelegationJudgement =
  { ok: true; delegation: Delegation } | { ok: false; reason: DelegationRefusal; message: string };

const overlaps = (a: { startMs: number; endMs: number }, b: { startMs: number; endMs: number }): boolean =>
  a.startMs < b.endMs && b.startMs < a.endMs;

/**
 * Judges a grant `signer` signed, at `nowIso`, against `policy` (its directory and the delegations it holds): the
 * delegation to add, or why not. The delegator signs for themselves; anyone else must hold the administrator role.
 */
export function judgeDelegation(
  policy: ApprovalPolicy,
  grant: unknown,
  signer: string,
  nowIso: string,
): DelegationJudgement {
  const refuse = (reason: DelegationRefusal, message: string): DelegationJudgement => ({ ok: false, reason, message });
  const parsed = DelegationGrantSchema.safeParse(grant);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return refuse('invalid_delegation', `${i.path.map(String).join('.') || 'delegation'}: ${i.message}`);
  }
  const g = parsed.data;
  const d: Delegation = {
    from: g.from,
    to: g.to,
    from_date: g.from_date ?? nowIso,
    to_date: g.to_date,
    ...(g.role !== undefined ? { role: g.role } : {}),
    ...(g.scope !== undefined ? { scope: g.scope } : {}),
    ...(g.reason !== undefined ? { reason: g.reason } : {}),
  };
  const signerUser = findUser(policy, signer);
  if (signer !== d.from && !signerUser?.roles.includes(DELEGATION_ADMIN_ROLE))
    return refuse(
      'not_authorised',
      `${signer} may not delegate ${d.from}'s authority: a delegation is signed by the delegator or by a holder of role ${DELEGATION_ADMIN_ROLE}`,
    );
  const from = findUser(policy, d.from);
  if (!from) return refuse('unknown_person', `delegating user ${d.from} is not in the close's directory`);
  if (!findUser(policy, d.to)) return refuse('unknown_person', `delegate ${d.to} is not in the close's directory`);
  if (d.from === d.to) return refuse('self_delegation', `${d.from} cannot delegate to themselves`);
  if (d.role !== undefined && !from.roles.includes(d.role))
    return refuse('invalid_delegation', `${d.from} does not hold role ${d.role}, so cannot delegate it`);
  const w = delegationWindow(d);
  if (!Number.isFinite(w.startMs) || w.endMs <= w.startMs)
    return refuse('invalid_delegation', `to_date ${d.to_date} is not after from_date ${d.from_date}`);
  if (w.endMs <= Date.parse(nowIso))
    return refuse('invalid_delegation', `to_date ${d.to_date} is already past at ${nowIso}`);

  const inWindow = policy.delegations.filter((x) => overlaps(delegationWindow(x), w));
  const mine = inWindow.find((x) => x.from === d.from);
  if (mine)
    return refuse(
      'overlapping_window',
      `${d.from} already delegates to ${mine.to} from ${mine.from_date} to ${mine.to_date}, which overlaps ${d.from_date} to ${d.to_date}`,
    );
  // A loop: following delegations in force in this window from the delegate leads back to the delegator.
  const path = [d.from, d.to];
  for (let at = d.to; ;) {
    const next = inWindow.find((x) => x.from === at);
    if (!next) break;
    path.push(next.to);
    if (next.to === d.from) return refuse('delegation_loop', `the delegation would close a loop: ${path.join(' -> ')}`);
    if (path.length > policy.delegations.length + 2) break;
    at = next.to;
  }
  return { ok: true, delegation: d };
}

/** The policy a close continued as new starts with: its input's, plus the delegations its last run accepted. */
export function withDelegations(
  policy: ApprovalPolicyInput | undefined,
  received: Delegation[],
): ApprovalPolicyInput | undefined {
  if (!policy || received.length === 0) return policy;
  return { ...policy, delegations: [...(policy.delegations ?? []), ...received] };
}
