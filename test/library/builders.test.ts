// The library's builders write the same close input as the YAML plan (examples/monthly-close/close-plan.yaml), and
// refuse bad input with the path of the offending field.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  ApprovalConfig,
  DataSourceRegistry,
  FinancialWorkflow,
  FinflowBuildError,
  MappingRegistry,
  SecurityConfig,
  SystemRegistry,
} from '../../client/library';
import { parseApprovalPolicy } from '../../domain/approval';
import { parseClosePlan } from '../../domain/close/plan';
import { normaliseCloseInputKeys } from '../../domain/close/plan-casing';
import { parseDefinition, type ReconciliationDefinition } from '../../domain/recon';
import { seedRegistries, seedWorkflow } from './seed-example';

const YAML = join(__dirname, '../../examples/monthly-close/close-plan.yaml');

/**
 * What the close workflow makes of an input: the parsed plan, each reconciliation's parsed definition and the parsed
 * approval policy. A definition's renames are compared as a set: they are applied as one map (normalise.ts), so their
 * order means nothing, and the builder groups them by key, value and other fields.
 */
function meaning(input: Record<string, unknown>) {
  const { approvalPolicy, requireSignedTaskActions, ...rest } = input;
  const plan = parseClosePlan(rest);
  const tasks = plan.tasks.map((t) => {
    if (t.kind !== 'reconciliation') return t;
    const def: ReconciliationDefinition = parseDefinition((t.config as { definition: unknown }).definition);
    for (const side of [def.a, def.b]) side.mappings.sort((x, y) => x.from.localeCompare(y.from));
    return { ...t, config: { ...t.config, definition: def } };
  });
  return { plan: { ...plan, tasks }, policy: parseApprovalPolicy(approvalPolicy), requireSignedTaskActions };
}

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof FinflowBuildError) return err.issues;
    throw err;
  }
  throw new Error('expected a FinflowBuildError');
}

