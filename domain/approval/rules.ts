// The approval-checkpoint rules as pure functions over a JSON-safe state: the workflow keeps the state, feeds
// it submissions, verified decisions and timer firings, and gets back the next state plus what to tell whom.
// Nothing here reads a clock or does I/O: "now" is always an argument (the workflow's deterministic time).
//
// Delegation of authority, as implemented:
// - The hierarchy of a checkpoint is its required roles ordered by their limit for the item type.
// - chain mode: an amount A needs a signature at every level of that hierarchy up to and including the first
//   role whose limit covers |A| (limit >= |A|), in order, each by a different person. With the seed's limits
//   (supervisor 10,000, manager 50,000, director 1,000,000) 75,000 needs supervisor, then manager, then director.
//   The last level may also be signed by any more senior required role. At or below the checkpoint's
//   materiality threshold one covering approver is enough.
// - single mode: one approver holding any required role whose limit covers |A|.
// - Roles without limits for the item type (e.g. a reconciliation sign-off) are not amount-bound: chain mode
//   then means every required role in the order written.
// - Escalation adds the roles of the escalation path, one per timeout; an escalated role may sign the open level
//   when its limit is at least what that level stands for.
import { z } from 'zod';
import { Dec, parseDecimal } from '../money';
import { type DecisionAttempt, type EvidenceRef, EvidenceRefSchema } from './decision';
import { delegationCovers } from './delegation';
import {
  type ApprovalPolicy,
  type Checkpoint,
  delegationActive,
  delegationWindow,
  findCheckpoint,
  findUser,
  parseDuration,
  roleLimit,
} from './policy';

export type RefusalCode =
  | 'unsigned'
  | 'expired'
  | 'duplicate'
  | 'replay'
  | 'unknown_approver'
  | 'checkpoint_not_open'
  | 'level_not_open'
  | 'self_approval'
  | 'wrong_role'
  | 'over_limit'
  | 'evidence_missing'
  | 'resolution_missing'
  | 'comments_missing'
  // exception-gate.ts: the approver explained or resolved the reconciliation's exceptions; material ones unexplained.
  | 'explainer_approval'
  | 'exceptions_unexplained'
  // exception-gate.ts: the checkpoint requires the preparer's certification, and it is missing or superseded.
  | 'not_certified';

export interface ChainLevel {
  level: number;
  /** The role this level stands for. */
  role: string;
  /** Roles whose holders may sign this level without escalation. */
  acceptsRoles: string[];
  /** That role's limit ("unlimited" or a decimal string); null when limits do not apply to this checkpoint. */
  limit: string | null;
}

export type ChainResult =
  | {
      ok: true;
      /** The effective mode: a chain checkpoint at or below materiality needs one approver ('single'). */
      mode: 'chain' | 'single';
      limitsApply: boolean;
      levels: ChainLevel[];
      /** Why these levels, in words, for the audit trail. */
      basis: string;
    }
  | {
      ok: false;
      reason: 'unknown_checkpoint' | 'amount_required' | 'invalid_amount' | 'no_role_covers_amount';
      message: string;
    };

export interface Signature {
  /** Who acted. */
  approverId: string;
  /** Whose authority was used, when acting under a delegation ("approverId on behalf of onBehalfOf"). */
  onBehalfOf?: string;
  role: string;
  viaEscalation: boolean;
  decision: 'approved' | 'rejected';
  at: string;
  nonce: string;
  comments?: string;
  evidence: EvidenceRef[];
  resolution?: string;
}

export interface LevelState extends ChainLevel {
  signature?: Signature;
}

export interface Submission {
  preparerId: string;
  amount?: string;
  currency?: string;
  /** The business key of the item (e.g. a journal entry number). */
  itemRef?: string;
  description?: string;
  evidence: EvidenceRef[];
  resolution?: string;
}

export interface EscalationState {
  /** How many roles of the escalation path have been added (0 = none yet). */
  level: number;
  escalatedTo: string[];
  /** Steps of escalationPlan() already applied to this round. */
  stepsApplied: number;
  reminders: { at: string; escalationLevel: number; roles: string[] }[];
  deadlockedAt?: string;
}

export type CheckpointStatusName = 'open' | 'approved' | 'rejected' | 'deadlocked';

export interface RoundState {
  round: number;
  status: CheckpointStatusName;
  openedAt: string;
  closedAt?: string;
  submission: Submission;
  mode: 'chain' | 'single';
  limitsApply: boolean;
  basis: string;
  levels: LevelState[];
  escalation: EscalationState;
}

