import {
  DEFAULT_WAIVER_TEMPLATE,
  policyWithWaivers,
  waiverApproval,
  waiverCheckpointId,
  waiverDecision,
  waiverItemType,
} from '../../domain/close/waiver';

const template = { id: 'task-waiver', item_type: 'task_waiver', levels: [{ roles: ['controller'] }] };
const policy = { users: [{ userId: 'cara', roles: ['controller'] }], checkpoints: [{ id: 'je-approval' }, template] };

describe('waiver checkpoints copied from the policy template', () => {
  it('names the default template task-waiver and each task checkpoint waive:<taskId>', () => {
    expect(DEFAULT_WAIVER_TEMPLATE).toBe('task-waiver');
    expect(waiverCheckpointId('bank-rec')).toBe('waive:bank-rec');
  });

  it('adds one checkpoint per task with the template roles, after the policy checkpoints', () => {
    const out = policyWithWaivers(policy, 'task-waiver', ['a', 'b']) as typeof policy;
    expect(out.checkpoints.map((c) => c.id)).toEqual(['je-approval', 'task-waiver', 'waive:a', 'waive:b']);
    expect(out.checkpoints[2]).toEqual({ ...template, id: 'waive:a' });
    expect(out.users).toBe(policy.users);
    expect(policy.checkpoints).toHaveLength(2);
  });

  it('keeps a waiver checkpoint the policy already defines for a task instead of copying the template over it', () => {
    const own = { id: 'waive:a', item_type: 'special' };
    const out = policyWithWaivers({ checkpoints: [template, own] }, 'task-waiver', ['a', 'b']) as {
      checkpoints: { id: string; item_type?: string }[];
    };
    expect(out.checkpoints.map((c) => c.id)).toEqual(['task-waiver', 'waive:a', 'waive:b']);
    expect(out.checkpoints[1]).toBe(own);
  });

  it('leaves a policy without the template, without checkpoints, or that is no object as it was', () => {
    const other = { checkpoints: [{ id: 'je-approval' }] };
    expect(policyWithWaivers(other, 'task-waiver', ['a'])).toBe(other);
    const none = { users: [] };
    expect(policyWithWaivers(none, 'task-waiver', ['a'])).toBe(none);
    expect(policyWithWaivers(undefined, 'task-waiver', ['a'])).toBeUndefined();
    expect(policyWithWaivers([template], 'task-waiver', ['a'])).toEqual([template]);
  });

  it("reads the template's item type, and none when the template or its item type is missing", () => {
    expect(waiverItemType(policy, 'task-waiver')).toBe('task_waiver');
    expect(waiverItemType(policy, 'je-approval')).toBeUndefined();
    expect(waiverItemType(policy, 'other')).toBeUndefined();
    expect(waiverItemType({ checkpoints: 'x' }, 'task-waiver')).toBeUndefined();
    expect(waiverItemType(null, 'task-waiver')).toBeUndefined();
  });
});

describe('the approval a waiver waits for', () => {
  it('asks the task waiver checkpoint, with the requester as preparer and the reason in the description', () => {
    expect(
      waiverApproval({
        task: { id: 'fx', name: 'FX revaluation' },
        by: 'ann',
        reason: 'no FX exposure this month',
        closeId: 'close:ACME:2026-10',
        itemType: 'task_waiver',
      }),
    ).toEqual({
      checkpointId: 'waive:fx',
      item: {
        type: 'task_waiver',
        preparer: 'ann',
        ref: 'waive:fx',
        description: 'waive task fx (FX revaluation) of close close:ACME:2026-10: no FX exposure this month',
      },
    });
  });

  it('describes a waiver asked without a reason with an empty reason', () => {
    const c = waiverApproval({ task: { id: 'fx', name: 'FX' }, by: 'ann', closeId: 'c' });
    expect(c.item?.description).toBe('waive task fx (FX) of close c: ');
    expect(c.item?.type).toBeUndefined();
  });
});

describe('the decision of a waiver checkpoint', () => {
  const at = '2026-11-03T10:00:00.000Z';

  it('waives the task on approval and journals the deciders once each, in order', () => {
    const d = waiverDecision(
      { taskId: 'fx', by: 'ann', reason: 'no exposure' },
      { state: 'approved' },
      ['cara', 'dave', 'cara'],
      at,
    );
    expect(d.approved).toBe(true);
    expect(d.taskReason).toBe('waived: no exposure (requested by ann, approved on waive:fx)');
    expect(d.entry).toEqual({
      at,
      by: 'cara, dave',
      action: 'waive',
      taskId: 'fx',
      accepted: true,
      note: 'waiver approved on waive:fx',
    });
    expect(Object.keys(d.entry)).toEqual(['at', 'by', 'action', 'taskId', 'accepted', 'note']);
  });

  it('journals a refusal with the outcome state and reason when the checkpoint does not approve', () => {
    const d = waiverDecision(
      { taskId: 'fx', by: 'ann' },
      { state: 'rejected', reason: 'exposure exists' },
      ['cara'],
      at,
    );
    expect(d.approved).toBe(false);
    expect(d.taskReason).toBeUndefined();
    expect(d.entry).toEqual({
      at,
      by: 'cara',
      action: 'waive',
      taskId: 'fx',
      accepted: false,
      refusal: 'waiver not approved (rejected): exposure exists',
    });
  });

  it('names the approval itself when no one decided (a checkpoint that failed to run)', () => {
    const d = waiverDecision({ taskId: 'fx', by: 'ann' }, { state: 'refused' }, [], at);
    expect(d.entry.by).toBe('approval');
    expect(d.entry.refusal).toBe('waiver not approved (refused)');
  });

  it('approves with an empty reason when the waiver was asked without one', () => {
    expect(waiverDecision({ taskId: 'fx', by: 'ann' }, { state: 'approved' }, [], at).taskReason).toBe(
      'waived:  (requested by ann, approved on waive:fx)',
    );
  });
});
