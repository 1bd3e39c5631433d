import {
  type GraphPlan,
  type GraphTask,
  type TaskStates,
  TaskGraphError,
  blockedBy,
  TASK_STATES,
  eligibleTasks,
  finishBlockers,
  graphStatus,
  isFinished,
  percentDone,
  readyTasks,
  schedule,
  topologicalOrder,
  validateTaskGraph,
} from '../../domain/close/task-graph';

const H = 3_600_000;
const NOW = Date.UTC(2026, 10, 2, 9, 0);

function plan(tasks: GraphTask[], maxParallel?: number): GraphPlan {
  return maxParallel === undefined ? { tasks } : { tasks, maxParallel };
}

describe('task graph validation', () => {
  it('accepts a well-formed graph', () => {
    expect(
      validateTaskGraph([
        { id: 'a' },
        { id: 'b', predecessors: ['a'] },
        { id: 'c', predecessors: [{ task: 'a', type: 'FF' }, 'b'] },
      ]),
    ).toEqual([]);
  });

  it('refuses a duplicate id, naming both places', () => {
    expect(validateTaskGraph([{ id: 'a' }, { id: 'b' }, { id: 'a' }])).toEqual([
      { code: 'duplicate_id', path: [2, 'id'], message: 'task id "a" is used twice (tasks[0] and tasks[2])' },
    ]);
  });

  it('refuses an unknown predecessor and suggests a near miss', () => {
    const issues = validateTaskGraph([
      { id: 'gl_vs_erp' },
      { id: 'approval', predecessors: ['gl_vs_epr'] },
      { id: 'report', predecessors: ['approval', 'nothing_like_it'] },
    ]);
    expect(issues).toContainEqual({
      code: 'unknown_predecessor',
      path: [1, 'predecessors', 0],
      message: 'task "approval" depends on unknown task "gl_vs_epr" (did you mean "gl_vs_erp"?)',
    });
    expect(issues).toContainEqual({
      code: 'unknown_predecessor',
      path: [2, 'predecessors', 1],
      message: 'task "report" depends on unknown task "nothing_like_it"',
    });
  });

  it('refuses a cycle and names it in order', () => {
    const issues = validateTaskGraph([
      { id: 'a', predecessors: ['c'] },
      { id: 'b', predecessors: ['a'] },
      { id: 'c', predecessors: ['b'] },
    ]);
    expect(issues).toEqual([
      {
        code: 'cycle',
        path: [0, 'predecessors'],
        message: 'dependency cycle: a -> b -> c -> a (each task waits for the one before it, so none can start)',
      },
    ]);
  });

  it('refuses a task that waits for itself', () => {
    expect(validateTaskGraph([{ id: 'a', predecessors: [{ task: 'a', type: 'FF' }] }])[0].message).toMatch(
      /^dependency cycle: a -> a /,
    );
  });

  it('names the shortest cycle and the other tasks caught in the same knot', () => {
    const issues = validateTaskGraph([
      { id: 'a', predecessors: ['b'] },
      { id: 'b', predecessors: ['a', 'c'] },
      { id: 'c', predecessors: ['b'] },
    ]);
    expect(issues).toHaveLength(1);
    expect(issues[0].message).toBe(
      'dependency cycle: a -> b -> a (each task waits for the one before it, so none can start); also caught in it: "c"',
    );
  });

  it('names every other task caught in a knot, in plan order, and what waits on it from outside', () => {
    const issues = validateTaskGraph([
      { id: 'a', predecessors: ['b'] },
      { id: 'b', predecessors: ['a', 'c', 'd'] },
      { id: 'c', predecessors: ['b'] },
      { id: 'd', predecessors: ['b'] },
      { id: 'e', predecessors: [{ task: 'a' }] },
    ]);
    expect(issues.map((i) => i.message)).toEqual([
      'dependency cycle: a -> b -> a (each task waits for the one before it, so none can start); also caught in it: "c", "d"',
      'task "e" can never complete: it waits for "a", which is on the cycle a -> b -> a',
    ]);
  });

  it('picks one shortest cycle where two paths lead round the same knot', () => {
    const issues = validateTaskGraph([
      { id: 'a', predecessors: ['d'] },
      { id: 'b', predecessors: ['a'] },
      { id: 'c', predecessors: ['a'] },
      { id: 'd', predecessors: ['b', 'c'] },
    ]);
    expect(issues.map((i) => i.message)).toEqual([
      'dependency cycle: a -> b -> d -> a (each task waits for the one before it, so none can start); also caught in it: "c"',
    ]);
  });

  it('reports a task once however many unknown tasks it names', () => {
    const issues = validateTaskGraph([
      { id: 'x', predecessors: ['p1', 'p2'] },
      { id: 'y', predecessors: ['x'] },
    ]);
    expect(issues.map((i) => i.code)).toEqual(['unknown_predecessor', 'unknown_predecessor', 'unreachable']);
    expect(issues[2].message).toBe('task "y" can never complete: it waits for "x", which waits for unknown task "p1"');
  });

  it('reports tasks that can never complete because they wait on a cycle, with the chain', () => {
    const issues = validateTaskGraph([
      { id: 'a', predecessors: ['c'] },
      { id: 'b', predecessors: ['a'] },
      { id: 'c', predecessors: ['b'] },
      { id: 'd', predecessors: [{ task: 'c', type: 'FF' }] },
      { id: 'e', predecessors: ['d'] },
      { id: 'free' },
    ]);
    const unreachable = issues.filter((i) => i.code === 'unreachable');
    expect(unreachable).toEqual([
      {
        code: 'unreachable',
        path: [3, 'predecessors'],
        message: 'task "d" can never complete: it waits for "c", which is on the cycle a -> b -> c -> a',
      },
      {
        code: 'unreachable',
        path: [4, 'predecessors'],
        message:
          'task "e" can never complete: it waits for "d", which waits for "c", which is on the cycle a -> b -> c -> a',
      },
    ]);
  });

  it('reports tasks that wait, through others, on an unknown task', () => {
    const issues = validateTaskGraph([
      { id: 'x', predecessors: ['zz'] },
      { id: 'y', predecessors: ['x'] },
      { id: 'z' },
    ]);
    expect(issues.map((i) => i.code)).toEqual(['unknown_predecessor', 'unreachable']);
    expect(issues[1].message).toBe('task "y" can never complete: it waits for "x", which waits for unknown task "zz"');
  });

  it('orders tasks after their predecessors, taking next the earliest task in the plan that is free to go', () => {
    const p = plan([
      { id: 'report', predecessors: ['approve'] },
      { id: 'recon_b', predecessors: ['validate'] },
      { id: 'validate' },
      { id: 'approve', predecessors: ['recon_a', { task: 'recon_b', type: 'SS_WARN' }] },
      { id: 'recon_a', predecessors: ['validate'] },
      { id: 'independent' },
    ]);
    expect(topologicalOrder(p)).toEqual(['validate', 'recon_b', 'recon_a', 'approve', 'report', 'independent']);
  });

  it('refuses to order, schedule or answer for an invalid graph', () => {
    const bad = plan([
      { id: 'a', predecessors: ['b'] },
      { id: 'b', predecessors: ['a'] },
    ]);
    expect(() => topologicalOrder(bad)).toThrow(TaskGraphError);
    expect(() => readyTasks(bad, {})).toThrow(/dependency cycle: a -> b -> a/);
    expect(() => schedule(bad, { now: NOW })).toThrow(/the close plan's task graph is invalid/);
  });
});

describe('ready tasks', () => {
  const diamond = plan([
    { id: 'validate' },
    { id: 'recon_a', predecessors: ['validate'] },
    { id: 'recon_b', predecessors: ['validate'] },
    { id: 'approve', predecessors: ['recon_a', 'recon_b'] },
  ]);

  it('answers from the current task list even when the same array was changed in place since the last question', () => {
    const tasks: GraphTask[] = [{ id: 'a' }, { id: 'b', predecessors: ['a'] }];
    const p = plan(tasks);
    expect(readyTasks(p, {})).toEqual(['a']);
    tasks.push({ id: 'c' });
    expect(readyTasks(p, {})).toEqual(['a', 'c']);
    tasks[1] = { id: 'b' };
    expect(readyTasks(p, {}).sort()).toEqual(['a', 'b', 'c']);
    tasks[0] = { id: 'a', predecessors: ['b'], expectedDuration: '2h' };
    expect(readyTasks(p, {}).sort()).toEqual(['b', 'c']);
    tasks[1] = { id: 'b', predecessors: [{ task: 'c', type: 'SS_WARN' }] };
    expect(readyTasks(p, { c: 'done_with_warnings' })).toEqual(['b']);
    // A new plan object over the same list is the same graph.
    expect(readyTasks(plan(tasks), { c: 'done_with_warnings' })).toEqual(['b']);
  });

  it('starts with the tasks that wait for nothing', () => {
    expect(readyTasks(diamond, {})).toEqual(['validate']);
    expect(readyTasks(diamond, { validate: 'running' })).toEqual([]);
  });

  it('runs independent tasks in parallel once their predecessor is done', () => {
    expect(readyTasks(diamond, { validate: 'done' })).toEqual(['recon_a', 'recon_b']);
    expect(readyTasks(diamond, { validate: 'done', recon_a: 'done', recon_b: 'running' })).toEqual([]);
    expect(readyTasks(diamond, { validate: 'done', recon_a: 'done', recon_b: 'done' })).toEqual(['approve']);
  });

  it('lets a skipped or waived predecessor through', () => {
    expect(readyTasks(diamond, { validate: 'skipped', recon_a: 'waived', recon_b: 'done' })).toEqual(['approve']);
  });

  it('accepts a finish with warnings only through an SS_WARN dependency', () => {
    const p = plan([
      { id: 'recon' },
      { id: 'review', predecessors: [{ task: 'recon', type: 'SS_WARN' }] },
      { id: 'post', predecessors: ['recon'] },
    ]);
    expect(readyTasks(p, { recon: 'done_with_warnings' })).toEqual(['review']);
    expect(blockedBy(p, { recon: 'done_with_warnings' })).toEqual([
      {
        task: 'post',
        cannot: 'start',
        chain: ['recon'],
        root: 'recon',
        rootState: 'done_with_warnings',
        rootReason: 'finished with warnings, which a FS dependency does not accept (waive or rerun it)',
        roots: ['recon'],
        message:
          '"post" cannot start: it waits for "recon", which finished with warnings, which a FS dependency does not ' +
          'accept (waive or rerun it)',
      },
    ]);
    expect(readyTasks(p, { recon: 'waived', review: 'done' })).toEqual(['post']);
  });

  it('starts a finish-to-finish successor at once but holds its finish until the predecessor is done', () => {
    const p = plan([{ id: 'ledger' }, { id: 'notes', predecessors: [{ task: 'ledger', type: 'FF' }] }]);
    expect(readyTasks(p, {})).toEqual(['ledger', 'notes']);
    expect(finishBlockers(p, { ledger: 'running', notes: 'running' }, 'notes')).toEqual(['ledger']);
    expect(finishBlockers(p, { ledger: 'done', notes: 'running' }, 'notes')).toEqual([]);
    expect(finishBlockers(p, {}, 'ledger')).toEqual([]);
    expect(() => finishBlockers(p, {}, 'nope')).toThrow(/unknown task "nope"/);
  });

  it('never starts more than maxParallel tasks at once, longest remaining work first', () => {
    const p = plan(
      [
        { id: 'short', expectedDuration: '1h' },
        { id: 'long', expectedDuration: '1h' },
        { id: 'after_long', predecessors: ['long'], expectedDuration: '5h' },
        { id: 'medium', expectedDuration: '3h' },
        { id: 'running_one', expectedDuration: '1h' },
      ],
      3,
    );
    expect(eligibleTasks(p, { running_one: 'running' })).toEqual(['long', 'medium', 'short']);
    expect(readyTasks(p, { running_one: 'running' })).toEqual(['long', 'medium']);
    expect(readyTasks(p, { running_one: 'running', long: 'running', medium: 'running' })).toEqual([]);
    expect(readyTasks({ ...p, maxParallel: 10 }, {})).toHaveLength(4);
  });

  it('refuses a state for a task the plan does not have', () => {
    expect(() => readyTasks(diamond, { ghost: 'done' })).toThrow(/state given for unknown task "ghost"/);
  });
});

describe('blocked tasks', () => {
  // validate -> recon_a -> approve_a -> report; validate -> recon_b -> approve_b; docs stands alone.
  const p = plan([
    { id: 'validate' },
    { id: 'recon_a', predecessors: ['validate'] },
    { id: 'recon_b', predecessors: ['validate'] },
    { id: 'approve_a', predecessors: ['recon_a'] },
    { id: 'approve_b', predecessors: ['recon_b'] },
    { id: 'report', predecessors: ['approve_a', { task: 'approve_b', type: 'SS_WARN' }] },
    { id: 'docs' },
  ]);

  it('blocks only the dependants of a failing task, while independent branches go on', () => {
    const states: TaskStates = { validate: 'done', docs: 'done', recon_a: 'failed' };
    expect(readyTasks(p, states)).toEqual(['recon_b']);
    const blocked = blockedBy(p, states);
    expect(blocked.map((b) => b.task)).toEqual(['approve_a', 'report']);
    expect(blocked[1]).toMatchObject({
      chain: ['approve_a', 'recon_a'],
      root: 'recon_a',
      rootState: 'failed',
      message: '"report" cannot start: it waits for "approve_a", which waits for "recon_a", which failed',
    });
    // The other branch keeps going to its end.
    const later: TaskStates = { ...states, recon_b: 'done' };
    expect(readyTasks(p, later)).toEqual(['approve_b']);
    expect(readyTasks(p, { ...later, approve_b: 'done' })).toEqual([]);
  });

  it('lists every root cause when two branches are broken', () => {
    const blocked = blockedBy(p, { validate: 'done', recon_a: 'failed', recon_b: 'blocked' });
    const report = blocked.find((b) => b.task === 'report');
    expect(report?.roots.sort()).toEqual(['recon_a', 'recon_b']);
    expect(blocked.find((b) => b.task === 'approve_b')?.message).toBe(
      '"approve_b" cannot start: it waits for "recon_b", which is blocked',
    );
  });

  it('frees the dependants once the failed task is rerun or waived', () => {
    expect(blockedBy(p, { validate: 'done', recon_a: 'pending' })).toEqual([]);
    expect(readyTasks(p, { validate: 'done', docs: 'done', recon_a: 'waived', recon_b: 'running' })).toEqual([
      'approve_a',
    ]);
  });

  it('holds a running task that cannot finish because of a finish-to-finish predecessor', () => {
    const ff = plan([
      { id: 'ledger' },
      { id: 'notes', predecessors: [{ task: 'ledger', type: 'FF' }] },
      { id: 'pub', predecessors: ['notes'] },
    ]);
    const blocked = blockedBy(ff, { ledger: 'failed', notes: 'running' });
    expect(blocked.map((b) => [b.task, b.cannot])).toEqual([
      ['notes', 'finish'],
      ['pub', 'start'],
    ]);
    expect(blocked[0].message).toBe('"notes" cannot finish: it waits for "ledger", which failed');
    // A running task's start dependencies are history: only FF can hold it.
    const fs = plan([{ id: 'a' }, { id: 'b', predecessors: ['a'] }]);
    expect(blockedBy(fs, { a: 'failed', b: 'running' })).toEqual([]);
  });
});

describe('critical path and slack', () => {
  // a(2h) -> b(3h) -> d(2h); a -> c(1h) -> d. Longest chain a, b, d = 7h; c has 2h of slack.
  const p = plan([
    { id: 'a', expectedDuration: '2h' },
    { id: 'b', predecessors: ['a'], expectedDuration: '3h' },
    { id: 'c', predecessors: ['a'], expectedDuration: '1h' },
    { id: 'd', predecessors: ['b', 'c'], expectedDuration: '2h' },
  ]);

  it('finds the longest chain of expected work and the slack of the rest', () => {
    const s = schedule(p, { now: NOW });
    expect(s.criticalPath).toEqual(['a', 'b', 'd']);
    expect(s.projectedEnd).toBe(NOW + 7 * H);
    const byId = Object.fromEntries(s.tasks.map((t) => [t.id, t]));
    expect(byId.c).toMatchObject({
      earliestStart: NOW + 2 * H,
      earliestFinish: NOW + 3 * H,
      slack: 2 * H,
      critical: false,
    });
    expect(byId.b).toMatchObject({ slack: 0, critical: true, atRisk: false, late: false });
    expect(byId.d.latestFinish).toBe(NOW + 7 * H);
  });

  it('marks tasks at risk when a deadline leaves them no slack, before they are late', () => {
    const s = schedule(p, { now: NOW, deadlines: { d: NOW + 6 * H } });
    const byId = Object.fromEntries(s.tasks.map((t) => [t.id, t]));
    expect(byId.d).toMatchObject({ slack: -1 * H, atRisk: true, late: false });
    expect(byId.b).toMatchObject({ latestFinish: NOW + 4 * H, atRisk: true });
    expect(byId.a).toMatchObject({ latestFinish: NOW + 1 * H, atRisk: true });
    expect(byId.c).toMatchObject({ slack: 1 * H, atRisk: false });
    const withMargin = schedule(p, { now: NOW, deadlines: { d: NOW + 6 * H }, atRiskMargin: 1 * H });
    expect(withMargin.tasks.find((t) => t.id === 'c')?.atRisk).toBe(true);
  });

  it('marks an open task late once its deadline or the close deadline has passed', () => {
    const s = schedule(p, {
      now: NOW,
      deadlines: { a: NOW - H },
      states: { a: 'running' },
      startedAt: { a: NOW - 3 * H },
    });
    const a = s.tasks.find((t) => t.id === 'a');
    expect(a).toMatchObject({ late: true, atRisk: false, earliestFinish: NOW });
    const all = schedule(p, { now: NOW, closeDeadline: NOW });
    expect(all.tasks.every((t) => t.late)).toBe(true);
  });

  it('plans from the current states: finished tasks take no time, running ones their remainder', () => {
    const s = schedule(p, { now: NOW, states: { a: 'done', b: 'running', c: 'done' }, startedAt: { b: NOW - 2 * H } });
    expect(s.criticalPath).toEqual(['b', 'd']);
    expect(s.projectedEnd).toBe(NOW + 3 * H);
    const a = s.tasks.find((t) => t.id === 'a');
    expect(a).toMatchObject({ latestFinish: null, slack: null, critical: false, atRisk: false, late: false });
    const running = schedule(p, { now: NOW, states: { a: 'running' } });
    expect(running.projectedEnd).toBe(NOW + 7 * H);
  });

  it('has an empty critical path when everything is finished', () => {
    const s = schedule(p, { now: NOW, states: { a: 'done', b: 'done', c: 'skipped', d: 'waived' } });
    expect(s.criticalPath).toEqual([]);
    expect(s.projectedEnd).toBe(NOW);
  });

  it('lets a finish-to-finish successor start early but not finish before its predecessor', () => {
    const ff = plan([
      { id: 'x', expectedDuration: '4h' },
      { id: 'y', predecessors: [{ task: 'x', type: 'FF' }], expectedDuration: '1h' },
      { id: 'z', predecessors: ['y'], expectedDuration: '1h' },
    ]);
    const s = schedule(ff, { now: NOW, deadlines: { z: NOW + 5 * H } });
    const y = s.tasks.find((t) => t.id === 'y');
    expect(y).toMatchObject({ earliestStart: NOW, earliestFinish: NOW + 4 * H });
    expect(s.criticalPath).toEqual(['x', 'y', 'z']);
    expect(s.tasks.find((t) => t.id === 'x')?.latestFinish).toBe(NOW + 4 * H);
  });

  it('treats a task without an expected duration as taking no time', () => {
    const s = schedule(plan([{ id: 'a' }, { id: 'b', predecessors: ['a'], expectedDuration: '1d' }]), { now: NOW });
    expect(s.projectedEnd).toBe(NOW + 24 * H);
    expect(s.criticalPath).toEqual(['b']);
  });
});

describe('percent done', () => {
  const p = plan([{ id: 'a', expectedDuration: '1h' }, { id: 'b', expectedDuration: '3h' }, { id: 'c' }]);

  it('counts done, done-with-warnings, skipped and waived tasks as finished, rounding down', () => {
    expect(TASK_STATES.filter(isFinished)).toEqual(['done', 'done_with_warnings', 'skipped', 'waived']);
    expect(percentDone(p, {})).toEqual({ finished: 0, total: 3, percent: 0 });
    expect(percentDone(p, { a: 'done_with_warnings', b: 'failed' })).toEqual({ finished: 1, total: 3, percent: 33 });
    expect(percentDone(p, { a: 'skipped', b: 'waived' }).percent).toBe(66);
    expect(percentDone(p, { a: 'done', b: 'done', c: 'done' }).percent).toBe(100);
  });

  it('can weigh tasks by their expected duration', () => {
    expect(percentDone(p, { b: 'done' }, { weighted: true })).toEqual({ finished: 3 * H, total: 4 * H, percent: 75 });
    const noDurations = plan([{ id: 'a' }, { id: 'b' }]);
    expect(percentDone(noDurations, { a: 'done' }, { weighted: true }).percent).toBe(50);
  });
});

describe('status in one pass', () => {
  it('answers exactly what the separate functions answer', () => {
    const p = plan(
      [
        { id: 'validate', expectedDuration: '1h' },
        { id: 'recon_a', predecessors: ['validate'], expectedDuration: '3h' },
        { id: 'recon_b', predecessors: ['validate'], expectedDuration: '2h' },
        { id: 'approve', predecessors: ['recon_a', 'recon_b'], expectedDuration: '1h' },
        { id: 'docs', expectedDuration: '2h' },
      ],
      2,
    );
    const states: TaskStates = { validate: 'done', recon_a: 'failed', docs: 'running' };
    const opts = {
      now: NOW,
      states,
      startedAt: { docs: NOW - H },
      deadlines: { approve: NOW + 5 * H },
      weighted: true,
    };
    expect(graphStatus(p, opts)).toEqual({
      ready: readyTasks(p, states),
      blocked: blockedBy(p, states),
      percent: percentDone(p, states, { weighted: true }),
      schedule: schedule(p, opts),
    });
    expect(graphStatus(p, opts).ready).toEqual(['recon_b']);
    expect(graphStatus(p, { now: NOW }).ready).toEqual(['validate', 'docs']);
  });
});