export interface AuditEntry {
  at: string;
  round: number;
  event: 'submitted' | 'decision' | 'reminder' | 'escalated' | 'deadlocked';
  /** The preparer, the approver (as claimed, when refused) or "system" for timer events. */
  actor: string;
  onBehalfOf?: string;
  decision?: 'approved' | 'rejected';
  level?: number;
  role?: string;
  nonce?: string;
  outcome?: 'accepted' | 'refused';
  reason?: RefusalCode;
  message: string;
}

/** The whole state of one checkpoint: JSON-safe, kept by the workflow, shown by its status query. */
export interface CheckpointState {
  checkpointId: string;
  itemType: string;
  /** Status of the current (last) round. */
  status: CheckpointStatusName;
  rounds: RoundState[];
  /** Nonces of every verified decision seen, accepted or refused: a signed decision counts at most once. */
  nonces: { nonce: string; round: number; approverId: string; accepted: boolean }[];
  audit: AuditEntry[];
}

export type DecisionResult =
  | {
      accepted: true;
      /** level_signed: a chain level is signed and the next one is open. */
      outcome: 'level_signed' | 'approved' | 'rejected';
      level: number;
      signature: Signature;
      message: string;
      newState: CheckpointState;
    }
  | { accepted: false; reason: RefusalCode; message: string; newState: CheckpointState };

export type SubmissionRefusal =
  | 'unknown_checkpoint'
  | 'invalid_submission'
  | 'unknown_preparer'
  | 'preparer_not_allowed'
  | 'amount_required'
  | 'invalid_amount'
  | 'no_role_covers_amount'
  | 'not_resubmittable';

export type SubmissionResult =
  { ok: true; state: CheckpointState } | { ok: false; reason: SubmissionRefusal; message: string };

/** A misuse of the rules by their caller (a state from another policy, a malformed clock value): a bug. */
export class ApprovalRuleError extends Error {
  override name = 'ApprovalRuleError';
}

/** Kept as written ("75000.00" stays so for display); checked to be an exact decimal. */
const Amount = z.string().refine((v) => {
  try {
    parseDecimal(v);
    return true;
  } catch {
    return false;
  }
}, 'must be a decimal amount as a string, such as "75000.00"');

export const SubmissionSchema = z.strictObject({
  preparerId: z.string().min(1),
  amount: Amount.optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
    .optional(),
  itemRef: z.string().min(1).max(256).optional(),
  description: z.string().max(4000).optional(),
  evidence: z.array(EvidenceRefSchema).max(50).default([]),
  resolution: z.string().max(4000).optional(),
});
export type SubmissionInput = z.input<typeof SubmissionSchema>;

// ---------------------------------------------------------------- helpers

function instant(iso: string, what: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new ApprovalRuleError(`${what} is not an ISO instant: ${JSON.stringify(iso)}`);
  return ms;
}

/** States are plain JSON, so a JSON round trip is a faithful deep copy (and would expose a non-JSON value). */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

const blank = (s: string | undefined): boolean => s === undefined || s.trim() === '';

function checkpointOf(policy: ApprovalPolicy, state: CheckpointState): Checkpoint {
  const cp = findCheckpoint(policy, state.checkpointId);
  if (!cp) throw new ApprovalRuleError(`checkpoint ${state.checkpointId} is not in the approval policy given`);
  return cp;
}

export function currentRound(state: CheckpointState): RoundState {
  return state.rounds[state.rounds.length - 1];
}

/** The first unsigned level of the current round, when the round is open. */
export function openLevel(state: CheckpointState): LevelState | undefined {
  const round = currentRound(state);
  return round.status === 'open' ? round.levels.find((l) => !l.signature) : undefined;
}

/** "bob on behalf of alice" or "bob". */
export function describeSigner(s: Pick<Signature, 'approverId' | 'onBehalfOf'>): string {
  return s.onBehalfOf ? `${s.approverId} on behalf of ${s.onBehalfOf}` : s.approverId;
}

const covers = (limit: Dec | 'unlimited', amount: Dec): boolean => limit === 'unlimited' || limit.gte(amount);

// ---------------------------------------------------------------- the chain