describe('the seed example built from code', () => {
  it('means exactly what examples/monthly-close/close-plan.yaml means', () => {
    const built = seedWorkflow().build({ ...seedRegistries(), parameters: { month_end_date: '2026-10-31' } });
    // Written in snake_case, read into the internal spelling the builders write (issue 19).
    const file = normaliseCloseInputKeys(parse(readFileSync(YAML, 'utf8'))).value as Record<string, unknown>;
    // One known difference (issue 15): the YAML's SOX documentation awaits the controller's captured attestation,
    // which the demo gives through the gateway; the library's seed example does not await it yet (its e2e,
    // test/e2e/library-seed.test.ts, gives no attestation and expects the control NOT held).
    const sox = (file.tasks as { id: string; config: Record<string, unknown> }[]).find(
      (t) => t.id === 'sox_documentation',
    );
    expect(sox?.config.awaitAttestation).toBe(true);
    delete sox?.config.awaitAttestation;
    expect(meaning(built as unknown as Record<string, unknown>)).toEqual(meaning(file));
  });

  it('keeps connection strings out of the plan: it names systems only', () => {
    const secret = 'postgres://gl:s3cret-pw@db.internal:5432/gl';
    const built = seedWorkflow().build({
      ...seedRegistries({ gl: secret, erp: 'mysql://erp:erp-pw@erp.internal/erp' }),
      parameters: { month_end_date: '2026-10-31' },
    });
    const text = JSON.stringify(built);
    expect(text).not.toContain('s3cret-pw');
    expect(text).not.toContain('erp-pw');
    expect(text).toContain('"system":"general_ledger"');
  });

  it('gives the worker the connections through FINFLOW_SYSTEMS, secrets read from the environment', () => {
    const systems = new SystemRegistry()
      .register('gl', 'postgres', { secret: { env: 'GL_URL' } })
      .register('erp', 'mariadb', {
        connectionString: 'mysql://erp.internal/erp',
        auth: { user: 'erp', password: { env: 'ERP_PW' } },
      })
      .register('nothing_here', 'postgres');
    const env = systems.toWorkerEnvironment({ GL_URL: 'postgres://gl@db/gl', ERP_PW: 'p@ss' });
    expect(JSON.parse(env.FINFLOW_SYSTEMS)).toEqual({
      gl: { engine: 'postgres', url: 'postgres://gl@db/gl' },
      erp: { engine: 'mysql', url: 'mysql://erp:p%40ss@erp.internal/erp' },
    });
    expect(() => systems.toWorkerEnvironment({})).toThrow('system gl: environment variable GL_URL is not set');
  });

  it('binds declared query parameters and renders templated file paths from the execution parameters', () => {
    const { systems, mappings, approvals } = seedRegistries();
    const dataSources = new DataSourceRegistry()
      .register('gl', {
        system: 'general_ledger',
        query: 'SELECT * FROM gl_balances WHERE period_end_date = :month_end_date AND entity = :entity',
        parameters: ['month_end_date', 'entity'],
        keyFields: ['reference'],
        valueFields: ['amount'],
        currency: 'USD',
      })
      .register('bank', {
        connector: 'camt053',
        path: 'statements/bank-{execution.parameters.month_end_date}.xml',
        keyFields: ['reference'],
        valueFields: ['amount'],
        currency: 'USD',
      });
    const wf = new FinancialWorkflow('one recon')
      .setCloseIntegration({ company: 'ACME', owner: 'carla.controller' })
      .addReconciliation({
        id: 'r',
        ownerRole: 'accountant',
        sourceA: 'bank',
        sourceB: 'gl',
        matchingRules: [{ id: 'exact', type: 'exact' }],
      });
    const built = wf.build({
      systems,
      dataSources,
      mappings,
      approvals,
      parameters: { month_end_date: '2026-10-31', entity: 'US01' },
    });
    expect(built.period).toBe('2026-10');
    const def = (built.tasks[0].config as { definition: { a: { source: unknown }; b: { source: unknown } } })
      .definition;
    expect(def.a.source).toEqual({ connector: 'camt053', path: 'statements/bank-2026-10-31.xml' });
    expect(def.b.source).toEqual({
      connector: 'postgres',
      system: 'general_ledger',
      sql: 'SELECT * FROM gl_balances WHERE period_end_date = :month_end_date AND entity = :entity',
      params: { month_end_date: { type: 'date', value: '2026-10-31' }, entity: { type: 'text', value: 'US01' } },
    });
    expect(
      issuesOf(() => wf.build({ systems, dataSources, mappings, approvals, parameters: { period: '2026-10' } })),
    ).toEqual([
      { path: 'dataSources.bank.path', message: 'execution parameter month_end_date is not given' },
      {
        path: 'dataSources.gl.parameters.month_end_date',
        message: 'execution parameter month_end_date is not given (used by r.sourceB)',
      },
      {
        path: 'dataSources.gl.parameters.entity',
        message: 'execution parameter entity is not given (used by r.sourceB)',
      },
    ]);
  });
});

