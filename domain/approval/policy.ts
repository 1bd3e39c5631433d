// The approval policy: who may prepare and approve what, up to which amount, at which checkpoint, and who stands
// in for whom. It is plain JSON (or YAML) validated here once; the rules in rules.ts then trust its shape.
// Cross-references are checked at load time because a checkpoint that nobody can approve, or an escalation
// to a role that does not exist, only shows itself hours later as a deadlocked close.
import { z } from 'zod';
import { normaliseKeys, type CasingResult } from '../casing';
import { Dec, parseDecimal } from '../money';
import { type DurationError, positiveDurationMs as parseDuration } from '../duration';

export { DurationError, formatDuration, positiveDurationMs as parseDuration } from '../duration';

/** Ids of roles, users, item types and checkpoints: no spaces, so they survive CLIs, URLs and workflow ids. */
const Id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@+-]*$/, 'must be a non-empty id of letters, digits and . _ : @ + -');

function decimalText(value: unknown, ctx: z.RefinementCtx<unknown>): string {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return String(value);
    ctx.addIssue({
      code: 'custom',
      message: `${value} is not a whole number: write decimal amounts as strings (e.g. "10000.50") so no float touches them`,
    });
    return '';
  }
  try {
    return parseDecimal(value as string).toFixed();
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `must be a decimal amount such as "10000" or "10000.00", got ${JSON.stringify(value)}`,
    });
    return '';
  }
}

/**
 * A decimal amount as a canonical string. A whole number from JSON/YAML is accepted (it is exact); a number with
 * a fraction is refused, because it has already been through a float.
 */
export const DecimalString = z.union([z.string(), z.number()]).transform(decimalText);

const NonNegativeDecimal = DecimalString.refine((v) => v === '' || !new Dec(v).isNegative(), 'must not be negative');

/** An approval limit: a non-negative decimal, or "unlimited" for a role whose authority has no ceiling. */
export const LimitSchema = z.union([z.string(), z.number()]).transform((value, ctx): 'unlimited' | string => {
  if (value === 'unlimited') return value;
  const text = decimalText(value, ctx);
  if (text !== '' && new Dec(text).isNegative()) ctx.addIssue({ code: 'custom', message: 'must not be negative' });
  return text;
});

export const DurationString = z.string().superRefine((value, ctx) => {
  try {
    parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as DurationError).message });
  }
});

/** A calendar date (a whole day, UTC) or an instant with an explicit offset; never a local time. */
const IsoDateOrInstant = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: 'must be an ISO date (2026-10-31) or an ISO instant with an offset (2026-10-31T17:00:00Z)',
});

export const RoleSchema = z.strictObject({
  name: Id,
  can_prepare: z.array(Id).default([]),
  can_approve: z.array(Id).default([]),
  /** Per item type. A role that approves an item type without a limit has no authority over amounts of it. */
  approval_limits: z.record(Id, LimitSchema).default({}),
});

export const UserSchema = z.strictObject({
  userId: Id,
  roles: z.array(Id).default([]),
  /** The line manager (a userId); kept for notifications, e.g. copying the manager on a reminder. */
  manager: Id.optional(),
  displayName: z.string().min(1).optional(),
  email: z.string().min(3).optional(),
});

export const EscalationSchema = z.strictObject({
  timeout: DurationString,
  escalation_path: z.array(Id).default([]),
  /** A heads-up before each timeout; without it the reminder goes out at the timeout itself. */
  reminder_before: DurationString.optional(),
});

export const CheckpointSchema = z.strictObject({
  id: Id,
  name: z.string().min(1).optional(),
  item_type: Id,
  required_roles: z.array(Id).min(1),
  /**
   * chain: delegation of authority, every level up to the first role whose limit covers the amount signs, in
   * order of limit. single: one approver whose role covers the amount is enough.
   */
  mode: z.enum(['chain', 'single']).default('chain'),
  escalation: EscalationSchema,
  /** true: at least one evidence reference; a list: one reference of each named kind. */
  evidence_required: z.union([z.boolean(), z.array(Id).min(1)]).default(false),
  resolution_required: z.boolean().default(false),
  /** chain mode only: at or below this amount a single covering approver is enough. */
  materiality_threshold: NonNegativeDecimal.optional(),
  /**
   * Certification of a reconciliation checkpoint: no approval counts while the reconciliations it approves have
   * unexplained exceptions whose amount is above this (strictly; "0" means every non-zero one).
   */
  exception_materiality: NonNegativeDecimal.optional(),
  /**
   * A reconciliation checkpoint whose approvals wait for each reconciliation's preparer to certify it complete
   * (signed, `finflow exceptions certify`); the certifier may not approve it (domain/approval/exception-gate.ts).
   */
  certification_required: z.boolean().optional(),
});