/** The levels an item of `amount` needs at `checkpoint` (an id or the checkpoint itself). */
export function requiredChain(policy: ApprovalPolicy, checkpoint: Checkpoint | string, amount?: string): ChainResult {
  const cp = typeof checkpoint === 'string' ? findCheckpoint(policy, checkpoint) : checkpoint;
  if (!cp)
    return { ok: false, reason: 'unknown_checkpoint', message: `no checkpoint ${String(checkpoint)} in the policy` };
  const roles = cp.required_roles;
  const limits = new Map(roles.map((r) => [r, roleLimit(policy, r, cp.item_type)]));
  const limitsApply = roles.every((r) => limits.get(r) !== undefined);

  if (!limitsApply) {
    if (cp.mode === 'single')
      return {
        ok: true,
        mode: 'single',
        limitsApply,
        levels: [{ level: 1, role: roles[0], acceptsRoles: [...roles], limit: null }],
        basis: `one approver holding ${roles.join(' or ')}; ${cp.item_type} has no approval limits`,
      };
    return {
      ok: true,
      mode: 'chain',
      limitsApply,
      levels: roles.map((role, i) => ({ level: i + 1, role, acceptsRoles: [role], limit: null })),
      basis: `every level in order: ${roles.join(' -> ')}; ${cp.item_type} has no approval limits`,
    };
  }

  if (amount === undefined)
    return {
      ok: false,
      reason: 'amount_required',
      message: `checkpoint ${cp.id}: ${cp.item_type} approvals are bound by limits, so the item needs an amount`,
    };
  let abs: Dec;
  try {
    abs = parseDecimal(amount).abs();
  } catch {
    return { ok: false, reason: 'invalid_amount', message: `amount ${JSON.stringify(amount)} is not a decimal string` };
  }

  const limitOf = (r: string): Dec | 'unlimited' => limits.get(r)!;
  const rank = (r: string): Dec => {
    const l = limitOf(r);
    return l === 'unlimited' ? new Dec(Infinity) : l;
  };
  const sorted = [...roles].sort((a, b) => rank(a).comparedTo(rank(b)));
  const limitText = (r: string): string => {
    const l = limitOf(r);
    return l === 'unlimited' ? l : l.toFixed();
  };
  const show = (r: string): string => `${r} ${limitText(r)}`;
  const k = sorted.findIndex((r) => covers(limitOf(r), abs));
  if (k < 0)
    return {
      ok: false,
      reason: 'no_role_covers_amount',
      message: `checkpoint ${cp.id}: ${abs.toFixed()} exceeds every approval limit for ${cp.item_type} (${sorted.map(show).join(', ')})`,
    };
  const covering = sorted.slice(k);

  const materiality = cp.materiality_threshold === undefined ? undefined : new Dec(cp.materiality_threshold);
  if (cp.mode === 'single' || (materiality !== undefined && abs.lte(materiality)))
    return {
      ok: true,
      mode: 'single',
      limitsApply,
      levels: [{ level: 1, role: sorted[k], acceptsRoles: covering, limit: limitText(sorted[k]) }],
      basis:
        (cp.mode === 'single'
          ? 'one approver'
          : `${abs.toFixed()} is within materiality ${materiality!.toFixed()}: one approver`) +
        ` whose limit covers ${abs.toFixed()}: ${covering.join(' or ')}`,
    };
  return {
    ok: true,
    mode: 'chain',
    limitsApply,
    levels: sorted.slice(0, k + 1).map((role, i) => ({
      level: i + 1,
      role,
      acceptsRoles: i === k ? covering : [role],
      limit: limitText(role),
    })),
    basis: `every level up to the first limit covering ${abs.toFixed()}: ${sorted
      .slice(0, k + 1)
      .map(show)
      .join(' -> ')}`,
  };
}

// ---------------------------------------------------------------- submission and rounds

function newRound(
  policy: ApprovalPolicy,
  cp: Checkpoint,
  input: SubmissionInput,
  roundNo: number,
  nowIso: string,
): { ok: true; round: RoundState } | { ok: false; reason: SubmissionRefusal; message: string } {
  instant(nowIso, 'now');
  const parsed = SubmissionSchema.safeParse(input);
  if (!parsed.success)
    return {
      ok: false,
      reason: 'invalid_submission',
      message: parsed.error.issues.map((i) => `${i.path.join('.') || 'submission'}: ${i.message}`).join('; '),
    };
  const submission: Submission = parsed.data;
  const preparer = findUser(policy, submission.preparerId);
  if (!preparer)
    return {
      ok: false,
      reason: 'unknown_preparer',
      message: `preparer ${submission.preparerId} is not in the user directory`,
    };
  const mayPrepare = preparer.roles.some((r) =>
    policy.roles.find((x) => x.name === r)?.can_prepare.includes(cp.item_type),
  );
  if (!mayPrepare)
    return {
      ok: false,
      reason: 'preparer_not_allowed',
      message: `${preparer.userId} (${preparer.roles.join(', ') || 'no roles'}) may not prepare ${cp.item_type}`,
    };
  const chain = requiredChain(policy, cp, submission.amount);
  if (!chain.ok) return chain;
  return {
    ok: true,
    round: {
      round: roundNo,
      status: 'open',
      openedAt: nowIso,
      submission,
      mode: chain.mode,
      limitsApply: chain.limitsApply,
      basis: chain.basis,
      levels: chain.levels,
      escalation: { level: 0, escalatedTo: [], stepsApplied: 0, reminders: [] },
    },
  };
}

