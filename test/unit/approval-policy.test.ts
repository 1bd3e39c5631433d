import {
  ApprovalDecisionSchema,
  ApprovalPolicyError,
  ApprovalPolicySchema,
  CheckpointSchema,
  DecimalString,
  DelegationSchema,
  DurationString,
  EscalationSchema,
  LimitSchema,
  RoleSchema,
  SubmissionSchema,
  UNKNOWN_APPROVER,
  UserSchema,
  DurationError,
  delegationActive,
  findRole,
  formatDuration,
  parseApprovalPolicy,
  parseDuration,
  roleLimit,
  type ApprovalPolicyInput,
} from '../../domain/approval';
import { seedPolicyInput } from './approval-fixtures';

function issuesOf(input: unknown): string[] {
  try {
    parseApprovalPolicy(input, 'policies/acme.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ApprovalPolicyError);
    expect((err as Error).message).toContain('policies/acme.yaml is not a valid approval policy');
    return (err as ApprovalPolicyError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('the policy was accepted');
}

function withChange(change: (p: ApprovalPolicyInput) => void): ApprovalPolicyInput {
  const p = seedPolicyInput();
  change(p);
  return p;
}

describe('durations', () => {
  it.each([
    ['4h', 4 * 3_600_000],
    ['30m', 30 * 60_000],
    ['1d', 86_400_000],
    ['90s', 90_000],
    ['250ms', 250],
    ['1h30m', 90 * 60_000],
    ['1d12h', 36 * 3_600_000],
  ])('reads %s as %d milliseconds', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['4 hours', '4H', '-1h', '1.5h', '', 'h', '30m1h', '1h1h', '0s', '0h0m'])(
    'refuses %j and says what it expected',
    (bad) => {
      expect(() => parseDuration(bad, 'checkpoints[0].escalation.timeout')).toThrow(DurationError);
      expect(() => parseDuration(bad, 'checkpoints[0].escalation.timeout')).toThrow(
        /^checkpoints\[0\]\.escalation\.timeout: /,
      );
    },
  );

  it('refuses a non-string and a duration too long to count in milliseconds', () => {
    expect(() => parseDuration(4)).toThrow(
      'expected a duration such as "4h", "30m", "1d", "90s" or "1h30m", got 4 (a number, not a string)',
    );
    expect(() => parseDuration('99999999999999d')).toThrow(/too long/);
  });

  it('writes milliseconds back as the shortest duration and refuses non-positive counts', () => {
    expect(formatDuration(14_400_000)).toBe('4h');
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(1_500)).toBe('1s500ms');
    expect(parseDuration(formatDuration(93_784_005))).toBe(93_784_005);
    expect(() => formatDuration(0)).toThrow(RangeError);
    expect(() => formatDuration(1.5)).toThrow(RangeError);
  });
});

describe('approval policy', () => {
  it('accepts the seed policy and fills the defaults', () => {
    const policy = parseApprovalPolicy(seedPolicyInput());
    expect(policy.roles.map((r) => r.name)).toEqual(['accountant', 'supervisor', 'manager', 'director']);
    expect(findRole(policy, 'accountant')).toEqual({
      name: 'accountant',
      can_prepare: ['journal_entry', 'reconciliation'],
      can_approve: [],
      approval_limits: {},
    });
    const single = policy.checkpoints.find((c) => c.id === 'je-single')!;
    expect(single.evidence_required).toBe(false);
    expect(single.resolution_required).toBe(false);
    expect(policy.checkpoints.find((c) => c.id === 'recon-two-eyes')!.escalation.escalation_path).toEqual([]);
    expect(String(roleLimit(policy, 'manager', 'journal_entry'))).toBe('50000');
    expect(roleLimit(policy, 'manager', 'reconciliation')).toBeUndefined();
    expect(roleLimit(policy, 'nobody', 'journal_entry')).toBeUndefined();
  });

  it('reads limits written as whole numbers or canonical decimals, and "unlimited"', () => {
    const policy = parseApprovalPolicy(
      withChange((p) => {
        p.roles[1].approval_limits = { journal_entry: 10000 };
        p.roles[2].approval_limits = { journal_entry: '50000.00' };
        p.roles[3].approval_limits = { journal_entry: 'unlimited' };
      }),
    );
    expect(policy.roles[1].approval_limits.journal_entry).toBe('10000');
    expect(policy.roles[2].approval_limits.journal_entry).toBe('50000');
    expect(roleLimit(policy, 'director', 'journal_entry')).toBe('unlimited');
  });

  it('refuses a limit that went through a float, is not a number, or is negative, naming the field', () => {
    const issues = issuesOf(
      withChange((p) => {
        p.roles[1].approval_limits = { journal_entry: 10000.5 };
        p.roles[2].approval_limits = { journal_entry: '50,000' };
        p.roles[3].approval_limits = { journal_entry: '-1' };
      }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^roles\[1\]\.approval_limits\.journal_entry: 10000\.5 is not a whole number/),
        expect.stringMatching(/^roles\[2\]\.approval_limits\.journal_entry: must be a decimal amount.*"50,000"/),
        expect.stringMatching(/^roles\[3\]\.approval_limits\.journal_entry: must not be negative/),
      ]),
    );
  });

  it('refuses unknown fields instead of dropping them', () => {
    const issues = issuesOf(withChange((p) => Object.assign(p.roles[1], { aproval_limits: {} })));
    expect(issues).toEqual([expect.stringMatching(/^roles\[1\]: Unrecognized key: "aproval_limits"/)]);
  });

  it('refuses duplicate and dangling names across roles, users and checkpoints', () => {
    const issues = issuesOf(
      withChange((p) => {
        p.roles.push({ name: 'manager' });
        p.roles[0].approval_limits = { journal_entry: '5' };
        p.users.push({ userId: 'sam', roles: ['auditor'], manager: 'nobody' });
        p.checkpoints!.push({ ...p.checkpoints![0] });
      }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        'roles[4].name: role manager is defined 2 times',
        expect.stringMatching(
          /^roles\[0\]\.approval_limits\.journal_entry: role accountant has a limit for journal_entry but cannot approve/,
        ),
        'users[9].userId: user sam is listed 2 times',
        'users[9].roles[0]: user sam has role auditor, which is not defined',
        'users[9].manager: manager nobody of sam is not in the directory',
        'checkpoints[5].id: checkpoint recon-review is defined 2 times',
      ]),
    );
  });

  it('refuses a manager chain that loops', () => {
    const issues = issuesOf(
      withChange((p) => {
        p.users.find((u) => u.userId === 'dan')!.manager = 'ann';
      }),
    );
    expect(issues).toContain('users[0].manager: the manager chain of ann loops back to ann');
  });

  it('refuses checkpoints nobody could approve or whose escalation goes nowhere', () => {
    const issues = issuesOf(
      withChange((p) => {
        p.roles.push({ name: 'auditor', can_approve: ['reconciliation'] });
        const cp = p.checkpoints![0];
        cp.required_roles = ['supervisor', 'accountant', 'ghost', 'auditor', 'supervisor'];
        cp.escalation = { timeout: '4h', escalation_path: ['manager', 'cfo'], reminder_before: '4h' };
      }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        'checkpoints[0].required_roles: checkpoint recon-review lists role supervisor more than once',
        'checkpoints[0].required_roles[1]: checkpoint recon-review: role accountant cannot approve reconciliation (its can_approve lacks it)',
        'checkpoints[0].required_roles[2]: checkpoint recon-review names role ghost, which is not defined',
        'checkpoints[0].required_roles: checkpoint recon-review needs role auditor, but no user in the directory holds it',
        'checkpoints[0].escalation.escalation_path[1]: checkpoint recon-review names role cfo, which is not defined',
        'checkpoints[0].escalation.reminder_before: checkpoint recon-review: reminder_before (4h) must be shorter than the timeout (4h)',
      ]),
    );
  });

  it("refuses a malformed timeout with the duration parser's own words", () => {
    const issues = issuesOf(withChange((p) => (p.checkpoints![0].escalation.timeout = '4 hours')));
    expect(issues).toEqual([
      'checkpoints[0].escalation.timeout: expected a duration such as "4h", "30m", "1d", "90s" or "1h30m", got "4 hours"',
    ]);
  });

  it('refuses a chain whose roles mix limits and no limits, or share a limit', () => {
    const mixed = issuesOf(
      withChange((p) => {
        p.roles[2].approval_limits = {};
      }),
    );
    expect(mixed).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^checkpoints\[1\]\.required_roles: checkpoint je-approval: roles manager have no approval limit for journal_entry while director, supervisor do/,
        ),
      ]),
    );
    const tied = issuesOf(withChange((p) => (p.roles[2].approval_limits = { journal_entry: '10000' })));
    expect(tied).toEqual([
      'checkpoints[1].required_roles: checkpoint je-approval: roles supervisor and manager share the limit 10000, so the chain order is ambiguous',
    ]);
  });

  it('lets a single-approver checkpoint have roles with equal limits', () => {
    const p = withChange((x) => {
      x.roles[2].approval_limits = { journal_entry: '10000' };
      x.checkpoints = x.checkpoints!.filter((c) => c.id !== 'je-approval');
    });
    expect(parseApprovalPolicy(p).checkpoints.map((c) => c.id)).toContain('je-single');
  });

  it('refuses a materiality threshold where it cannot apply', () => {
    const issues = issuesOf(
      withChange((p) => {
        p.checkpoints![2].materiality_threshold = '5000';
        p.checkpoints![3].materiality_threshold = '5000';
      }),
    );
    expect(issues).toEqual([
      'checkpoints[2].materiality_threshold: checkpoint je-single: a materiality threshold applies only to a chain checkpoint whose roles have approval limits',
      'checkpoints[3].materiality_threshold: checkpoint recon-two-eyes: a materiality threshold applies only to a chain checkpoint whose roles have approval limits',
    ]);
  });

  it('refuses delegations between unknown users, to oneself, of a role not held, or running backwards', () => {
    const issues = issuesOf(
      withChange((p) => {
        p.delegations = [
          { from: 'ghost', to: 'mo', from_date: '2026-10-01', to_date: '2026-10-02' },
          { from: 'dan', to: 'ghost', from_date: '2026-10-01', to_date: '2026-10-02' },
          { from: 'dan', to: 'dan', from_date: '2026-10-01', to_date: '2026-10-02' },
          { from: 'dan', to: 'mo', role: 'manager', from_date: '2026-10-01', to_date: '2026-10-02' },
          { from: 'dan', to: 'mo', from_date: '2026-10-05', to_date: '2026-10-02' },
        ];
      }),
    );
    expect(issues).toEqual([
      'delegations[0].from: delegating user ghost is not in the directory',
      'delegations[1].to: delegate ghost is not in the directory',
      'delegations[2].to: dan cannot delegate to themselves',
      'delegations[3].role: dan does not hold role manager, so cannot delegate it',
      'delegations[4].to_date: to_date 2026-10-02 is before from_date 2026-10-05',
    ]);
  });

  it("refuses a delegation written in local time, since a worker's time zone must not decide who may approve", () => {
    const issues = issuesOf(
      withChange((p) => {
        p.delegations = [{ from: 'dan', to: 'mo', from_date: '2026-10-05T10:00:00', to_date: '2026-10-06' }];
      }),
    );
    expect(issues).toEqual([
      'delegations[0].from_date: must be an ISO date (2026-10-31) or an ISO instant with an offset (2026-10-31T17:00:00Z)',
    ]);
  });

  it('treats a date-only delegation end as the whole day, and an instant end as that instant', () => {
    const policy = parseApprovalPolicy(seedPolicyInput());
    const [byDay, byInstant] = policy.delegations;
    expect(delegationActive(byDay, Date.parse('2026-10-19T23:59:59.999Z'))).toBe(false);
    expect(delegationActive(byDay, Date.parse('2026-10-20T00:00:00Z'))).toBe(true);
    expect(delegationActive(byDay, Date.parse('2026-10-31T23:59:59.999Z'))).toBe(true);
    expect(delegationActive(byDay, Date.parse('2026-11-01T00:00:00Z'))).toBe(false);
    expect(delegationActive(byInstant, Date.parse('2026-10-29T18:00:00Z'))).toBe(true);
    expect(delegationActive(byInstant, Date.parse('2026-10-29T18:00:00.001Z'))).toBe(false);
  });

  it('names the root when the whole input is wrong, with a default source name', () => {
    expect(() => parseApprovalPolicy('roles: []')).toThrow(
      /^approval policy is not a valid approval policy:\n {2}- \(root\): /,
    );
  });

  it('exports each schema, so a close definition can embed and validate one piece on its own', () => {
    expect(
      CheckpointSchema.parse({ id: 'cp', item_type: 'je', required_roles: ['r'], escalation: { timeout: '1h' } }),
    ).toEqual({
      id: 'cp',
      item_type: 'je',
      required_roles: ['r'],
      mode: 'chain',
      escalation: { timeout: '1h', escalation_path: [] },
      evidence_required: false,
      resolution_required: false,
    });
    expect(EscalationSchema.safeParse({ timeout: '1 hour' }).success).toBe(false);
    expect(DurationString.safeParse('90s').success).toBe(true);
    expect(RoleSchema.parse({ name: 'r' }).can_approve).toEqual([]);
    expect(UserSchema.safeParse({ userId: 'has space' }).success).toBe(false);
    expect(
      DelegationSchema.safeParse({ from: 'a', to: 'b', from_date: '2026-10-01', to_date: '2026-10-02' }).success,
    ).toBe(true);
    expect(LimitSchema.parse(250)).toBe('250');
    expect(DecimalString.parse('-0012.50')).toBe('-12.5');
    expect(ApprovalPolicySchema.safeParse({ roles: [], users: [] }).success).toBe(false);
    expect(SubmissionSchema.parse({ preparerId: 'ann' }).evidence).toEqual([]);
    const decision = ApprovalDecisionSchema.parse({
      workflowId: 'w',
      checkpointId: 'c',
      round: 1,
      decision: 'approved',
      approverId: 'a',
      roles: [],
    });
    expect(decision.evidence).toEqual([]);
    expect(UNKNOWN_APPROVER).toBe('(unknown)');
  });
});