describe('building refuses bad input, naming the offending field', () => {
  const build = (wf: FinancialWorkflow, ctx: Partial<ReturnType<typeof seedRegistries>> = {}) =>
    wf.build({ ...seedRegistries(), ...ctx, parameters: { month_end_date: '2026-10-31' } });

  it('a reconciliation naming an unknown data source or mapping', () => {
    const wf = new FinancialWorkflow('x')
      .setCloseIntegration({ company: 'ACME', owner: 'carla.controller' })
      .addReconciliation({
        id: 'gl_vs_erp',
        ownerRole: 'accountant',
        sourceA: 'gl_journal_lines',
        sourceB: 'erp_posting',
        mapping: 'gl_2_erp',
        matchingRules: [{ id: 'exact', type: 'exact' }],
      });
    const issues = issuesOf(() => build(wf));
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: 'gl_vs_erp.sourceB',
          message: expect.stringContaining('unknown data source "erp_posting"'),
        }),
        expect.objectContaining({
          path: 'gl_vs_erp.mapping',
          message: expect.stringContaining('unknown mapping "gl_2_erp"'),
        }),
      ]),
    );
  });

  it('an approval checkpoint requiring a role nobody defined', () => {
    const wf = new FinancialWorkflow('x')
      .setCloseIntegration({ company: 'ACME', owner: 'carla.controller' })
      .addApprovalCheckpoint({
        id: 'review',
        ownerRole: 'supervisor',
        itemType: 'reconciliation',
        requiredRoles: ['supervisr'],
        escalation: { timeout: '4h', escalationPath: ['manager'] },
        item: { preparer: 'ann.accountant' },
      });
    expect(issuesOf(() => build(wf))).toEqual([
      {
        path: 'approvalPolicy.checkpoints[0].requiredRoles[0]',
        message: 'checkpoint review names role supervisr, which is not defined',
      },
    ]);
  });

  it('an approval task naming a checkpoint the policy lacks, and a preparer outside the directory', () => {
    const wf = new FinancialWorkflow('x')
      .setCloseIntegration({ company: 'ACME', owner: 'carla.controller' })
      .addApprovalCheckpoint({
        id: 'waive',
        ownerRole: 'director',
        checkpointId: 'task-waiver',
        item: { preparer: 'nobody' },
      })
      .addApprovalCheckpoint({
        id: 'other',
        ownerRole: 'director',
        checkpointId: 'no-such-checkpoint',
        item: { preparer: 'ann.accountant' },
      });
    expect(issuesOf(() => build(wf))).toEqual([
      {
        path: 'tasks[0].config.item.preparer',
        message: "[task waive] preparer nobody is not in the approval policy's user directory",
      },
      {
        path: 'tasks[1].config.checkpointId',
        message: '[task other] the approval policy has no checkpoint no-such-checkpoint (it has task-waiver)',
      },
    ]);
  });

  it('a dependency cycle', () => {
    const task = (id: string, after: string) => ({
      id,
      name: id,
      kind: 'manual' as const,
      ownerRole: 'accountant',
      predecessors: [after],
    });
    const wf = new FinancialWorkflow('x')
      .setCloseIntegration({ company: 'ACME', owner: 'carla.controller' })
      .addTask(task('a', 'c'))
      .addTask(task('b', 'a'))
      .addTask(task('c', 'b'));
    const issues = issuesOf(() => build(wf));
    expect(issues.length).toBeGreaterThan(0);
    for (const i of issues) expect(i.path).toMatch(/^tasks\[[0-2]\]/);
    expect(issues.map((i) => i.message).join('\n')).toMatch(/cycle/);
  });

  it('a matching rule the definition does not know, with its path in the plan', () => {
    const wf = new FinancialWorkflow('x')
      .setCloseIntegration({ company: 'ACME', owner: 'carla.controller' })
      .addReconciliation({
        id: 'gl_vs_erp',
        ownerRole: 'accountant',
        sourceA: 'gl_journal_lines',
        sourceB: 'erp_postings',
        mapping: 'gl_to_erp',
        matchingRules: [{ id: 'fuzzy', type: 'fuzzy' }],
      });
    expect(issuesOf(() => build(wf)).map((i) => i.path)).toEqual(['tasks[0].config.definition.rules[0].type']);
  });

  it('a workflow without its close (company, owner) or period', () => {
    const wf = new FinancialWorkflow('x').addTask({ id: 'a', name: 'a', kind: 'manual', ownerRole: 'accountant' });
    expect(issuesOf(() => build(wf)).map((i) => i.path)).toContain('closeIntegration');
    const noPeriod = new FinancialWorkflow('x')
      .setCloseIntegration({ company: 'ACME', owner: 'carla' })
      .addTask({ id: 'a', name: 'a', kind: 'manual', ownerRole: 'accountant' });
    expect(issuesOf(() => noPeriod.build({ ...seedRegistries(), parameters: {} })).map((i) => i.path)).toContain(
      'closeIntegration.period',
    );
  });

  it('data that configureDataSecurity wants encrypted at a level the security config leaves in clear', () => {
    const security = new SecurityConfig()
      .defineDataClassification('confidential', { encryption: false, masking: 'full', access: [] })
      .applyClassification('gl_journal_lines', 'confidential');
    const wf = new FinancialWorkflow('x')
      .setCloseIntegration({ company: 'ACME', owner: 'carla.controller' })
      .configureDataSecurity({ classification: 'internal', encryptionRequired: true })
      .addReconciliation({
        id: 'gl_vs_erp',
        ownerRole: 'accountant',
        sourceA: 'gl_journal_lines',
        sourceB: 'erp_postings',
        mapping: 'gl_to_erp',
        matchingRules: [{ id: 'exact', type: 'exact' }],
      });
    expect(issuesOf(() => build(wf, { security })).map((i) => i.path)).toEqual(['gl_vs_erp.sourceA']);
    const raised = new FinancialWorkflow('y')
      .setCloseIntegration({ company: 'ACME', owner: 'carla.controller' })
      .configureDataSecurity({ classification: 'restricted' })
      .addReconciliation({
        id: 'r',
        ownerRole: 'accountant',
        sourceA: 'gl_journal_lines',
        sourceB: 'erp_postings',
        mapping: 'gl_to_erp',
        matchingRules: [{ id: 'exact', type: 'exact' }],
      });
    const def = (build(raised).tasks[0].config as { definition: { a: { classification: string } } }).definition;
    expect(def.a.classification).toBe('restricted');
  });

  it('a system whose engine has no connector, naming the engine', () => {
    const { dataSources, mappings } = seedRegistries();
    const systems = new SystemRegistry().register('general_ledger', 'oracle').register('erp', 'mariadb');
    const wf = new FinancialWorkflow('x')
      .setCloseIntegration({ company: 'ACME', owner: 'carla.controller' })
      .addReconciliation({
        id: 'r',
        ownerRole: 'accountant',
        sourceA: 'gl_journal_lines',
        sourceB: 'erp_postings',
        mapping: 'gl_to_erp',
        matchingRules: [{ id: 'exact', type: 'exact' }],
      });
    const issues = issuesOf(() => wf.build({ systems, dataSources, mappings, parameters: { period: '2026-10' } }));
    expect(issues).toEqual([
      { path: 'systems.general_ledger.engine', message: expect.stringContaining('no connector reads engine "oracle"') },
    ]);
  });
});