function submittedEntry(round: RoundState, nowIso: string, resubmitted: boolean): AuditEntry {
  const s = round.submission;
  return {
    at: nowIso,
    round: round.round,
    event: 'submitted',
    actor: s.preparerId,
    outcome: 'accepted',
    message:
      `${resubmitted ? 'resubmitted' : 'submitted'} by ${s.preparerId}` +
      (s.amount !== undefined ? ` for ${s.amount}${s.currency ? ` ${s.currency}` : ''}` : '') +
      `; needs ${round.levels.map((l) => l.role).join(' -> ')} (${round.basis})`,
  };
}

/** Opens round 1 of a checkpoint for an item submitted by its preparer. */
export function openCheckpoint(
  policy: ApprovalPolicy,
  checkpointId: string,
  submission: SubmissionInput,
  nowIso: string,
): SubmissionResult {
  const cp = findCheckpoint(policy, checkpointId);
  if (!cp) return { ok: false, reason: 'unknown_checkpoint', message: `no checkpoint ${checkpointId} in the policy` };
  const r = newRound(policy, cp, submission, 1, nowIso);
  if (!r.ok) return r;
  return {
    ok: true,
    state: {
      checkpointId: cp.id,
      itemType: cp.item_type,
      status: 'open',
      rounds: [r.round],
      nonces: [],
      audit: [submittedEntry(r.round, nowIso, false)],
    },
  };
}

/**
 * After a rejection (or a deadlock the owner resolved), the preparer sends the item again, possibly with a new
 * amount or evidence: round n+1 opens with a chain computed afresh; earlier rounds stay as they were.
 */
export function resubmit(
  policy: ApprovalPolicy,
  state: CheckpointState,
  submission: SubmissionInput,
  nowIso: string,
): SubmissionResult {
  const cp = checkpointOf(policy, state);
  if (state.status !== 'rejected' && state.status !== 'deadlocked')
    return {
      ok: false,
      reason: 'not_resubmittable',
      message: `checkpoint ${state.checkpointId} round ${currentRound(state).round} is ${state.status}; only a rejected or deadlocked round can be resubmitted`,
    };
  const r = newRound(policy, cp, submission, currentRound(state).round + 1, nowIso);
  if (!r.ok) return r;
  const next = clone(state);
  next.rounds.push(r.round);
  next.status = 'open';
  next.audit.push(submittedEntry(r.round, nowIso, true));
  return { ok: true, state: next };
}

// ---------------------------------------------------------------- who may sign

interface Authority {
  role: string;
  /** Whose authority: the actor, or the user who delegated to them. */
  principal: string;
  delegated: boolean;
}

type Fit =
  | { ok: true; viaEscalation: boolean }
  | { ok: false; reason: 'wrong_role' | 'over_limit' | 'level_not_open'; message: string };

/** The user's own roles, and those delegated to them now whose scope covers the item (delegation.ts). */
function authoritiesOf(
  policy: ApprovalPolicy,
  userId: string,
  nowMs: number,
  item: { itemType: string; amount?: string },
): Authority[] {
  const own = findUser(policy, userId)!.roles.map((role) => ({ role, principal: userId, delegated: false }));
  const delegated = policy.delegations
    .filter((d) => d.to === userId && delegationActive(d, nowMs) && delegationCovers(d, item))
    .flatMap((d) =>
      (d.role ? [d.role] : findUser(policy, d.from)!.roles).map((role) => ({
        role,
        principal: d.from,
        delegated: true,
      })),
    );
  return [...own, ...delegated];
}