export const DelegationSchema = z.strictObject({
  from: Id,
  to: Id,
  /** Only this role of `from`; without it, every role `from` holds. */
  role: Id.optional(),
  from_date: IsoDateOrInstant,
  /** Inclusive: a date means through the end of that day (UTC). */
  to_date: IsoDateOrInstant,
  reason: z.string().optional(),
  /** Only items of this type, up to this amount (absolute), count under the delegation (delegation.ts). */
  scope: z
    .strictObject({
      item_type: Id,
      limit: NonNegativeDecimal.optional(),
    })
    .optional(),
});

const PolicyObject = z.strictObject({
  roles: z.array(RoleSchema).min(1),
  users: z.array(UserSchema),
  checkpoints: z.array(CheckpointSchema).default([]),
  delegations: z.array(DelegationSchema).default([]),
});

export const ApprovalPolicySchema = PolicyObject.superRefine(crossCheck);

export type Limit = z.output<typeof LimitSchema>;
export type Role = z.output<typeof RoleSchema>;
export type User = z.output<typeof UserSchema>;
export type Escalation = z.output<typeof EscalationSchema>;
export type Checkpoint = z.output<typeof CheckpointSchema>;
export type Delegation = z.output<typeof DelegationSchema>;
export type ApprovalPolicy = z.output<typeof ApprovalPolicySchema>;
/** What a policy file may contain (before defaults and normalisation). */
export type ApprovalPolicyInput = z.input<typeof ApprovalPolicySchema>;

export interface PolicyIssue {
  path: string;
  message: string;
}

