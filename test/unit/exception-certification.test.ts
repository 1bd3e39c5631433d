// The preparer's certification of a reconciliation (issue 15): what a certification is, when it stands (no accepted
// action on the run's exceptions after it), and what an approval requiring it is told while it does not.
import {
  certificationMissing,
  certificationOf,
  countsByState,
  isCertifyAction,
  parseCertifyAction,
} from '../../domain/exceptions/certification';
import { exceptionGateRefusal } from '../../domain/approval';

const row = (seq: number, action: string, by: string, accepted = true) => ({
  seq,
  action,
  by,
  at: `2026-10-31T10:0${seq}:00.000Z`,
  accepted,
});

describe('parseCertifyAction', () => {
  it('takes a certify with its statement, trimmed', () => {
    expect(isCertifyAction({ action: 'certify' })).toBe(true);
    expect(isCertifyAction({ action: 'explain' })).toBe(false);
    expect(isCertifyAction(null)).toBe(false);
    expect(parseCertifyAction({ action: 'certify', text: '  complete ' })).toEqual({
      action: 'certify',
      text: 'complete',
    });
  });

  it('refuses another action, an unknown field and a certification without its statement, naming the field', () => {
    expect(() => parseCertifyAction({ action: 'explain' }, 'certify')).toThrow('certify.action: not certify');
    expect(() => parseCertifyAction({ action: 'certify', text: 'x', itemIds: [] })).toThrow(
      'exception action: certify takes no itemIds',
    );
    expect(() => parseCertifyAction({ action: 'certify', text: ' ' })).toThrow(
      'exception action.text: a certification states what is certified (a non-empty text)',
    );
  });
});

describe('countsByState', () => {
  it('counts the exceptions in each state, leaving out states with none, in name order', () => {
    expect(
      countsByState([{ state: 'open' }, { state: 'explained' }, { state: 'open' }, { state: 'carried_forward' }]),
    ).toEqual({ carried_forward: 1, explained: 1, open: 2 });
    expect(JSON.stringify(countsByState([{ state: 'open' }, { state: 'explained' }]))).toBe('{"explained":1,"open":1}');
    expect(countsByState([])).toEqual({});
  });
});

describe('certificationOf', () => {
  it('is missing while nobody certified the run (refused certifications do not count)', () => {
    expect(certificationOf([row(1, 'explain', 'ann'), row(2, 'certify', 'ann', false)])).toEqual({
      certified: false,
      reason: 'its preparer has not certified it',
    });
  });

  it('stands when no accepted action on the exceptions follows the latest certification', () => {
    expect(
      certificationOf([row(3, 'certify', 'ann'), row(1, 'explain', 'ann'), row(4, 'explain', 'bob', false)]),
    ).toEqual({ certified: true, by: 'ann', at: '2026-10-31T10:03:00.000Z', seq: 3 });
  });

  it('is superseded by an action taken after it, saying which and by whom, until certified again', () => {
    const history = [row(1, 'explain', 'ann'), row(2, 'certify', 'ann'), row(3, 'reopen', 'bob')];
    expect(certificationOf(history)).toEqual({
      certified: false,
      reason:
        'the certification by ann at 2026-10-31T10:02:00.000Z (action 2) was superseded by reopen action 3 by bob ' +
        'at 2026-10-31T10:03:00.000Z: its preparer certifies it again',
    });
    expect(certificationOf([...history, row(5, 'certify', 'ann')])).toMatchObject({ certified: true, seq: 5 });
  });

  it('names the reconciliation in the refusal, and says nothing once certified', () => {
    expect(certificationMissing('gl-vs-erp', { certified: false, reason: 'its preparer has not certified it' })).toBe(
      'reconciliation gl-vs-erp is not certified: its preparer has not certified it',
    );
    expect(certificationMissing('gl-vs-erp', { certified: true, by: 'ann', at: 'x', seq: 1 })).toBeUndefined();
  });
});

describe('the exception gate with certification required', () => {
  const notCertified = { certified: false as const, reason: 'its preparer has not certified it' };

  it('refuses the approval while a reconciliation is not certified, naming it (not_certified)', () => {
    expect(
      exceptionGateRefusal({
        checkpointId: 'recon-review',
        signers: ['sam'],
        worked: [],
        certification: [
          { reconId: 'gl-vs-erp', certified: notCertified },
          { reconId: 'bank', certified: { certified: true, by: 'ann', at: 'x', seq: 4 } },
        ],
      }),
    ).toEqual({
      reason: 'not_certified',
      message:
        'checkpoint recon-review refuses approval: 1 reconciliation(s) not certified by their preparer; ' +
        'reconciliation gl-vs-erp is not certified: its preparer has not certified it',
    });
  });

  it('says unexplained exceptions first when material ones remain too, and a pending run keeps its own words', () => {
    const r = exceptionGateRefusal({
      checkpointId: 'c',
      signers: ['sam'],
      worked: [],
      certification: [
        {
          reconId: 'gl-vs-erp',
          certified: notCertified,
          material: {
            materiality: '0',
            count: 1,
            totals: [{ currency: 'USD', total: '5.00' }],
            ids: ['x'],
            belowCount: 0,
          },
        },
      ],
    });
    expect(r?.reason).toBe('exceptions_unexplained');
    expect(r?.message).toContain('reconciliation gl-vs-erp is not certified');
    const pending = exceptionGateRefusal({
      checkpointId: 'c',
      signers: ['sam'],
      worked: [],
      certification: [
        { reconId: 'bank', pending: 'its task is running' },
        { reconId: 'gl', certified: notCertified },
      ],
    });
    expect(pending).toEqual({
      reason: 'exceptions_unexplained',
      message:
        'checkpoint c refuses approval: 1 reconciliation(s) not certified by their preparer; reconciliation bank has ' +
        'no exceptions to certify yet (its task is running); reconciliation gl is not certified: its preparer has not certified it',
    });
  });

  it('refuses whoever certified the reconciliation as its approver (segregation of duties)', () => {
    expect(
      exceptionGateRefusal({
        checkpointId: 'c',
        signers: ['ann'],
        worked: [{ reconId: 'gl-vs-erp', work: [{ by: 'ann', action: 'certify', itemIds: ['certification at T'] }] }],
      }),
    ).toEqual({
      reason: 'explainer_approval',
      message:
        'ann certified reconciliation gl-vs-erp (certification at T) and may not approve it (segregation of duties)',
    });
  });
});