/** Whether `role` may sign `level` of `round` now, and if not, the most telling reason. */
function fit(policy: ApprovalPolicy, cp: Checkpoint, round: RoundState, level: LevelState, role: string): Fit {
  if (level.acceptsRoles.includes(role)) return { ok: true, viaEscalation: false };
  const last = level.level === round.levels.length;
  // What this level stands for: the amount at the last level, the level role's own limit below it.
  const need = last ? parseDecimal(round.submission.amount ?? '0').abs() : new Dec(level.limit ?? '0');
  const limit = roleLimit(policy, role, cp.item_type);
  const enough = !round.limitsApply || (limit !== undefined && covers(limit, need));
  // Only shown when the limit falls short, so never "unlimited"; a Dec prints in plain notation (see money.ts).
  const limitText = `${role}'s limit for ${cp.item_type} is ${String(limit ?? 'none')}`;
  if (round.escalation.escalatedTo.includes(role)) {
    if (enough) return { ok: true, viaEscalation: true };
    return {
      ok: false,
      reason: 'over_limit',
      message: `${limitText}, below the ${need.toFixed()} level ${level.level} needs`,
    };
  }
  const other = round.levels.find((l) => l.level !== level.level && l.acceptsRoles.includes(role));
  if (other)
    return {
      ok: false,
      reason: 'level_not_open',
      message: `${role} signs level ${other.level}, which ${other.signature ? 'is already signed' : 'is not open yet'}; level ${level.level} (${level.role}) is open`,
    };
  if (round.limitsApply && cp.required_roles.includes(role))
    return { ok: false, reason: 'over_limit', message: `${limitText}, below the ${need.toFixed()} this item needs` };
  return {
    ok: false,
    reason: 'wrong_role',
    message: `role ${role} may not sign level ${level.level} of ${cp.id} (accepted: ${[...level.acceptsRoles, ...round.escalation.escalatedTo].join(', ')})`,
  };
}

/** Delegations to `userId` that are not in force now: the likely reason an expected approval is refused. */
function delegationNote(policy: ApprovalPolicy, userId: string, nowMs: number): string {
  const idle = policy.delegations.filter((d) => d.to === userId && !delegationActive(d, nowMs));
  if (idle.length === 0) return '';
  const when = (d: (typeof idle)[number]): string => {
    const w = delegationWindow(d);
    return `from ${d.from} ${d.from_date}..${d.to_date}${nowMs < w.startMs ? ' (not started)' : ' (ended)'}`;
  };
  return `; delegation ${idle.map(when).join(', ')} is not in force`;
}

const FAILURE_RANK = { level_not_open: 0, over_limit: 1, wrong_role: 2 } as const;

function signedBy(round: RoundState, userId: string): LevelState | undefined {
  return round.levels.find(
    (l) => l.signature && (l.signature.approverId === userId || l.signature.onBehalfOf === userId),
  );
}

export interface EligibleApprover {
  userId: string;
  role: string;
  onBehalfOf?: string;
  viaEscalation: boolean;
}

/** Who could sign the open level right now (for notifications); empty when no level is open. */
export function eligibleApprovers(
  policy: ApprovalPolicy,
  state: CheckpointState,
  nowIso: string,
): { level?: number; roles: string[]; users: EligibleApprover[] } {
  const nowMs = instant(nowIso, 'now');
  const cp = checkpointOf(policy, state);
  const round = currentRound(state);
  const level = openLevel(state);
  if (!level) return { roles: [], users: [] };
  const roles = [
    ...level.acceptsRoles,
    ...round.escalation.escalatedTo.filter(
      (r) => !level.acceptsRoles.includes(r) && fit(policy, cp, round, level, r).ok,
    ),
  ];
  const excluded = (id: string): boolean => id === round.submission.preparerId || signedBy(round, id) !== undefined;
  const users: EligibleApprover[] = [];
  for (const u of policy.users) {
    if (excluded(u.userId)) continue;
    for (const a of authoritiesOf(policy, u.userId, nowMs, {
      itemType: cp.item_type,
      amount: round.submission.amount,
    })) {
      if (excluded(a.principal)) continue;
      const f = fit(policy, cp, round, level, a.role);
      if (!f.ok) continue;
      users.push({
        userId: u.userId,
        role: a.role,
        viaEscalation: f.viaEscalation,
        ...(a.delegated ? { onBehalfOf: a.principal } : {}),
      });
      break;
    }
  }
  return { level: level.level, roles, users };
}

// ---------------------------------------------------------------- decisions

/**
 * Evaluates one decision against the checkpoint. Refusals are answers, not exceptions: both outcomes return
 * the new state, whose audit trail records the attempt with who, when, and why.
 */