describe('each builder refuses wrong shapes when called', () => {
  it('a data source with neither a system nor a file, an empty key list and an unknown field', () => {
    expect(
      issuesOf(() =>
        new DataSourceRegistry().register('gl', {
          keyFields: [],
          valueFields: ['balance'],
          currency: 'USD',
          sytem: 'x',
        } as never),
      ),
    ).toEqual(
      expect.arrayContaining([
        { path: 'dataSources.gl.keyFields', message: 'name at least one field' },
        { path: 'dataSources.gl.sytem', message: 'unknown field' },
      ]),
    );
  });

  it('a system with both a connection string and a secret reference', () => {
    expect(
      issuesOf(() =>
        new SystemRegistry().register('gl', 'postgres', { connectionString: 'postgres://x', secret: { env: 'GL' } }),
      ),
    ).toEqual([{ path: 'systems.gl.secret', message: 'give connectionString or secret, not both' }]);
  });

  it('a mapping with a rounding transformation that states no mode, and one source field mapped twice', () => {
    const issues = issuesOf(() =>
      new MappingRegistry().register('m', {
        keyMappings: { document_no: 'doc' },
        fieldMappings: { reference: 'doc' },
        transformations: [{ op: 'round', field: 'balance', places: 2 }],
      }),
    );
    expect(issues.map((i) => i.path)).toEqual([
      'mappings.m.transformations[0].mode',
      'mappings.m.fieldMappings.reference',
    ]);
  });

  it('a classification level that does not exist, and a role defined twice', () => {
    expect(issuesOf(() => new SecurityConfig().applyClassification('bank', 'secret' as never))).toEqual([
      {
        path: 'security.sources.bank',
        message: 'a classification is one of public, internal, confidential, restricted, not "secret"',
      },
    ]);
    expect(issuesOf(() => new ApprovalConfig().defineRole('a').defineRole('a'))).toEqual([
      { path: 'approvals.roles.a', message: 'defined twice' },
    ]);
  });
});
