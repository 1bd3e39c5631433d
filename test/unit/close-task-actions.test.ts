import type { TaskAction, TaskStatus } from '../../contracts/close';
import { parseClosePlan } from '../../domain/close/plan';
import {
  actionShapeProblem,
  actionStateProblem,
  addedTaskPlan,
  isFinishedState,
  isPersonTask,
  type CloseActionView,
} from '../../domain/close/task-actions';

const ids = ['bank-rec', 'je', 'doc'];

describe('the shape of a task action', () => {
  it('takes a well-formed action on a known task', () => {
    expect(actionShapeProblem({ action: 'complete', taskId: 'je', by: 'ann' }, ids)).toBeUndefined();
    expect(actionShapeProblem({ action: 'pause', by: 'olga' }, ids)).toBeUndefined();
    expect(actionShapeProblem({ action: 'add', by: 'olga', task: { id: 'new' } } as TaskAction, ids)).toBeUndefined();
  });

  it('refuses what is not an action object, an unknown action, or one without who acts', () => {
    expect(actionShapeProblem(null as unknown as TaskAction, ids)).toBe(
      'a task action is an object {action, taskId, by, ...}',
    );
    expect(actionShapeProblem({ action: 'delete', by: 'ann' } as unknown as TaskAction, ids)).toBe(
      'unknown action "delete": one of complete, rerun, waive, reassign, skip, add, pause, resume, attest',
    );
    expect(actionShapeProblem({ action: 'rerun', by: ' ', taskId: 'je' }, ids)).toBe(
      'action rerun needs "by": who acts',
    );
  });

  it('refuses an add without a task, or of a task id the close already has', () => {
    expect(actionShapeProblem({ action: 'add', by: 'olga' }, ids)).toBe('action add needs "task": the task to add');
    expect(actionShapeProblem({ action: 'add', by: 'olga', task: { id: 'je' } } as TaskAction, ids)).toBe(
      'task je already exists',
    );
  });

  it('refuses a task action without a task id or naming an unknown task', () => {
    expect(actionShapeProblem({ action: 'complete', by: 'ann' }, ids)).toBe('action complete needs "taskId"');
    expect(actionShapeProblem({ action: 'complete', by: 'ann', taskId: 'x' }, ids)).toBe('unknown task "x"');
  });

  it('asks a reassign for the new owner, an attest for its statement, a skip or waive for a reason', () => {
    expect(actionShapeProblem({ action: 'reassign', by: 'o', taskId: 'je', to: '' }, ids)).toBe(
      'action reassign needs "to": the new owner',
    );
    expect(actionShapeProblem({ action: 'attest', by: 'c', taskId: 'doc' }, ids)).toBe(
      'action attest needs "statement": the exact attestation text the task shows',
    );
    expect(actionShapeProblem({ action: 'waive', by: 'o', taskId: 'je', reason: '  ' }, ids)).toBe(
      `action waive needs a "reason" (it goes in the close's journal and evidence)`,
    );
    expect(actionShapeProblem({ action: 'skip', by: 'o', taskId: 'je', reason: 'not needed' }, ids)).toBeUndefined();
  });
});

describe('finished states and person tasks', () => {
  it('counts done, done with exceptions, skipped and waived as finished', () => {
    expect(['done', 'done_with_exceptions', 'skipped', 'waived'].every((s) => isFinishedState(s as never))).toBe(true);
    expect(['pending', 'running', 'blocked', 'failed'].some((s) => isFinishedState(s as never))).toBe(false);
  });

  it('has manual tasks and journal entries wait for their owner', () => {
    expect(isPersonTask('manual')).toBe(true);
    expect(isPersonTask('journal_entry')).toBe(true);
    expect(isPersonTask('reconciliation')).toBe(false);
  });
});

function status(id: string, state: TaskStatus['state'], extra: Partial<TaskStatus> = {}): TaskStatus {
  return { id, name: id, kind: 'manual', state, ...extra };
}

function view(tasks: TaskStatus[], over: Partial<CloseActionView> = {}): CloseActionView {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  return {
    paused: false,
    task: (id) => byId.get(id) as TaskStatus,
    spec: (id) => ({ kind: (byId.get(id) as TaskStatus).kind, config: { checkpointId: 'je-approval' } }),
    addProblem: () => undefined,
    finishBlockers: () => [],
    working: () => false,
    waiverPending: () => false,
    checkpointUsed: () => false,
    waiverTemplate: 'task-waiver',
    waiverItemType: 'task_waiver',
    waivesAddedTasks: () => true,
    ...over,
  };
}
const on = (action: TaskAction['action'], taskId: string, extra: Partial<TaskAction> = {}): TaskAction => ({
  action,
  taskId,
  by: 'ann',
  ...extra,
});