export function evaluateDecision(
  policy: ApprovalPolicy,
  state: CheckpointState,
  attempt: DecisionAttempt,
  nowIso: string,
): DecisionResult {
  const nowMs = instant(nowIso, 'now');
  const cp = checkpointOf(policy, state);
  const next = clone(state);
  const round = currentRound(next);
  const verified = attempt.signature.status === 'verified';
  const base = {
    at: nowIso,
    round: round.round,
    event: 'decision' as const,
    actor: attempt.approverId,
    decision: attempt.decision,
    ...(attempt.onBehalfOf ? { onBehalfOf: attempt.onBehalfOf } : {}),
    ...(attempt.level !== undefined ? { level: attempt.level } : {}),
    ...(attempt.nonce ? { nonce: attempt.nonce } : {}),
  };

  const refuse = (reason: RefusalCode, message: string): DecisionResult => {
    // Only a verified nonce is remembered: an unsigned attempt could otherwise burn a legitimate token's nonce.
    if (verified && !next.nonces.some((n) => n.nonce === attempt.nonce))
      next.nonces.push({ nonce: attempt.nonce, round: round.round, approverId: attempt.approverId, accepted: false });
    next.audit.push({ ...base, outcome: 'refused', reason, message });
    return { accepted: false, reason, message, newState: next };
  };

  if (attempt.signature.status === 'failed') {
    const s = attempt.signature;
    return refuse(
      s.reason === 'expired' ? 'expired' : 'unsigned',
      `signature not accepted (${s.reason}): ${s.message}`,
    );
  }
  if (attempt.expiresAt !== undefined && instant(attempt.expiresAt, 'expiresAt') <= nowMs)
    return refuse('expired', `the signed decision expired at ${attempt.expiresAt}`);
  const seen = next.nonces.find((n) => n.nonce === attempt.nonce);
  if (seen) {
    if (seen.accepted && seen.approverId === attempt.approverId && seen.round === attempt.round)
      return refuse('duplicate', `this decision (nonce ${attempt.nonce}) was already counted in round ${seen.round}`);
    return refuse(
      'replay',
      `nonce ${attempt.nonce} was already used (round ${seen.round}); a signed decision counts once`,
    );
  }
  if (!findUser(policy, attempt.approverId))
    return refuse('unknown_approver', `${attempt.approverId} is not in the user directory`);
  if (attempt.checkpointId !== next.checkpointId)
    return refuse(
      'checkpoint_not_open',
      `the decision is for checkpoint ${attempt.checkpointId}, not ${next.checkpointId}`,
    );
  if (next.status !== 'open')
    return refuse('checkpoint_not_open', `checkpoint ${next.checkpointId} round ${round.round} is ${next.status}`);
  if (attempt.round !== round.round)
    return refuse(
      'checkpoint_not_open',
      `the decision is for round ${attempt.round}, but round ${round.round} is open`,
    );

  const level = round.levels.find((l) => !l.signature)!;
  const actor = attempt.approverId;
  const mine = signedBy(round, actor);
  if (attempt.level !== undefined && attempt.level !== level.level) {
    const target = round.levels.find((l) => l.level === attempt.level);
    if (target && target === mine)
      return refuse('duplicate', `${actor} already signed level ${target.level} of round ${round.round}`);
    return refuse(
      'level_not_open',
      `level ${attempt.level} is not open; level ${level.level} (${level.role}) of ${round.levels.length} is`,
    );
  }
  if (actor === round.submission.preparerId)
    return refuse('self_approval', `${actor} prepared this item and may not decide on it (segregation of duties)`);

  let authorities = authoritiesOf(policy, actor, nowMs, { itemType: cp.item_type, amount: round.submission.amount });
  const principal = attempt.onBehalfOf;
  if (principal !== undefined) {
    authorities = authorities.filter((a) => a.principal === principal);
    if (authorities.length === 0 && principal !== actor)
      return refuse(
        'wrong_role',
        `no delegation from ${principal} to ${actor} is in force at ${nowIso}${delegationNote(policy, actor, nowMs)}`,
      );
  }
  if (mine) {
    // Signing again with a fresh nonce: re-approving one's own level is a duplicate; reaching for another
    // level is one person signing two levels of one chain.
    const reaches = authorities.some((a) => fit(policy, cp, round, level, a.role).ok);
    if (!reaches) return refuse('duplicate', `${actor} already signed level ${mine.level} of round ${round.round}`);
    return refuse(
      'self_approval',
      `${actor} already signed level ${mine.level}; one person may sign one level of a chain`,
    );
  }
  const sodOk = authorities.filter((a) => a.principal !== round.submission.preparerId && !signedBy(round, a.principal));
  if (sodOk.length < authorities.length && sodOk.length === 0) {
    const a = authorities[0];
    return refuse(
      'self_approval',
      a.principal === round.submission.preparerId
        ? `${actor} acts for ${a.principal}, who prepared this item (segregation of duties)`
        : `${actor} acts for ${a.principal}, who already signed level ${signedBy(round, a.principal)!.level} of this chain`,
    );
  }
  if (sodOk.length === 0)
    return refuse(
      'wrong_role',
      `${actor} holds no role and no delegation in force at ${nowIso}${delegationNote(policy, actor, nowMs)}`,
    );

  let chosen: { authority: Authority; viaEscalation: boolean } | undefined;
  let failure: { reason: 'wrong_role' | 'over_limit' | 'level_not_open'; message: string } | undefined;
  for (const a of sodOk) {
    const f = fit(policy, cp, round, level, a.role);
    if (f.ok) {
      chosen = { authority: a, viaEscalation: f.viaEscalation };
      break;
    }
    if (!failure || FAILURE_RANK[f.reason] < FAILURE_RANK[failure.reason]) failure = f;
  }
  if (!chosen)
    return refuse(
      failure!.reason,
      `${actor}: ${failure!.message}${failure!.reason === 'wrong_role' ? delegationNote(policy, actor, nowMs) : ''}`,
    );

  if (attempt.decision === 'approved') {
    const evidence = [
      ...round.submission.evidence,
      ...round.levels.flatMap((l) => l.signature?.evidence ?? []),
      ...attempt.evidence,
    ];
    const req = cp.evidence_required;
    if (req === true && evidence.length === 0)
      return refuse('evidence_missing', `checkpoint ${cp.id} needs evidence; none was attached`);
    if (Array.isArray(req)) {
      const missing = req.filter((kind) => !evidence.some((e) => e.kind === kind));
      if (missing.length)
        return refuse('evidence_missing', `checkpoint ${cp.id} needs evidence of kind ${missing.join(', ')}`);
    }
    const resolutions = [
      round.submission.resolution,
      ...round.levels.map((l) => l.signature?.resolution),
      attempt.resolution,
    ];
    if (cp.resolution_required && resolutions.every(blank))
      return refuse(
        'resolution_missing',
        `checkpoint ${cp.id} needs a resolution stating how the exceptions were resolved`,
      );
  } else if (blank(attempt.comments)) {
    return refuse('comments_missing', 'a rejection must say why, so the preparer can fix the item');
  }

  const { authority } = chosen;
  const signature: Signature = {
    approverId: actor,
    ...(authority.delegated ? { onBehalfOf: authority.principal } : {}),
    role: authority.role,
    viaEscalation: chosen.viaEscalation,
    decision: attempt.decision,
    at: nowIso,
    nonce: attempt.nonce,
    ...(attempt.comments !== undefined ? { comments: attempt.comments } : {}),
    evidence: attempt.evidence,
    ...(attempt.resolution !== undefined ? { resolution: attempt.resolution } : {}),
  };
  level.signature = signature;
  const last = level.level === round.levels.length;
  const outcome = attempt.decision === 'rejected' ? 'rejected' : last ? 'approved' : 'level_signed';
  if (outcome !== 'level_signed') {
    round.status = outcome;
    round.closedAt = nowIso;
    next.status = outcome;
  }
  const who = `${describeSigner(signature)} (${authority.role}${chosen.viaEscalation ? ', by escalation' : ''})`;
  const message =
    outcome === 'rejected'
      ? `${who} rejected round ${round.round} at level ${level.level}; the item goes back to ${round.submission.preparerId}`
      : `${who} approved level ${level.level} of ${round.levels.length}` +
        (outcome === 'approved' ? `; round ${round.round} is approved` : `; level ${level.level + 1} is open`);
  next.nonces.push({ nonce: attempt.nonce, round: round.round, approverId: actor, accepted: true });
  next.audit.push({
    ...base,
    level: level.level,
    role: authority.role,
    ...(authority.delegated ? { onBehalfOf: authority.principal } : {}),
    outcome: 'accepted',
    message,
  });
  return { accepted: true, outcome, level: level.level, signature, message, newState: next };
}