export class ApprovalPolicyError extends Error {
  constructor(
    readonly source: string,
    readonly issues: PolicyIssue[],
  ) {
    super(`${source} is not a valid approval policy:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'ApprovalPolicyError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(root)';
}

/**
 * A policy as written (snake_case: `user_id`, `display_name`) in the internal spelling (`userId`), with the old
 * camelCase spellings found and any field given in both (domain/casing.ts). Identity on the internal spelling.
 */
export function normaliseApprovalPolicyKeys(input: unknown): CasingResult {
  return normaliseKeys(input, ApprovalPolicySchema);
}

/** Validates and normalises a policy; `source` (a file name) goes into every error message. */
export function parseApprovalPolicy(input: unknown, source = 'approval policy'): ApprovalPolicy {
  const keyed = normaliseApprovalPolicyKeys(input);
  if (keyed.conflicts.length) throw new ApprovalPolicyError(source, keyed.conflicts);
  const result = ApprovalPolicySchema.safeParse(keyed.value);
  if (result.success) return result.data;
  throw new ApprovalPolicyError(
    source,
    result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
  );
}

/** The policy before cross-reference checks (same shape as ApprovalPolicy). */
type PolicyShape = z.output<typeof PolicyObject>;
type Ctx = z.RefinementCtx<PolicyShape>;

function duplicates<T>(items: T[], key: (t: T) => string): Map<string, number[]> {
  const at = new Map<string, number[]>();
  items.forEach((item, i) => at.set(key(item), [...(at.get(key(item)) ?? []), i]));
  return new Map([...at].filter(([, idx]) => idx.length > 1));
}

function crossCheck(p: PolicyShape, ctx: Ctx): void {
  const issue = (path: PropertyKey[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
  const roles = new Map(p.roles.map((r) => [r.name, r]));
  const users = new Map(p.users.map((u) => [u.userId, u]));

  for (const [name, idx] of duplicates(p.roles, (r) => r.name))
    issue(['roles', idx[1], 'name'], `role ${name} is defined ${idx.length} times`);
  p.roles.forEach((r, i) => {
    for (const itemType of Object.keys(r.approval_limits))
      if (!r.can_approve.includes(itemType))
        issue(
          ['roles', i, 'approval_limits', itemType],
          `role ${r.name} has a limit for ${itemType} but cannot approve ${itemType} (add it to can_approve)`,
        );
  });

  for (const [id, idx] of duplicates(p.users, (u) => u.userId))
    issue(['users', idx[1], 'userId'], `user ${id} is listed ${idx.length} times`);
  p.users.forEach((u, i) => {
    u.roles.forEach((role, j) => {
      if (!roles.has(role)) issue(['users', i, 'roles', j], `user ${u.userId} has role ${role}, which is not defined`);
    });
    if (u.manager === undefined) return;
    if (!users.has(u.manager))
      issue(['users', i, 'manager'], `manager ${u.manager} of ${u.userId} is not in the directory`);
    // A cycle of managers would send a "copy the manager" notification round forever.
    const seen = new Set([u.userId]);
    for (let m: string | undefined = u.manager; m !== undefined; m = users.get(m)?.manager) {
      if (seen.has(m)) {
        issue(['users', i, 'manager'], `the manager chain of ${u.userId} loops back to ${m}`);
        break;
      }
      seen.add(m);
    }
  });

  for (const [id, idx] of duplicates(p.checkpoints, (c) => c.id))
    issue(['checkpoints', idx[1], 'id'], `checkpoint ${id} is defined ${idx.length} times`);
  p.checkpoints.forEach((c, i) => checkCheckpoint(p, roles, c, ['checkpoints', i], issue));

  p.delegations.forEach((d, i) => {
    const at = ['delegations', i];
    const from = users.get(d.from);
    if (!from) issue([...at, 'from'], `delegating user ${d.from} is not in the directory`);
    if (!users.has(d.to)) issue([...at, 'to'], `delegate ${d.to} is not in the directory`);
    if (d.from === d.to) issue([...at, 'to'], `${d.from} cannot delegate to themselves`);
    if (d.role !== undefined && from && !from.roles.includes(d.role))
      issue([...at, 'role'], `${d.from} does not hold role ${d.role}, so cannot delegate it`);
    const w = delegationWindow(d);
    if (w.endMs <= w.startMs) issue([...at, 'to_date'], `to_date ${d.to_date} is before from_date ${d.from_date}`);
  });
}

function checkCheckpoint(
  p: PolicyShape,
  roles: Map<string, Role>,
  c: Checkpoint,
  at: PropertyKey[],
  issue: (path: PropertyKey[], message: string) => void,
): void {
  const where = `checkpoint ${c.id}`;
  const approves = (roleName: string, path: PropertyKey[]): boolean => {
    const role = roles.get(roleName);
    if (!role) issue(path, `${where} names role ${roleName}, which is not defined`);
    else if (!role.can_approve.includes(c.item_type))
      issue(path, `${where}: role ${roleName} cannot approve ${c.item_type} (its can_approve lacks it)`);
    else return true;
    return false;
  };
  for (const [name] of duplicates(c.required_roles, (r) => r))
    issue([...at, 'required_roles'], `${where} lists role ${name} more than once`);
  const valid = c.required_roles.filter((r, j) => approves(r, [...at, 'required_roles', j]));
  c.escalation.escalation_path.forEach((r, j) => approves(r, [...at, 'escalation', 'escalation_path', j]));
  for (const r of valid)
    if (!p.users.some((u) => u.roles.includes(r)))
      issue([...at, 'required_roles'], `${where} needs role ${r}, but no user in the directory holds it`);

  const { timeout, reminder_before } = c.escalation;
  if (reminder_before !== undefined && parseDuration(reminder_before) >= parseDuration(timeout))
    issue(
      [...at, 'escalation', 'reminder_before'],
      `${where}: reminder_before (${reminder_before}) must be shorter than the timeout (${timeout})`,
    );

  const limited = valid.filter((r) => roles.get(r)!.approval_limits[c.item_type] !== undefined);
  if (limited.length > 0 && limited.length < valid.length)
    issue(
      [...at, 'required_roles'],
      `${where}: roles ${valid.filter((r) => !limited.includes(r)).join(', ')} have no approval limit for ` +
        `${c.item_type} while ${limited.join(', ')} do; give every required role a limit (or "unlimited") or none`,
    );
  if (limited.length === valid.length && limited.length > 0) {
    // Two roles with the same limit make "the next level up" ambiguous.
    for (const [limit, idx] of duplicates(limited, (r) => String(roles.get(r)!.approval_limits[c.item_type])))
      if (c.mode === 'chain')
        issue(
          [...at, 'required_roles'],
          `${where}: roles ${idx.map((k) => limited[k]).join(' and ')} share the limit ${limit}, so the chain order is ambiguous`,
        );
  }
  if (c.materiality_threshold !== undefined && (c.mode !== 'chain' || limited.length === 0))
    issue(
      [...at, 'materiality_threshold'],
      `${where}: a materiality threshold applies only to a chain checkpoint whose roles have approval limits`,
    );
}

// ---- lookups used by the rules; they assume a policy that parseApprovalPolicy accepted ----

export function findCheckpoint(policy: ApprovalPolicy, checkpointId: string): Checkpoint | undefined {
  return policy.checkpoints.find((c) => c.id === checkpointId);
}

export function findUser(policy: ApprovalPolicy, userId: string): User | undefined {
  return policy.users.find((u) => u.userId === userId);
}

export function findRole(policy: ApprovalPolicy, name: string): Role | undefined {
  return policy.roles.find((r) => r.name === name);
}

/** The limit of `role` for `itemType`: a Dec, 'unlimited', or undefined when the role has no amount authority. */
export function roleLimit(policy: ApprovalPolicy, role: string, itemType: string): Dec | 'unlimited' | undefined {
  const limit = findRole(policy, role)?.approval_limits[itemType];
  return limit === undefined || limit === 'unlimited' ? limit : new Dec(limit);
}

const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** [startMs, endMs) of a delegation; a date-only to_date runs through the end of that UTC day. */
export function delegationWindow(d: Pick<Delegation, 'from_date' | 'to_date'>): { startMs: number; endMs: number } {
  const startMs = Date.parse(d.from_date);
  const endMs = Date.parse(d.to_date) + (DATE_ONLY.test(d.to_date) ? DAY_MS : 1);
  return { startMs, endMs };
}

export function delegationActive(d: Delegation, nowMs: number): boolean {
  const w = delegationWindow(d);
  return w.startMs <= nowMs && nowMs < w.endMs;
}
