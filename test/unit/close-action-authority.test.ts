import { actionAuthorityProblem, type ActionAuthority } from '../../domain/close/action-authority';
import type { TaskAction } from '../../contracts/close';

const directory: Record<string, string[]> = {
  ann: ['accountant'],
  cara: ['controller'],
  olga: ['close-owner-role'],
  olive: ['close-owner-role'],
  nobody: [],
};

function ctx(over: Partial<ActionAuthority> = {}): ActionAuthority {
  return {
    rolesOf: (u) => directory[u],
    task: { id: 'bank-rec', ownerRole: 'accountant' },
    planOwner: 'olga',
    checksManagers: () => true,
    ...over,
  };
}
const act = (action: TaskAction['action'], by: string, extra: Partial<TaskAction> = {}): TaskAction => ({
  action,
  by,
  taskId: 'bank-rec',
  ...extra,
});

describe('who may complete a task', () => {
  it("lets a holder of the task's owner role complete it", () => {
    expect(actionAuthorityProblem(act('complete', 'ann'), ctx())).toBeUndefined();
  });

  it('lets the person the task was reassigned to complete it without the role', () => {
    const task = { id: 'bank-rec', ownerRole: 'accountant', owner: 'cara' };
    expect(actionAuthorityProblem(act('complete', 'cara'), ctx({ task }))).toBeUndefined();
  });

  it('refuses anyone else, naming the owner role, the assignee and the roles the directory gives', () => {
    expect(actionAuthorityProblem(act('complete', 'cara'), ctx())).toBe(
      'cara may not complete bank-rec: it belongs to role accountant, and the directory gives cara controller',
    );
    const task = { id: 'bank-rec', ownerRole: 'accountant', owner: 'dave' };
    expect(actionAuthorityProblem(act('complete', 'nobody'), ctx({ task }))).toBe(
      'nobody may not complete bank-rec: it belongs to role accountant (assigned to dave), and the directory gives nobody no role',
    );
  });

  it('lets anyone complete a task that names no owner role, without asking for the managers check', () => {
    const checksManagers = jest.fn(() => true);
    expect(actionAuthorityProblem(act('complete', 'cara'), ctx({ task: { id: 't' }, checksManagers }))).toBeUndefined();
    expect(checksManagers).not.toHaveBeenCalled();
  });
});

describe('what is left unchecked', () => {
  it('leaves attestations to the control rule and checks nothing without a directory', () => {
    expect(actionAuthorityProblem(act('attest', 'nobody'), ctx())).toBeUndefined();
    expect(actionAuthorityProblem(act('skip', 'stranger'), ctx())).toBeUndefined();
    expect(actionAuthorityProblem(act('skip', 'ann'), ctx({ rolesOf: () => undefined }))).toBeUndefined();
  });

  it('lets anyone in the directory act as before when the close predates the managers check', () => {
    expect(actionAuthorityProblem(act('skip', 'ann'), ctx({ checksManagers: () => false }))).toBeUndefined();
  });
});

describe('close managers and task owners', () => {
  it("lets the close owner and holders of the close owner's roles manage the close", () => {
    expect(actionAuthorityProblem(act('skip', 'olga'), ctx())).toBeUndefined();
    expect(actionAuthorityProblem(act('reassign', 'olive', { to: 'ann' }), ctx())).toBeUndefined();
  });

  it("uses closeManagerRoles instead of the owner's roles when the close names them", () => {
    expect(actionAuthorityProblem(act('skip', 'cara'), ctx({ closeManagerRoles: ['controller'] }))).toBeUndefined();
    expect(actionAuthorityProblem(act('skip', 'ann'), ctx({ closeManagerRoles: ['controller'] }))).toBe(
      'ann may not skip bank-rec: that is for a close manager (the close owner olga, role controller), and the directory gives ann accountant',
    );
  });

  it('lets the task owner rerun it or ask to waive it, but not skip it', () => {
    expect(actionAuthorityProblem(act('rerun', 'ann'), ctx())).toBeUndefined();
    expect(actionAuthorityProblem(act('waive', 'ann', { reason: 'r' }), ctx())).toBeUndefined();
    expect(actionAuthorityProblem(act('skip', 'ann', { reason: 'r' }), ctx())).toBe(
      'ann may not skip bank-rec: that is for a close manager (the close owner olga, role close-owner-role), and the directory gives ann accountant',
    );
  });

  it('says who may rerun a task when someone else tries: its assignee or owner role, or a close manager', () => {
    expect(actionAuthorityProblem(act('rerun', 'cara'), ctx())).toBe(
      "cara may not rerun bank-rec: that is for the task's owner (role accountant) or a close manager (the close owner olga, role close-owner-role), and the directory gives cara controller",
    );
    const task = { id: 'bank-rec', ownerRole: 'accountant', owner: 'dave' };
    expect(actionAuthorityProblem(act('waive', 'cara'), ctx({ task }))).toMatch(
      /^cara may not waive bank-rec: that is for the task's owner \(dave\) or a close manager/,
    );
    expect(actionAuthorityProblem(act('rerun', 'cara'), ctx({ task: { id: 'x' } }))).toMatch(
      /that is for the task's owner or a close manager/,
    );
  });

  it('refuses close-level actions with no task to non-managers, and says when no manager is named', () => {
    expect(actionAuthorityProblem({ action: 'pause', by: 'ann' }, ctx({ task: undefined }))).toBe(
      'ann may not pause the close: that is for a close manager (the close owner olga, role close-owner-role), and the directory gives ann accountant',
    );
    expect(actionAuthorityProblem({ action: 'rerun', by: 'ann' }, ctx({ task: undefined }))).toMatch(
      /^ann may not rerun the close: that is for the task's owner or a close manager/,
    );
    expect(
      actionAuthorityProblem({ action: 'resume', by: 'ann' }, ctx({ task: undefined, planOwner: undefined })),
    ).toBe(
      'ann may not resume the close: that is for a close manager (none named), and the directory gives ann accountant',
    );
  });

  it('takes the close owner as having no roles when the directory does not know them', () => {
    expect(actionAuthorityProblem(act('skip', 'ann'), ctx({ planOwner: 'ghost' }))).toBe(
      'ann may not skip bank-rec: that is for a close manager (the close owner ghost), and the directory gives ann accountant',
    );
  });
});