// ---------------------------------------------------------------- escalation

export interface EscalationStep {
  /** Position in the plan (the round's escalation.stepsApplied when it is next). */
  index: number;
  kind: 'reminder' | 'escalate' | 'deadlock';
  /** Milliseconds after the round opened. */
  afterMs: number;
  /** Escalation level once the step is applied. */
  escalationLevel: number;
  toRole?: string;
}

/**
 * The timers of a round: before each timeout a reminder (at the timeout itself without reminder_before), at
 * each timeout an escalation to the next role of the path, and after the last one a deadlock. With timeout 4h
 * and path [manager, director]: reminder 4h, manager 4h, reminder 8h, director 8h, reminder 12h, deadlock 12h.
 */
export function escalationPlan(checkpoint: Checkpoint): EscalationStep[] {
  const timeout = parseDuration(checkpoint.escalation.timeout);
  const early =
    checkpoint.escalation.reminder_before === undefined ? 0 : parseDuration(checkpoint.escalation.reminder_before);
  const path = checkpoint.escalation.escalation_path;
  const steps: EscalationStep[] = [];
  for (let i = 0; i <= path.length; i++) {
    const at = (i + 1) * timeout;
    steps.push({ index: steps.length, kind: 'reminder', afterMs: at - early, escalationLevel: i });
    steps.push(
      i < path.length
        ? { index: steps.length, kind: 'escalate', afterMs: at, escalationLevel: i + 1, toRole: path[i] }
        : { index: steps.length, kind: 'deadlock', afterMs: at, escalationLevel: i },
    );
  }
  return steps;
}

