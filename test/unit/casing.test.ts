// One casing for what people write (issue 19): plans, definitions and policies are snake_case in their files; the
// camelCase names some fields were first given are still read, parse to the same object, and are reported.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { readCasedDocument } from '../../activities/document-file';
import { securityPolicyFromEnv } from '../../activities/security/policy-file';
import { readPolicyFile } from '../../client/approval-gateway-server';
import { readClosePlan } from '../../client/close-plan-file';
import { startClose } from '../../client/close-start';
import {
  camelCase,
  deprecationWarning,
  issueAsWritten,
  normaliseKeys,
  pathAsWritten,
  snakeCase,
} from '../../domain/casing';
import { normaliseApprovalPolicyKeys, parseApprovalPolicy } from '../../domain/approval';
import { normaliseCloseInputKeys } from '../../domain/close/plan-casing';
import { ClosePlanError, parseClosePlan } from '../../domain/close/plan';
import { taskConfigIssues } from '../../domain/close/task-configs';
import { parseSecurityPolicy } from '../../domain/security/policy';
import { normaliseInput } from '../../workflows/close/input';

const dir = mkdtempSync(join(tmpdir(), 'finflow-casing-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** A close input in the old spelling (as plans were written before issue 19). */
const camelInput = {
  company: 'acme',
  period: '2026-10',
  owner: 'carla',
  fiscalCalendar: { type: 'calendar_months', startMonth: 1 },
  holidays: { closedDays: ['2026-11-27'] },
  cutoff: { time: '18:00', utcOffset: '-05:00' },
  maxParallel: 2,
  requireSignedTaskActions: true,
  approvalPolicy: {
    roles: [{ name: 'supervisor', can_approve: ['reconciliation'] }, { name: 'accountant' }],
    users: [
      { userId: 'ann', roles: ['accountant'], displayName: 'Ann' },
      { userId: 'sam', roles: ['supervisor'] },
    ],
    checkpoints: [
      { id: 'rec', item_type: 'reconciliation', required_roles: ['supervisor'], escalation: { timeout: '4h' } },
    ],
  },
  tasks: [
    {
      id: 'prep',
      name: 'Prepare',
      kind: 'manual',
      ownerRole: 'accountant',
      expectedDuration: '1h',
      doneWhen: 'done',
      retry: { maximumAttempts: 3, initialInterval: '30s' },
      // Record keys are data: never renamed, never reported.
      config: { someFreeArg: 1 },
    },
    {
      id: 'gl',
      name: 'GL vs bank',
      kind: 'reconciliation',
      ownerRole: 'accountant',
      predecessors: ['prep'],
      config: {
        reconId: 'gl',
        definition: {
          id: 'gl',
          a: {
            name: 'GL',
            source: { connector: 'csv', path: 'a.csv' },
            classification: 'internal',
            key_fields: ['id'],
            value_fields: ['amount'],
            currency: 'USD',
          },
          b: {
            name: 'BANK',
            source: { connector: 'csv', path: 'b.csv' },
            classification: 'internal',
            key_fields: ['id'],
            value_fields: ['amount'],
            currency: 'USD',
          },
          rules: [{ id: 'exact', type: 'exact' }],
          currency_decimals: { USD: 2 },
        },
      },
    },
    {
      id: 'approve',
      name: 'Approve',
      kind: 'approval',
      ownerRole: 'supervisor',
      predecessors: [{ task: 'gl', type: 'SS_WARN' }],
      config: { checkpointId: 'rec', item: { type: 'reconciliation', preparer: 'ann' } },
    },
    {
      id: 'sox',
      name: 'SOX',
      kind: 'documentation',
      ownerRole: 'supervisor',
      predecessors: ['approve'],
      config: { regulation: 'SOX', controlId: 'C-1', awaitAttestation: true, preparedBy: { id: 'ann', role: 'x' } },
    },
  ],
};

/** The same input as it is written now. */
const snakeInput = {
  company: 'acme',
  period: '2026-10',
  owner: 'carla',
  fiscal_calendar: { type: 'calendar_months', start_month: 1 },
  holidays: { closed_days: ['2026-11-27'] },
  cutoff: { time: '18:00', utc_offset: '-05:00' },
  max_parallel: 2,
  require_signed_task_actions: true,
  approval_policy: {
    roles: [{ name: 'supervisor', can_approve: ['reconciliation'] }, { name: 'accountant' }],
    users: [
      { user_id: 'ann', roles: ['accountant'], display_name: 'Ann' },
      { user_id: 'sam', roles: ['supervisor'] },
    ],
    checkpoints: [
      { id: 'rec', item_type: 'reconciliation', required_roles: ['supervisor'], escalation: { timeout: '4h' } },
    ],
  },
  tasks: [
    {
      id: 'prep',
      name: 'Prepare',
      kind: 'manual',
      owner_role: 'accountant',
      expected_duration: '1h',
      done_when: 'done',
      retry: { maximum_attempts: 3, initial_interval: '30s' },
      config: { someFreeArg: 1 },
    },
    {
      ...camelInput.tasks[1],
      ownerRole: undefined,
      owner_role: 'accountant',
      config: { recon_id: 'gl', definition: camelInput.tasks[1].config.definition },
    },
    {
      id: 'approve',
      name: 'Approve',
      kind: 'approval',
      owner_role: 'supervisor',
      predecessors: [{ task: 'gl', type: 'SS_WARN' }],
      config: { checkpoint_id: 'rec', item: { type: 'reconciliation', preparer: 'ann' } },
    },
    {
      id: 'sox',
      name: 'SOX',
      kind: 'documentation',
      owner_role: 'supervisor',
      predecessors: ['approve'],
      config: { regulation: 'SOX', control_id: 'C-1', await_attestation: true, prepared_by: { id: 'ann', role: 'x' } },
    },
  ],
};
delete (snakeInput.tasks[1] as { ownerRole?: string }).ownerRole;

function withoutOptions(input: Record<string, unknown>): Record<string, unknown> {
  const { approvalPolicy: _p, requireSignedTaskActions: _s, ...plan } = input;
  return plan;
}

describe('one casing for what people write', () => {
  it('spells a field both ways', () => {
    expect(snakeCase('ownerRole')).toBe('owner_role');
    expect(snakeCase('week53Period')).toBe('week53_period');
    expect(camelCase('owner_role')).toBe('ownerRole');
    expect(camelCase('week53_period')).toBe('week53Period');
    expect(camelCase('key_fields')).toBe('keyFields');
  });

  it('reads a snake_case close input into the object the camelCase one has always given, reporting nothing', () => {
    const keyed = normaliseCloseInputKeys(snakeInput);
    expect(keyed.deprecated).toEqual([]);
    expect(keyed.conflicts).toEqual([]);
    expect(keyed.value).toEqual(camelInput);
    expect(parseClosePlan(withoutOptions(keyed.value as Record<string, unknown>))).toEqual(
      parseClosePlan(withoutOptions(camelInput)),
    );
    expect(taskConfigIssues(keyed.value)).toEqual([]);
  });

  it('leaves an input in the internal spelling as it is, and names each old spelling with its new one', () => {
    const keyed = normaliseCloseInputKeys(camelInput);
    expect(keyed.value).toEqual(camelInput);
    expect(keyed.conflicts).toEqual([]);
    const found = keyed.deprecated.map((d) => `${d.path}: ${d.old} -> ${d.now}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'fiscalCalendar: fiscalCalendar -> fiscal_calendar',
        'fiscalCalendar.startMonth: startMonth -> start_month',
        'holidays.closedDays: closedDays -> closed_days',
        'cutoff.utcOffset: utcOffset -> utc_offset',
        'maxParallel: maxParallel -> max_parallel',
        'requireSignedTaskActions: requireSignedTaskActions -> require_signed_task_actions',
        'approvalPolicy: approvalPolicy -> approval_policy',
        'approvalPolicy.users[0].userId: userId -> user_id',
        'approvalPolicy.users[0].displayName: displayName -> display_name',
        'tasks[0].ownerRole: ownerRole -> owner_role',
        'tasks[0].retry.maximumAttempts: maximumAttempts -> maximum_attempts',
        'tasks[1].config.reconId: reconId -> recon_id',
        'tasks[2].config.checkpointId: checkpointId -> checkpoint_id',
        'tasks[3].config.controlId: controlId -> control_id',
        'tasks[3].config.preparedBy: preparedBy -> prepared_by',
      ]),
    );
    // Free-form config of a kind without a schema, and record keys, are not the plan's fields.
    expect(found.some((f) => f.includes('someFreeArg'))).toBe(false);
  });

  it('gives one warning for a file, each old name once with its new spelling and how often it occurs', () => {
    const keyed = normaliseCloseInputKeys(camelInput);
    const warning = deprecationWarning('plan.yaml', keyed.deprecated) ?? '';
    expect(warning).toMatch(/^plan\.yaml: deprecated camelCase field names/);
    expect(warning).toContain('ownerRole -> owner_role (tasks[0].ownerRole and 3 more)');
    expect(warning).toContain('userId -> user_id (approvalPolicy.users[0].userId and 1 more)');
    expect(warning.match(/ownerRole ->/g)).toHaveLength(1);
    expect(deprecationWarning('plan.yaml', [])).toBeUndefined();
  });

  it('refuses a field given in both spellings, naming both', () => {
    const keyed = normaliseCloseInputKeys({ ...camelInput, max_parallel: 3 });
    expect(keyed.conflicts).toEqual([
      {
        path: 'max_parallel',
        message: 'max_parallel and maxParallel are the same field in two spellings: keep max_parallel only',
      },
    ]);
    const policy = { ...snakeInput.approval_policy, users: [{ user_id: 'ann', userId: 'ann' }] };
    expect(() => parseApprovalPolicy(policy, 'p.yaml')).toThrow(
      /users\[0\]\.user_id: user_id and userId are the same field in two spellings/,
    );
    expect(() => parseSecurityPolicy({ default_classification: 'public', defaultClassification: 'public' })).toThrow(
      /default_classification and defaultClassification/,
    );
  });

  it('parses an approval policy written either way to the same policy', () => {
    const now = parseApprovalPolicy(snakeInput.approval_policy);
    expect(now).toEqual(parseApprovalPolicy(camelInput.approvalPolicy));
    expect(now.users[0]).toMatchObject({ userId: 'ann', displayName: 'Ann' });
    expect(normaliseApprovalPolicyKeys(snakeInput.approval_policy).deprecated).toEqual([]);
    // Item types under approval_limits are data: a key spelt like a field is not renamed.
    const p = { roles: [{ name: 'r', can_approve: ['user_id'], approval_limits: { user_id: '5' } }], users: [] };
    expect(parseApprovalPolicy(p).roles[0].approval_limits).toEqual({ user_id: '5' });
  });

  it('parses a security policy written either way to the same policy; source names are data', () => {
    const now = parseSecurityPolicy({ default_classification: 'public', sources: { gl_balances: 'internal' } });
    const old = parseSecurityPolicy({ defaultClassification: 'public', sources: { gl_balances: 'internal' } });
    expect(now).toEqual(old);
    expect(now.defaultClassification).toBe('public');
    expect(now.sources).toEqual({ gl_balances: 'internal' });
  });

  it('walks through the wrappers a schema has: lazy, default, preprocess, transform, union, record', () => {
    const inner = z.strictObject({ fooBar: z.number() });
    const schema = z.lazy(() =>
      z.object({
        listOf: z.array(z.preprocess((v) => v, inner)).default([]),
        viaTransform: inner.transform((x) => x),
        either: z.union([z.string(), inner]),
        byName: z.record(z.string(), inner),
        both: z.intersection(z.object({ leftKey: z.number() }), z.object({ rightKey: z.number() })),
      }),
    );
    const keyed = normaliseKeys(
      {
        list_of: [{ foo_bar: 1 }],
        via_transform: { foo_bar: 2 },
        either: { foo_bar: 3 },
        by_name: { some_name: { foo_bar: 4 } },
        both: { left_key: 5, right_key: 6 },
        not_known: { foo_bar: 7 },
      },
      schema,
    );
    expect(keyed.value).toEqual({
      listOf: [{ fooBar: 1 }],
      viaTransform: { fooBar: 2 },
      either: { fooBar: 3 },
      byName: { some_name: { fooBar: 4 } },
      both: { leftKey: 5, rightKey: 6 },
      not_known: { foo_bar: 7 },
    });
    expect(keyed.deprecated).toEqual([]);
    expect(normaliseKeys('text', schema).value).toBe('text');
    expect(normaliseKeys([1], z.object({ a: z.number() })).value).toEqual([1]);
  });

  it('keeps a "__proto__" key a plain field', () => {
    const raw = JSON.parse('{"__proto__": {"polluted": true}, "owner_role": "x"}') as unknown;
    const keyed = normaliseKeys(raw, z.object({ ownerRole: z.string() }));
    expect(Object.prototype.hasOwnProperty.call(keyed.value, '__proto__')).toBe(true);
    expect((keyed.value as { polluted?: unknown }).polluted).toBeUndefined();
    expect((keyed.value as { ownerRole?: unknown }).ownerRole).toBe('x');
  });
});

describe('reading files in the one casing', () => {
  const oldPlan = [
    'company: acme',
    'period: 2026-11',
    'owner: carla',
    'maxParallel: 2',
    'tasks:',
    '  - { id: a, name: A, kind: manual, ownerRole: accountant }',
    '  - { id: b, name: B, kind: manual, ownerRole: accountant, predecessors: [a] }',
  ].join('\n');
  const newPlan = oldPlan.replace('maxParallel', 'max_parallel').replace(/ownerRole/g, 'owner_role');

  it('reads an old-spelling plan to the same input as the new one, with one warning naming each field', () => {
    const warnings: string[] = [];
    const old = readClosePlan(file('old-plan.yaml', oldPlan), {}, (w) => warnings.push(w));
    const now = readClosePlan(file('new-plan.yaml', newPlan), {}, (w) => warnings.push(w));
    expect(old).toEqual(now);
    expect(now).toMatchObject({ maxParallel: 2, tasks: [{ ownerRole: 'accountant' }, { ownerRole: 'accountant' }] });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('old-plan.yaml: deprecated camelCase field names');
    expect(warnings[0]).toContain('maxParallel -> max_parallel (maxParallel)');
    expect(warnings[0]).toContain('ownerRole -> owner_role (tasks[0].ownerRole and 1 more)');
  });

  it('refuses a plan file giving a field in both spellings, naming the file and both spellings', () => {
    const p = file('both.yaml', `${newPlan}\nmaxParallel: 3\n`);
    expect(() => readClosePlan(p, {}, () => undefined)).toThrow(
      `${p}: max_parallel: max_parallel and maxParallel are the same field in two spellings: keep max_parallel only`,
    );
  });

  it('warns on stderr once per file and process when no logger is given', () => {
    const p = file('old-policy.json', JSON.stringify({ defaultClassification: 'internal' }));
    const writes: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      const policy = securityPolicyFromEnv({ FINFLOW_SECURITY_POLICY: p });
      securityPolicyFromEnv({ FINFLOW_SECURITY_POLICY: p });
      expect(policy.defaultClassification).toBe('internal');
    } finally {
      spy.mockRestore();
    }
    expect(writes).toEqual([
      `finflow: warning: FINFLOW_SECURITY_POLICY ${p}: deprecated camelCase field names, still read but write them in snake_case: defaultClassification -> default_classification (defaultClassification)\n`,
    ]);
  });

  it('reads a file in the new spelling without a word', () => {
    const warn = jest.fn();
    const p = file('new-policy.yaml', 'users: [{ user_id: ann }]\nroles: [{ name: r }]\n');
    expect(readCasedDocument(p, normaliseApprovalPolicyKeys, { warn })).toEqual({
      users: [{ userId: 'ann' }],
      roles: [{ name: 'r' }],
    });
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('the close workflow input in either spelling', () => {
  it('is the same parsed plan and run options whether started in snake_case (plain Temporal CLI) or camelCase', () => {
    const now = normaliseInput(snakeInput as never);
    const old = normaliseInput(camelInput as never);
    expect(now).toEqual(old);
    expect(now.legacy).toBe(false);
    expect(now.options).toMatchObject({ requireSignedTaskActions: true, approvalPolicy: camelInput.approvalPolicy });
    expect(now.plan.tasks[1].config).toMatchObject({ reconId: 'gl' });
  });

  it('fails the close at start, not retryable, when a field is given in both spellings', () => {
    let failure: unknown;
    try {
      normaliseInput({ ...snakeInput, maxParallel: 2 } as never);
    } catch (e) {
      failure = e;
    }
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'InvalidClosePlan', nonRetryable: true });
    expect((failure as Error).message).toContain('max_parallel and maxParallel are the same field in two spellings');
  });
});

describe("the approval gateway's policy file in the one casing", () => {
  const root = join(__dirname, '../..');

  it('reads the stack policy and the seed plan written in snake_case, and a plan written before, to the same directory', () => {
    const stack = readPolicyFile(join(root, 'deploy/config/approval-policy.yaml'));
    expect(stack.users.map((u) => u.userId)).toEqual(['ann', 'sam', 'maya', 'dan', 'carl']);
    const now = readPolicyFile(join(root, 'examples/monthly-close/close-plan.yaml'));
    expect(now.users.map((u) => u.userId)).toContain('ann.accountant');
    const writes: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      expect(readPolicyFile(join(root, 'test/fixtures/close-plan-camelcase.yaml'))).toEqual(now);
    } finally {
      spy.mockRestore();
    }
    expect(writes).toHaveLength(1);
    expect(writes[0]).toContain('userId -> user_id');
  });
});

describe('problems named as the file spells them', () => {
  it('gives an internal path the spelling of the file: fields as written, a missing field in snake_case', () => {
    const written = {
      tasks: [{ owner_role: 'x', config: { recon_id: 'r' } }, { ownerRole: 'y' }],
      approval_policy: {},
    };
    expect(pathAsWritten('tasks[0].config.reconId', written)).toBe('tasks[0].config.recon_id');
    expect(pathAsWritten('tasks[1].ownerRole', written)).toBe('tasks[1].ownerRole');
    expect(pathAsWritten('tasks[1].doneWhen', written)).toBe('tasks[1].done_when');
    expect(pathAsWritten('approvalPolicy.users[0].userId', written)).toBe('approval_policy.users[0].user_id');
    expect(pathAsWritten('', written)).toBe('');
    expect(
      issueAsWritten(
        { path: 'tasks[0].config.reconId', task: 't', message: 'a reconciliation task names its reconId' },
        written,
      ),
    ).toEqual({ path: 'tasks[0].config.recon_id', task: 't', message: 'a reconciliation task names its recon_id' });
  });

  it('names a config problem of a plan file, when the close starts, by the file and its own spelling', async () => {
    const p = file(
      'bad-config.yaml',
      [
        'company: acme',
        'period: 2026-10',
        'owner: carla',
        'tasks:',
        '  - { id: rec, name: Rec, kind: reconciliation, owner_role: accountant, config: { definition: { id: x } } }',
        '  - { id: ok, name: Approve, kind: approval, owner_role: supervisor, config: {} }',
      ].join('\n'),
    );
    const started = startClose(
      {} as never,
      { taskQueue: 'q' },
      readClosePlan(p, {}, () => undefined),
    );
    await expect(started).rejects.toThrow(ClosePlanError);
    const err = (await started.catch((e: unknown) => e)) as ClosePlanError;
    expect(err.message.split('\n')[0]).toBe(`close plan ${p} is invalid (${err.issues.length} problems):`);
    expect(err.issues).toEqual(
      expect.arrayContaining([
        { path: 'tasks[0].config.recon_id', task: 'rec', message: 'a reconciliation task names its recon_id' },
        { path: 'tasks[1].config.checkpoint_id', task: 'ok', message: 'an approval task names its checkpoint_id' },
      ]),
    );
  });
});
