// The scenario's close plan (examples/monthly-close/close-plan.yaml) read as a user's file: it must parse, order
// and schedule the way issue 8 describes the close.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { resolveBusinessCalendar } from '../../activities/calendar';
import { calendarWindow, resolveDeadline } from '../../domain/close/deadline';
import { parsePeriodKey } from '../../domain/close/fiscal-calendar';
import { type ClosePlan, parseClosePlan } from '../../domain/close/plan';
import { normaliseCloseInputKeys } from '../../domain/close/plan-casing';
import { readClosePlan } from '../../client/close-plan-file';
import { parseApprovalPolicy } from '../../domain/approval';
import { parseCloseEvidenceConfig } from '../../domain/compliance/close-evidence';
import { parseDefinition, type ReconciliationDefinitionInput } from '../../domain/recon';
import { bankDefinition, glCashSql, glVsErpDefinition, scenarioSql } from '../../examples/monthly-close/generator';
import {
  type TaskStates,
  blockedBy,
  percentDone,
  readyTasks,
  schedule,
  topologicalOrder,
} from '../../domain/close/task-graph';

const FILE = join(__dirname, '../../examples/monthly-close/close-plan.yaml');
const H = 3_600_000;

/** The file as written (snake_case). */
function rawFile(): Record<string, unknown> {
  return parse(readFileSync(FILE, 'utf8')) as Record<string, unknown>;
}

/** The file as the CLI reads it: a close plan with the close's run options (its approval policy) beside it. */
function loadFile(): Record<string, unknown> {
  const keyed = normaliseCloseInputKeys(rawFile());
  expect(keyed.deprecated).toEqual([]);
  return keyed.value as Record<string, unknown>;
}

function loadPlan(): ClosePlan {
  const { approvalPolicy: _policy, requireSignedTaskActions: _signed, ...plan } = loadFile();
  return parseClosePlan(plan, 'examples/monthly-close/close-plan.yaml');
}

function definitionOf(plan: ClosePlan, taskId: string): ReconciliationDefinitionInput {
  return (plan.tasks.find((t) => t.id === taskId)?.config as { definition: ReconciliationDefinitionInput }).definition;
}

