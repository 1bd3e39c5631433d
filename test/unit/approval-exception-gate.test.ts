// The exception gate of a reconciliation's approval (issue 15): segregation of duties over the people who explained
// or resolved its exceptions, and certification while material exceptions remain unexplained, both recorded in
// the checkpoint's trail as evaluateDecision records its own refusals.
import {
  currentRound,
  exceptionGateRefusal,
  openCheckpoint,
  parseApprovalPolicy,
  refuseDecision,
  type CheckpointState,
} from '../../domain/approval';
import { unexplainedMaterial } from '../../domain/exceptions/lifecycle';
import { seedPolicyInput, signedAttempt } from './approval-fixtures';

const T0 = '2026-10-30T09:00:00.000Z';
const material = (amounts: [string, string, 'open' | 'explained'][], materiality = '100') =>
  unexplainedMaterial(
    amounts.map(([itemId, amount, state]) => ({ itemId, amount, currency: 'USD', state })),
    materiality,
  );

describe('exceptionGateRefusal', () => {
  const worked = [
    {
      reconId: 'gl-vs-erp',
      work: [{ by: 'vic', action: 'explain' as const, itemIds: ['2 exception(s) in action 7'] }],
    },
    { reconId: 'bank', work: [{ by: 'ann', action: 'reopen' as const, itemIds: ['1 exception(s) in action 8'] }] },
  ];

  it('refuses the approver who explained exceptions of a reconciliation the checkpoint approves', () => {
    expect(exceptionGateRefusal({ checkpointId: 'recon-review', signers: ['vic'], worked })).toEqual({
      reason: 'explainer_approval',
      message:
        'vic explained or resolved exceptions of reconciliation gl-vs-erp (2 exception(s) in action 7) and may not ' +
        'approve it (segregation of duties)',
    });
  });

  it('refuses a delegate signing for someone who explained them, and passes whoever only reopened or did nothing', () => {
    expect(exceptionGateRefusal({ checkpointId: 'c', signers: ['zed', 'vic'], worked })?.reason).toBe(
      'explainer_approval',
    );
    expect(exceptionGateRefusal({ checkpointId: 'c', signers: ['ann', 'sam', 'ann'], worked })).toBeUndefined();
  });

  it('refuses while material exceptions are unexplained, naming how many, their total and which', () => {
    const r = exceptionGateRefusal({
      checkpointId: 'recon-review',
      signers: ['sam'],
      worked,
      certification: [
        {
          reconId: 'gl-vs-erp',
          material: material([
            ['gl-vs-erp:GL:2', '250.50', 'open'],
            ['gl-vs-erp:GL:3', '-120.00', 'open'],
            ['gl-vs-erp:GL:4', '99.99', 'open'],
            ['gl-vs-erp:GL:5', '5000', 'explained'],
          ]),
        },
        { reconId: 'bank', material: material([['bank:B:1', '300.00', 'open']]) },
      ],
    });
    expect(r).toEqual({
      reason: 'exceptions_unexplained',
      message:
        'checkpoint recon-review refuses approval: 3 unexplained exception(s) above materiality remain; ' +
        'reconciliation gl-vs-erp cannot be approved yet: 2 unexplained exception(s) above materiality 100, totalling ' +
        'USD 370.50 (gl-vs-erp:GL:2, gl-vs-erp:GL:3); reconciliation bank cannot be approved yet: 1 unexplained ' +
        'exception(s) above materiality 100, totalling USD 300.00 (bank:B:1)',
    });
  });

  it('refuses while a reconciliation has no exceptions to certify yet, and accepts once none material is open', () => {
    expect(
      exceptionGateRefusal({
        checkpointId: 'recon-review',
        signers: ['sam'],
        worked: [],
        certification: [{ reconId: 'bank', pending: 'its task is running' }],
      }),
    ).toEqual({
      reason: 'exceptions_unexplained',
      message:
        'checkpoint recon-review refuses approval; reconciliation bank has no exceptions to certify yet (its task is running)',
    });
    expect(
      exceptionGateRefusal({
        checkpointId: 'recon-review',
        signers: ['sam'],
        worked,
        certification: [
          { reconId: 'gl-vs-erp', material: material([['gl-vs-erp:GL:4', '99.99', 'open']]) },
          { reconId: 'bank' },
        ],
      }),
    ).toBeUndefined();
  });
});

describe('exception_materiality of a checkpoint', () => {
  it('is an amount of 0 or more, never a negative one', () => {
    const withMateriality = (m: string) => {
      const p = seedPolicyInput();
      p.checkpoints = p.checkpoints!.map((c) => (c.id === 'recon-review' ? { ...c, exception_materiality: m } : c));
      return parseApprovalPolicy(p, 'seed');
    };
    expect(withMateriality('500.00').checkpoints.find((c) => c.id === 'recon-review')?.exception_materiality).toBe(
      '500',
    );
    expect(() => withMateriality('-1')).toThrow(/exception_materiality.*must not be negative/s);
  });
});

describe('refuseDecision', () => {
  const policy = parseApprovalPolicy(seedPolicyInput(), 'seed');
  const opened = openCheckpoint(
    policy,
    'recon-review',
    { preparerId: 'ann', evidence: [{ kind: 'bank_statement', ref: 'x' }] },
    T0,
  );
  const state = (opened as { ok: true; state: CheckpointState }).state;
  const refusal = { reason: 'exceptions_unexplained' as const, message: 'two remain' };

  it('records the refused attempt in the trail with who and why, and burns a verified nonce once', () => {
    const attempt = signedAttempt({ checkpointId: 'recon-review', approverId: 'zed', onBehalfOf: 'sam', level: 1 });
    const r = refuseDecision(state, attempt, T0, refusal);
    expect(r).toMatchObject({ accepted: false, reason: 'exceptions_unexplained', message: 'two remain' });
    expect(r.newState.audit.at(-1)).toEqual({
      at: T0,
      round: currentRound(state).round,
      event: 'decision',
      actor: 'zed',
      decision: 'approved',
      onBehalfOf: 'sam',
      level: 1,
      nonce: attempt.nonce,
      outcome: 'refused',
      reason: 'exceptions_unexplained',
      message: 'two remain',
    });
    expect(r.newState.nonces).toEqual([{ nonce: attempt.nonce, round: 1, approverId: 'zed', accepted: false }]);
    expect(state.audit).toHaveLength(1);
    const again = refuseDecision(r.newState, attempt, T0, refusal);
    expect(again.newState.nonces).toHaveLength(1);
  });

  it('remembers no nonce of an attempt whose signature failed', () => {
    const attempt = {
      ...signedAttempt({ checkpointId: 'recon-review', approverId: 'sam', nonce: '' }),
      signature: { status: 'failed' as const, reason: 'malformed' as const, message: 'bad' },
    };
    const r = refuseDecision(state, attempt, T0, refusal);
    expect(r.newState.nonces).toEqual([]);
    expect(r.newState.audit.at(-1)).not.toHaveProperty('nonce');
  });
});