describe('what the close state allows', () => {
  it('pauses a running close once and resumes only a paused one', () => {
    expect(actionStateProblem({ action: 'pause', by: 'o' }, view([]))).toBeUndefined();
    expect(actionStateProblem({ action: 'pause', by: 'o' }, view([], { paused: true }))).toBe(
      'the close is already paused',
    );
    expect(actionStateProblem({ action: 'resume', by: 'o' }, view([]))).toBe('the close is not paused');
    expect(actionStateProblem({ action: 'resume', by: 'o' }, view([], { paused: true }))).toBeUndefined();
  });

  it('refuses an add with the problem of the plan it would make', () => {
    expect(actionStateProblem({ action: 'add', by: 'o' }, view([], { addProblem: () => 'bad task' }))).toBe('bad task');
  });

  it('completes only a running person task whose finish-to-finish predecessors have finished', () => {
    const tasks = [
      status('je', 'running'),
      status('rec', 'running', { kind: 'reconciliation' }),
      status('p', 'pending'),
      status('d', 'done'),
    ];
    expect(actionStateProblem(on('complete', 'je'), view(tasks))).toBeUndefined();
    expect(actionStateProblem(on('complete', 'rec'), view(tasks))).toBe(
      'rec is a task of kind reconciliation: it completes by itself',
    );
    expect(actionStateProblem(on('complete', 'p'), view(tasks))).toBe(
      'p has not started: its predecessors are not done',
    );
    expect(actionStateProblem(on('complete', 'd'), view(tasks))).toBe('d is done');
    expect(actionStateProblem(on('complete', 'je'), view(tasks, { finishBlockers: () => ['a', 'b'] }))).toBe(
      'je may not finish before a, b (finish-to-finish)',
    );
  });

  it('reruns a blocked, failed or done-with-exceptions task unless a waiver waits or its checkpoint was used', () => {
    const tasks = [
      status('b', 'blocked'),
      status('f', 'failed'),
      status('x', 'done_with_exceptions'),
      status('r', 'running'),
      status('ap', 'blocked', { kind: 'approval' }),
    ];
    for (const id of ['b', 'f', 'x']) expect(actionStateProblem(on('rerun', id), view(tasks))).toBeUndefined();
    expect(actionStateProblem(on('rerun', 'r'), view(tasks))).toBe(
      'only a blocked, failed or done-with-exceptions task is rerun; r is running',
    );
    expect(actionStateProblem(on('rerun', 'b'), view(tasks, { waiverPending: () => true }))).toBe(
      'a waiver of b is waiting for its approval',
    );
    expect(actionStateProblem(on('rerun', 'ap'), view(tasks))).toBeUndefined();
    expect(actionStateProblem(on('rerun', 'ap'), view(tasks, { checkpointUsed: (id) => id === 'je-approval' }))).toBe(
      'approval checkpoint je-approval opens once per close: waive or skip ap instead',
    );
  });

  it('waives an unfinished or done-with-exceptions task that is not running and has no decided waiver', () => {
    const tasks = [
      status('p', 'pending'),
      status('x', 'done_with_exceptions'),
      status('d', 'done'),
      status('r', 'running'),
      status('b', 'blocked'),
    ];
    expect(actionStateProblem(on('waive', 'p'), view(tasks))).toBeUndefined();
    expect(actionStateProblem(on('waive', 'x'), view(tasks))).toBeUndefined();
    expect(actionStateProblem(on('waive', 'd'), view(tasks))).toBe('d is already done');
    expect(actionStateProblem(on('waive', 'r'), view(tasks))).toBe('r is running: wait for it to finish or fail');
    expect(actionStateProblem(on('waive', 'b'), view(tasks, { working: () => true }))).toBe(
      'b is running: wait for it to finish or fail',
    );
    expect(actionStateProblem(on('waive', 'b'), view(tasks, { waiverPending: () => true }))).toBe(
      'a waiver of b is already waiting for its approval',
    );
    expect(actionStateProblem(on('waive', 'b'), view(tasks, { waiverItemType: undefined }))).toBe(
      `a waiver needs an approval: the close's approvalPolicy has no checkpoint "task-waiver" to approve waivers`,
    );
    expect(actionStateProblem(on('waive', 'b'), view(tasks, { checkpointUsed: (id) => id === 'waive:b' }))).toBe(
      'b has had its waiver decided (checkpoint waive:b)',
    );
  });

  it('asks whether added tasks can be waived only for an added task, and refuses when they cannot', () => {
    const waivesAddedTasks = jest.fn(() => false);
    const tasks = [status('a', 'blocked', { added: true }), status('b', 'blocked')];
    expect(actionStateProblem(on('waive', 'b'), view(tasks, { waivesAddedTasks }))).toBeUndefined();
    expect(waivesAddedTasks).not.toHaveBeenCalled();
    expect(actionStateProblem(on('waive', 'a'), view(tasks, { waivesAddedTasks }))).toBe(
      'a was added during the close and has no waiver checkpoint: skip it with a reason',
    );
    expect(actionStateProblem(on('waive', 'a'), view(tasks))).toBeUndefined();
  });

  it('reassigns an unfinished task only', () => {
    const tasks = [status('p', 'pending'), status('s', 'skipped')];
    expect(actionStateProblem(on('reassign', 'p', { to: 'bob' }), view(tasks))).toBeUndefined();
    expect(actionStateProblem(on('reassign', 's', { to: 'bob' }), view(tasks))).toBe('s is already skipped');
  });

  it('takes an attestation of a documentation task only while it shows the text to attest', () => {
    const waiting = { text: 'I attest', requiredFrom: ['controller'] };
    const tasks = [
      status('doc', 'running', { kind: 'documentation', awaitingAttestation: waiting }),
      status('doc2', 'done', { kind: 'documentation' }),
      status('je', 'running'),
    ];
    expect(actionStateProblem(on('attest', 'doc'), view(tasks))).toBeUndefined();
    expect(actionStateProblem(on('attest', 'doc2'), view(tasks))).toBe(
      'doc2 is done and waits for no attestation: it is attested while its status shows the text to attest',
    );
    // Another kind is judged by the control rule when applied.
    expect(actionStateProblem(on('attest', 'je'), view(tasks))).toBeUndefined();
  });

  it('skips an unfinished task whose work is not under way and whose waiver is not waiting', () => {
    const tasks = [status('p', 'pending'), status('d', 'waived')];
    expect(actionStateProblem(on('skip', 'p'), view(tasks))).toBeUndefined();
    expect(actionStateProblem(on('skip', 'd'), view(tasks))).toBe('d is already waived');
    expect(actionStateProblem(on('skip', 'p'), view(tasks, { working: () => true }))).toBe(
      'p is running: wait for it to finish or fail, then skip it',
    );
    expect(actionStateProblem(on('skip', 'p'), view(tasks, { waiverPending: () => true }))).toBe(
      'a waiver of p is waiting for its approval',
    );
  });

  it('has nothing against an action the close does not know (its shape check refuses it first)', () => {
    const tasks = [status('p', 'pending')];
    expect(actionStateProblem(on('other' as TaskAction['action'], 'p'), view(tasks))).toBeUndefined();
  });
});