/** The next timer of the open round, with its due instant; undefined when the round is not open. */
export function nextEscalationStep(
  policy: ApprovalPolicy,
  state: CheckpointState,
): (EscalationStep & { dueAt: string }) | undefined {
  const round = currentRound(state);
  if (state.status !== 'open') return undefined;
  const step = escalationPlan(checkpointOf(policy, state))[round.escalation.stepsApplied];
  return { ...step, dueAt: new Date(instant(round.openedAt, 'openedAt') + step.afterMs).toISOString() };
}

export interface EscalationOutcome {
  state: CheckpointState;
  step: EscalationStep;
  /** Whom to notify: the users who can sign now (reminder, escalation); nobody for a deadlock (tell the owner). */
  notify: { roles: string[]; users: EligibleApprover[] };
  message: string;
}

/** Applies the next step of the plan (the workflow calls it when that step's timer fires); undefined if none. */
export function applyEscalationStep(
  policy: ApprovalPolicy,
  state: CheckpointState,
  nowIso: string,
): EscalationOutcome | undefined {
  const step = nextEscalationStep(policy, state);
  if (!step) return undefined;
  const { dueAt: _dueAt, ...plain } = step;
  const next = clone(state);
  const round = currentRound(next);
  const esc = round.escalation;
  esc.stepsApplied += 1;
  let message: string;
  if (step.kind === 'escalate') {
    esc.level = step.escalationLevel;
    esc.escalatedTo.push(step.toRole!);
    message = `no decision on ${next.checkpointId} round ${round.round}: escalated to ${step.toRole} (level ${esc.level})`;
  } else if (step.kind === 'deadlock') {
    round.status = 'deadlocked';
    round.closedAt = nowIso;
    esc.deadlockedAt = nowIso;
    next.status = 'deadlocked';
    const path = checkpointOf(policy, next).escalation.escalation_path;
    message =
      `no decision on ${next.checkpointId} round ${round.round} after escalating through ` +
      `${path.length ? path.join(' -> ') : 'no escalation path'}: deadlocked, the close owner must act`;
  } else {
    message = `reminder: ${next.checkpointId} round ${round.round} awaits level ${openLevel(next)!.level}`;
  }
  const notify = step.kind === 'deadlock' ? { roles: [], users: [] } : eligibleApprovers(policy, next, nowIso);
  if (step.kind === 'reminder') esc.reminders.push({ at: nowIso, escalationLevel: esc.level, roles: notify.roles });
  next.audit.push({
    at: nowIso,
    round: round.round,
    event: step.kind === 'escalate' ? 'escalated' : step.kind === 'deadlock' ? 'deadlocked' : 'reminder',
    actor: 'system',
    ...(step.kind === 'escalate' ? { role: step.toRole } : {}),
    message,
  });
  return { state: next, step: plain, notify: { roles: notify.roles, users: notify.users }, message };
}