describe('the monthly close example plan', () => {
  it('parses, with the tasks of the scenario', () => {
    const plan = loadPlan();
    expect(plan.company).toBe('ACME');
    expect(plan.tasks.map((t) => t.id).sort()).toEqual(
      [
        'preliminary_close',
        'subsystem_validation',
        'gl_vs_erp',
        'bank_reconciliation',
        'bank_reconciliation_mt940',
        'reconciliation_approval',
        'adjusting_entry',
        'adjusting_entry_approval',
        'sox_documentation',
        'financial_reporting',
        'management_review',
      ].sort(),
    );
    expect(plan.tasks.find((t) => t.id === 'sox_documentation')?.config).toMatchObject({ controlId: 'F-R3-GL-15' });
  });

  it('orders validation first, the reconciliations next, approvals and SOX documentation, then reporting and review', () => {
    const order = topologicalOrder(loadPlan());
    const at = (id: string) => order.indexOf(id);
    expect(order.slice(0, 2)).toEqual(['preliminary_close', 'subsystem_validation']);
    for (const recon of ['gl_vs_erp', 'bank_reconciliation', 'bank_reconciliation_mt940']) {
      expect(at(recon)).toBeGreaterThan(at('subsystem_validation'));
      expect(at(recon)).toBeLessThan(at('reconciliation_approval'));
    }
    expect(at('adjusting_entry_approval')).toBeLessThan(at('sox_documentation'));
    expect(order.slice(-3)).toEqual(['sox_documentation', 'financial_reporting', 'management_review']);
  });

  it('runs the three reconciliations in parallel and lets their exceptions go to approval', () => {
    const plan = loadPlan();
    expect(readyTasks(plan, {})).toEqual(['preliminary_close']);
    const validated: TaskStates = { preliminary_close: 'done', subsystem_validation: 'done' };
    expect(readyTasks(plan, validated).sort()).toEqual([
      'bank_reconciliation',
      'bank_reconciliation_mt940',
      'gl_vs_erp',
    ]);
    const reconciled: TaskStates = {
      ...validated,
      gl_vs_erp: 'done_with_warnings',
      bank_reconciliation: 'done',
      bank_reconciliation_mt940: 'done_with_warnings',
    };
    expect(readyTasks(plan, reconciled)).toEqual(['reconciliation_approval']);
    expect(percentDone(plan, reconciled).percent).toBe(45);
  });

  it('blocks only what depends on a failed bank reconciliation', () => {
    const plan = loadPlan();
    const states: TaskStates = {
      preliminary_close: 'done',
      subsystem_validation: 'done',
      gl_vs_erp: 'running',
      bank_reconciliation: 'failed',
      bank_reconciliation_mt940: 'done',
    };
    const blocked = blockedBy(plan, states);
    expect(blocked.map((b) => b.task)).toEqual([
      'reconciliation_approval',
      'adjusting_entry',
      'adjusting_entry_approval',
      'sox_documentation',
      'financial_reporting',
      'management_review',
    ]);
    expect(blocked.every((b) => b.root === 'bank_reconciliation')).toBe(true);
    expect(readyTasks(plan, states)).toEqual([]);
    expect(readyTasks(plan, { ...states, bank_reconciliation: 'waived' })).toEqual([]);
    expect(readyTasks(plan, { ...states, gl_vs_erp: 'done', bank_reconciliation: 'waived' })).toEqual([
      'reconciliation_approval',
    ]);
  });

  it('is due at month end + 3 business days: Wednesday 4 November 2026 at 18:00 New York standard time', () => {
    const plan = loadPlan();
    const period = parsePeriodKey(plan.period, plan.fiscalCalendar);
    expect(period.end).toBe('2026-10-31');
    const deadlines = [plan.deadline as string, ...plan.tasks.flatMap((t) => (t.deadline ? [t.deadline] : []))];
    const window = calendarWindow(period.start, period.end, deadlines);
    const calendar = resolveBusinessCalendar({ holidays: plan.holidays ?? {}, ...window });
    const due = resolveDeadline(plan.deadline as string, { periodEnd: period.end, calendar, cutoff: plan.cutoff });
    expect(due).toMatchObject({ date: '2026-11-04', dueAt: '2026-11-04T23:00:00.000Z' });
    // Every task deadline resolves inside the window, none after the close's own.
    for (const t of plan.tasks) {
      const d = resolveDeadline(t.deadline as string, { periodEnd: period.end, calendar, cutoff: plan.cutoff });
      expect(d.dueAtMs).toBeLessThanOrEqual(due.dueAtMs);
    }
  });

  it('has the GL reconciliation, not the bank one, on its critical path of 24 hours of expected work', () => {
    const plan = loadPlan();
    const now = Date.UTC(2026, 10, 2, 14, 0);
    const s = schedule(plan, { now });
    expect(s.criticalPath).toEqual([
      'preliminary_close',
      'subsystem_validation',
      'gl_vs_erp',
      'reconciliation_approval',
      'adjusting_entry',
      'adjusting_entry_approval',
      'sox_documentation',
      'financial_reporting',
      'management_review',
    ]);
    expect(s.projectedEnd - now).toBe(24 * H);
    expect(s.tasks.find((t) => t.id === 'bank_reconciliation')?.slack).toBe(1 * H);
  });

  it("holds the seed's roles and limits, and checkpoints that need three levels for the 75,000 entry", () => {
    const policy = parseApprovalPolicy(loadFile().approvalPolicy, 'examples/monthly-close/close-plan.yaml');
    const limit = (role: string) =>
      policy.roles.find((r) => r.name === role)?.approval_limits?.journal_entry?.toString();
    expect([limit('supervisor'), limit('manager'), limit('director')]).toEqual(['10000', '50000', '1000000']);
    expect(policy.checkpoints.find((c) => c.id === 'reconciliation-approval')?.escalation).toMatchObject({
      timeout: '4h',
      escalation_path: ['manager', 'director'],
    });
    const je = loadPlan().tasks.find((t) => t.id === 'adjusting_entry_approval')?.config as {
      item: { amount: string };
    };
    expect(je.item.amount).toBe('75000.00');
  });

  it('reconciles with the same definitions the data generator plants its discrepancies for', () => {
    const plan = loadPlan();
    const gl = definitionOf(plan, 'gl_vs_erp');
    expect(parseDefinition(gl)).toEqual(parseDefinition(glVsErpDefinition({ gl: gl.a.source, erp: gl.b.source })));
    expect([gl.a.source.sql, gl.b.source.sql]).toEqual([scenarioSql().gl, scenarioSql().erp]);
    for (const [taskId, bank] of [
      ['bank_reconciliation', 'camt053'],
      ['bank_reconciliation_mt940', 'mt940'],
    ] as const) {
      const d = definitionOf(plan, taskId);
      expect(parseDefinition(d)).toEqual(
        parseDefinition(bankDefinition(bank, { statement: d.a.source, gl: d.b.source })),
      );
      expect(d.b.source.sql).toBe(glCashSql(bank));
    }
  });

  it('documents control F-R3-GL-15 with a config the evidence activity accepts', () => {
    const doc = loadPlan().tasks.find((t) => t.kind === 'documentation');
    expect(parseCloseEvidenceConfig(doc?.config)).toMatchObject({ regulation: 'SOX', controlId: 'F-R3-GL-15' });
  });

  it('has a JSON twin, for `temporal workflow start --input-file`, that says exactly what the YAML says', () => {
    const json = JSON.parse(readFileSync(FILE.replace(/\.yaml$/, '.json'), 'utf8')) as unknown;
    expect(json).toEqual(rawFile());
  });

  it('is written in one casing, snake_case, with not one old camelCase name left', () => {
    const warn = jest.fn();
    readClosePlan(FILE, {}, warn);
    expect(warn).not.toHaveBeenCalled();
    expect(readFileSync(FILE, 'utf8')).not.toMatch(/^[^#]*\b[a-z]+[A-Z]\w*:/m);
  });

  it('still reads the plan as written before issue 19 (camelCase plan fields) to the same input, warning once', () => {
    const warnings: string[] = [];
    const old = readClosePlan(join(__dirname, '../fixtures/close-plan-camelcase.yaml'), {}, (w) => warnings.push(w));
    expect(old).toEqual(readClosePlan(FILE, {}, () => undefined));
    expect(warnings).toHaveLength(1);
    for (const renamed of [
      'ownerRole -> owner_role (tasks[0].ownerRole and 10 more)',
      'doneWhen -> done_when',
      'approvalPolicy -> approval_policy',
      'userId -> user_id (approvalPolicy.users[0].userId and 4 more)',
      'reconId -> recon_id',
      'controlId -> control_id',
      'requireSignedTaskActions -> require_signed_task_actions',
    ])
      expect(warnings[0]).toContain(renamed);
  });
});
