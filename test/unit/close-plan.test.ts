import { parseDuration } from '../../domain/approval/policy';
import { DurationError, durationMs } from '../../domain/duration';
import {
  ClosePlanError,
  type ClosePlanInput,
  HOLIDAY_TYPES,
  TASK_KINDS,
  closePlanSchema,
  closeTaskSchema,
  holidayConfigSchema,
  parseClosePlan,
  retryPolicySchema,
} from '../../domain/close/plan';

function minimal(): ClosePlanInput {
  return {
    company: 'ACME',
    period: '2026-10',
    owner: 'controller',
    tasks: [
      { id: 'gl_vs_erp', name: 'GL vs ERP', kind: 'reconciliation', ownerRole: 'accountant' },
      { id: 'review', name: 'Review', kind: 'approval', ownerRole: 'supervisor', predecessors: ['gl_vs_erp'] },
    ],
  };
}

function problems(input: unknown): ClosePlanError {
  try {
    parseClosePlan(input);
  } catch (e) {
    if (e instanceof ClosePlanError) return e;
    throw e;
  }
  throw new Error('the plan was accepted');
}

describe('durations', () => {
  it('reads the units people write', () => {
    expect(durationMs('2h')).toBe(2 * 3_600_000);
    expect(durationMs('1d')).toBe(86_400_000);
    expect(durationMs('1h30m')).toBe(90 * 60_000);
    expect(durationMs('1w')).toBe(7 * 86_400_000);
    expect(durationMs('45s')).toBe(45_000);
    expect(durationMs('0h')).toBe(0);
  });

  it('reads plans and approval policies with one grammar: weeks and milliseconds in both', () => {
    expect(durationMs('1w2d500ms')).toBe(9 * 86_400_000 + 500);
    expect(parseDuration('1w')).toBe(7 * 86_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDuration('0h', 'escalation.timeout')).toThrow(
      'escalation.timeout: "0h" must be longer than zero',
    );
    expect(() => durationMs('1h', 'tasks[2].expectedDuration')).not.toThrow();
    expect(() => durationMs('1ms1h', 'tasks[2].expectedDuration')).toThrow(
      /^tasks\[2\]\.expectedDuration: units must go/,
    );
  });

  it('refuses anything else', () => {
    expect(() => durationMs('2 hours')).toThrow(
      new DurationError('expected a duration such as "4h", "30m", "1d", "90s" or "1h30m", got "2 hours"'),
    );
    expect(() => durationMs('30m1h')).toThrow(/units must go from largest to smallest, once each, in "30m1h"/);
    expect(() => durationMs('1h1h')).toThrow(/units must go from largest to smallest/);
    expect(() => durationMs('99999999999999w')).toThrow(/is too long/);
    expect(() => durationMs(2 as unknown as string)).toThrow(/got 2 \(a number, not a string\)/);
  });
});