describe('adding a task to the plan', () => {
  const plan = parseClosePlan({
    company: 'ACME',
    period: '2026-10',
    owner: 'olga',
    tasks: [{ id: 'je', name: 'Accruals', kind: 'manual', ownerRole: 'accountant' }],
  });
  const calendar = {};

  it('appends the task to a copy of the plan', () => {
    const r = addedTaskPlan(
      plan,
      { id: 'fx', name: 'FX', kind: 'manual', ownerRole: 'accountant' },
      {
        periodEnd: '2026-10-31',
      },
    );
    expect(r.problem).toBeUndefined();
    expect(r.plan?.tasks.map((t) => t.id)).toEqual(['je', 'fx']);
    expect(r.task?.id).toBe('fx');
    expect(r.deadline).toBeUndefined();
    expect(plan.tasks).toHaveLength(1);
  });

  it('refuses a task the plan schema refuses, with the schema message', () => {
    const r = addedTaskPlan(plan, { id: 'fx', kind: 'manual' }, { periodEnd: '2026-10-31' });
    expect(r.plan).toBeUndefined();
    expect(r.problem).toMatch(/with the added task/);
  });

  it('resolves the deadline of an added task on the business calendar of the close', () => {
    const task = { id: 'fx', name: 'FX', kind: 'manual', ownerRole: 'accountant', deadline: 'BD+3' };
    const r = addedTaskPlan(plan, task, { periodEnd: '2026-10-31', calendar });
    expect(r.problem).toBeUndefined();
    expect(typeof r.deadline).toBe('number');
    expect(new Date(r.deadline as number).toISOString().slice(0, 10)).toBe('2026-11-04');
  });

  it('refuses a deadline when the close resolved no calendar, or a deadline it cannot read', () => {
    const task = { id: 'fx', name: 'FX', kind: 'manual', ownerRole: 'accountant', deadline: 'BD+3' };
    expect(addedTaskPlan(plan, task, { periodEnd: '2026-10-31' }).problem).toBe(
      'task fx: this close resolved no business calendar, so it takes no deadline',
    );
    const late = { ...task, deadline: 'BD+40' };
    expect(
      addedTaskPlan(plan, late, {
        periodEnd: '2026-10-31',
        calendar: { coverage: { from: '2026-10-01', to: '2026-11-30' } },
      }).problem,
    ).toMatch(/^task fx: deadline BD\+40: /);
  });
});