describe('close plan', () => {
  it('parses a minimal plan and spells out the short forms', () => {
    const plan = parseClosePlan(minimal());
    expect(plan.tasks[1].predecessors).toEqual([{ task: 'gl_vs_erp', type: 'FS' }]);
    expect(plan.tasks[0].predecessors).toEqual([]);
    expect(plan.tasks[0].config).toEqual({});
    // The parsed plan is itself a valid plan (it travels as a workflow input and is parsed again there).
    expect(parseClosePlan(JSON.parse(JSON.stringify(plan)))).toEqual(plan);
  });

  it('takes every documented field', () => {
    const plan = parseClosePlan({
      ...minimal(),
      period: 'FY2026-P10',
      name: 'ACME October close',
      fiscalCalendar: {
        type: 'weeks_52_53',
        pattern: '4-4-5',
        yearEnd: { rule: 'last', weekday: 'saturday', month: 12 },
      },
      holidays: {
        country: 'US',
        state: 'NY',
        types: ['public', 'bank'],
        partialDays: 'open',
        closedDays: ['2026-11-27'],
        weekend: ['saturday', 'sunday'],
      },
      deadline: '{month_end_date} + 3 business days',
      cutoff: { time: '18:00', utcOffset: '-05:00' },
      maxParallel: 4,
      tasks: [
        {
          id: 'validate',
          name: 'Validate feeds',
          description: 'Every sub-system answers with control totals',
          kind: 'activity',
          activity: 'validateSubsystems',
          ownerRole: 'accountant',
          deadline: 'BD+1',
          expectedDuration: '1h',
          doneWhen: 'all sources answered',
          retry: {
            maximumAttempts: 5,
            initialInterval: '30s',
            backoffCoefficient: 2,
            maximumInterval: '10m',
            nonRetryableErrorTypes: ['InvalidConfig'],
          },
          config: { sources: ['gl', 'erp'] },
        },
        {
          id: 'notes',
          name: 'Notes',
          kind: 'documentation',
          ownerRole: 'controller',
          predecessors: [
            { task: 'validate', type: 'FF' },
            { task: 'validate', type: 'SS_WARN' },
          ],
        },
      ],
    });
    expect(plan.tasks[0].retry?.maximumAttempts).toBe(5);
    expect(plan.tasks[1].predecessors.map((p) => p.type)).toEqual(['FF', 'SS_WARN']);
  });

  it('lists every problem at once, each with its path and task', () => {
    const e = problems({
      company: 'AC ME',
      period: '2026-10',
      owner: 'controller',
      maxParallel: 0,
      tasks: [
        { id: 'a', name: 'A', kind: 'manual', ownerRole: 'accountant', deadline: 'BD+x', expectedDuration: '2 hours' },
        { id: 'b', name: 'B', kind: 'chore', ownerRole: 'accountant', predecesors: ['a'] },
        { id: 'c', name: 'C', kind: 'report', ownerRole: 'accountant', predecessors: ['a', 'zz'] },
      ],
    });
    const byPath = Object.fromEntries(e.issues.map((i) => [i.path, i]));
    expect(Object.keys(byPath).sort()).toEqual(
      [
        'company',
        'maxParallel',
        'tasks[0].deadline',
        'tasks[0].expectedDuration',
        'tasks[1].kind',
        'tasks[1].predecesors',
        'tasks[2].predecessors[1]',
      ].sort(),
    );
    expect(byPath['tasks[1].predecesors']).toEqual({
      path: 'tasks[1].predecesors',
      task: 'b',
      message: 'unknown field',
    });
    expect(byPath['tasks[0].deadline'].message).toMatch(/deadline "BD\+x" is not understood/);
    expect(byPath['tasks[1].kind'].message).toBe(`kind is one of ${TASK_KINDS.join(', ')}`);
    expect(byPath['tasks[2].predecessors[1]'].message).toBe('task "c" depends on unknown task "zz"');
    expect(e.message).toContain('close plan is invalid (7 problems):');
    expect(e.message).toContain('  - tasks[1].predecesors [task b]: unknown field');
  });

  it('refuses a plan with a cycle, naming it', () => {
    const input = minimal();
    input.tasks[0].predecessors = ['review'];
    const e = problems(input);
    expect(e.issues).toEqual([
      {
        path: 'tasks[0].predecessors',
        task: 'gl_vs_erp',
        message:
          'dependency cycle: gl_vs_erp -> review -> gl_vs_erp (each task waits for the one before it, so none can start)',
      },
    ]);
  });

  it('reports graph problems even when other fields are wrong too', () => {
    const input = minimal() as Record<string, unknown>;
    input.owner = '';
    (input.tasks as unknown[]).push(
      { id: 'gl_vs_erp', name: 'Again', kind: 'manual', ownerRole: 'x' },
      { id: 5, name: 'no id', kind: 'manual', ownerRole: 'x' },
      'not a task',
      { id: 'odd', name: 'Odd', kind: 'manual', ownerRole: 'x', predecessors: [7, { task: 'review', type: 'XX' }] },
      { id: 'odd2', name: 'Odd', kind: 'manual', ownerRole: 'x', predecessors: 'review' },
    );
    const e = problems(input);
    const paths = e.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'owner',
        'tasks[2].id',
        'tasks[3].id',
        'tasks[4]',
        'tasks[5].predecessors[0]',
        'tasks[5].predecessors[1].type',
        'tasks[6].predecessors',
      ]),
    );
    expect(e.issues.find((i) => i.path === 'tasks[2].id')?.message).toBe(
      'task id "gl_vs_erp" is used twice (tasks[0] and tasks[2])',
    );
    expect(e.issues.find((i) => i.path === 'tasks[5].predecessors[0]')?.message).toBe(
      'a predecessor is a task id or { task, type }',
    );
    expect(e.issues.find((i) => i.path === 'tasks[5].predecessors[1].type')?.message).toBe(
      'a dependency type is one of FS, FF, SS_WARN',
    );
  });

  it('refuses tasks that wait on a cycle as unreachable', () => {
    const e = problems({
      ...minimal(),
      tasks: [
        { id: 'a', name: 'A', kind: 'manual', ownerRole: 'r', predecessors: ['b'] },
        { id: 'b', name: 'B', kind: 'manual', ownerRole: 'r', predecessors: ['a'] },
        { id: 'c', name: 'C', kind: 'manual', ownerRole: 'r', predecessors: ['b'] },
      ],
    });
    expect(e.issues.map((i) => i.message)).toEqual([
      'dependency cycle: a -> b -> a (each task waits for the one before it, so none can start)',
      'task "c" can never complete: it waits for "b", which is on the cycle a -> b -> a',
    ]);
  });

  it('checks the period against the fiscal calendar', () => {
    const weekly = {
      ...minimal(),
      fiscalCalendar: {
        type: 'weeks_52_53',
        pattern: '4-4-5',
        yearEnd: { rule: 'last', weekday: 'saturday', month: 12 },
      },
    };
    expect(problems(weekly).issues).toEqual([
      {
        path: 'period',
        message: expect.stringMatching(
          /names a calendar month, but a 4-4-5 calendar's periods are not calendar months/,
        ),
      },
    ]);
    expect(problems({ ...minimal(), period: '2026-13' }).issues[0]).toMatchObject({ path: 'period' });
    expect(problems({ ...minimal(), fiscalCalendar: { type: 'calendar_months', startMonth: 0 } }).issues).toEqual([
      { path: 'fiscalCalendar.startMonth', message: 'a month is 1-12' },
    ]);
  });

  it('requires the activity name exactly for activity tasks', () => {
    const input = minimal();
    input.tasks[0] = { ...input.tasks[0], kind: 'activity' };
    input.tasks[1] = { ...input.tasks[1], activity: 'approveIt' };
    expect(problems(input).issues).toEqual([
      { path: 'tasks[0].activity', task: 'gl_vs_erp', message: 'a task of kind activity names the activity to run' },
      {
        path: 'tasks[1].activity',
        task: 'review',
        message: 'only a task of kind activity names an activity (this one is approval)',
      },
    ]);
  });

  it('refuses bad holiday, cut-off and retry settings', () => {
    const e = problems({
      ...minimal(),
      holidays: {
        country: 'USA',
        types: [],
        closedDays: ['2026-11-31'],
        weekend: ['saturday', 'sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday'],
      },
      cutoff: { time: '6pm', utcOffset: 'EST' },
      tasks: [{ ...minimal().tasks[0], retry: { maximumAttempts: 0, initialInterval: '0s', backoffCoefficient: 0.5 } }],
    });
    const byPath = Object.fromEntries(e.issues.map((i) => [i.path, i.message]));
    expect(byPath).toEqual({
      'holidays.country': 'country is a two-letter ISO 3166-1 code such as "US"',
      'holidays.types': 'types lists at least one holiday type',
      'holidays.closedDays[0]': 'expected an ISO date yyyy-mm-dd',
      'holidays.weekend': 'a week needs at least one business day',
      'cutoff.time': 'time is HH:MM on a 24-hour clock, e.g. "17:00"',
      'cutoff.utcOffset': 'utcOffset is "Z" or ±HH:MM, e.g. "-05:00"',
      'tasks[0].retry.maximumAttempts': 'maximumAttempts is at least 1',
      'tasks[0].retry.initialInterval': '"0s" must be longer than zero',
      'tasks[0].retry.backoffCoefficient': 'backoffCoefficient is at least 1',
    });
  });

  it('refuses an unknown field in a predecessor and a plan without tasks', () => {
    const input = minimal();
    input.tasks[1].predecessors = [{ task: 'gl_vs_erp', lag: '1d' } as never];
    expect(problems(input).issues).toEqual([
      { path: 'tasks[1].predecessors[0].lag', task: 'review', message: 'unknown field' },
    ]);
    const { tasks: _tasks, ...noTasks } = minimal();
    expect(problems(noTasks).issues).toEqual([
      { path: 'tasks', message: 'Invalid input: expected array, received undefined' },
    ]);
  });

  it('refuses what is not a plan at all, and names the source', () => {
    expect(() => parseClosePlan('tasks: []', 'plans/oct.yaml')).toThrow(
      /^close plan plans\/oct.yaml is invalid \(1 problem\):\n {2}- \(plan\): /,
    );
    expect(problems({ ...minimal(), tasks: [] }).issues).toEqual([
      { path: 'tasks', message: 'a close plan has at least one task' },
    ]);
  });

  it('exposes its parts as schemas for builders and other definitions', () => {
    expect(closeTaskSchema.safeParse({ id: 'x', name: 'X', kind: 'report', ownerRole: 'controller' }).success).toBe(
      true,
    );
    expect(holidayConfigSchema.safeParse({ country: 'DE', state: 'BY', types: [...HOLIDAY_TYPES] }).success).toBe(true);
    expect(holidayConfigSchema.safeParse({ country: 'DE', types: ['religious'] }).error?.issues[0].message).toBe(
      `a holiday type is one of ${HOLIDAY_TYPES.join(', ')}`,
    );
    expect(retryPolicySchema.safeParse({ maximumAttempts: 2, maximumInterval: '1h' }).success).toBe(true);
  });

  it('is usable as a schema inside larger definitions, with the same checks', () => {
    const input = minimal();
    input.tasks[0].predecessors = ['review'];
    const r = closePlanSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].message).toMatch(/^dependency cycle: gl_vs_erp -> review -> gl_vs_erp/);
  });
});
