// The seed's FinancialWorkflow as a builder of the close plan. It holds what the caller said, in the caller's
// vocabulary, and `build()` writes the one plain close input the YAML plans, the CLI and a bare `temporal workflow
// start` use (domain/close/plan.ts with its run options): there is no second execution path. Everything is checked
// when it is built, and every problem comes back at once with its path: a reconciliation naming an unknown data
// source or mapping, an approval naming an unknown role, a dependency cycle, a definition that does not parse.
import { ClosePlanError, parseClosePlan } from '../../domain/close/plan';
import { taskConfigIssues } from '../../domain/close/task-configs';
import type { ClosePlanStart } from '../../contracts';
import { checkpointOf, POLICY_FIELD_NAMES, type CheckpointOptions } from './approval-config';
import { type BuildIssue, FinflowBuildError } from './errors';
import { defined, reconciliationTask } from './reconciliation-task';
import { SecurityConfig } from './security-config';

import type {
  ApprovalCheckpointOptions,
  BuildContext,
  CloseIntegrationOptions,
  ComplianceDocumentationOptions,
  DataSecurityOptions,
  ReconciliationOptions,
  TaskInput,
  TaskOptions,
} from './workflow-options';

export type {
  ApprovalCheckpointOptions,
  BuildContext,
  CloseIntegrationOptions,
  ComplianceDocumentationOptions,
  DataSecurityOptions,
  MatchingRule,
  ReconciliationOptions,
  TaskOptions,
} from './workflow-options';

type Step =
  | { kind: 'reconciliation'; o: ReconciliationOptions }
  | { kind: 'approval'; o: ApprovalCheckpointOptions }
  | { kind: 'documentation'; o: ComplianceDocumentationOptions }
  | { kind: 'task'; o: TaskInput };

function common(o: TaskOptions): Omit<TaskInput, 'kind' | 'config'> {
  return defined({
    id: o.id,
    name: o.name ?? o.id,
    description: o.description,
    ownerRole: o.ownerRole,
    predecessors: o.predecessors,
    deadline: o.deadline,
    expectedDuration: o.expectedDuration,
    doneWhen: o.doneWhen,
    retry: o.retry,
  }) as Omit<TaskInput, 'kind' | 'config'>;
}

/** The seed's FinancialWorkflow: `new FinancialWorkflow('monthly_close').addReconciliation({...})...`. */
export class FinancialWorkflow {
  readonly #steps: Step[] = [];
  #close: CloseIntegrationOptions | undefined;
  #security: DataSecurityOptions | undefined;

  constructor(readonly name: string) {}

  /** A reconciliation of two registered data sources, with the mapping applied to the second. */
  addReconciliation(options: ReconciliationOptions): this {
    this.#steps.push({ kind: 'reconciliation', o: options });
    return this;
  }

  /** An approval task and (given requiredRoles) its checkpoint; without them it uses a checkpoint of ApprovalConfig. */
  addApprovalCheckpoint(options: ApprovalCheckpointOptions): this {
    this.#steps.push({ kind: 'approval', o: options });
    return this;
  }

  /** The evidence package of a control (`{ regulation: 'SOX', controlId: 'F-R3-GL-15' }`). */
  addComplianceDocumentation(options: ComplianceDocumentationOptions): this {
    this.#steps.push({ kind: 'documentation', o: options });
    return this;
  }

  /** Any other task of the close plan as the plan writes it (journal_entry, activity, report, manual). */
  addTask(task: TaskInput): this {
    this.#steps.push({ kind: 'task', o: task });
    return this;
  }

  setCloseIntegration(options: CloseIntegrationOptions): this {
    this.#close = options;
    return this;
  }

  configureDataSecurity(options: DataSecurityOptions): this {
    this.#security = options;
    return this;
  }

  /** The task `getResults().closeIntegration.taskStatus` reports on, if one was named. */
  get closeTaskId(): string | undefined {
    return this.#close?.closeTaskId;
  }

  /**
   * The close input: a close plan with its run options (approvalPolicy, requireSignedTaskActions, ...), exactly what
   * a YAML plan file holds. Throws FinflowBuildError listing every problem with its path.
   */
  build(ctx: BuildContext): ClosePlanStart {
    const issues: BuildIssue[] = [];
    const params = ctx.parameters ?? {};
    const close = this.#close;
    if (!close) issues.push({ path: 'closeIntegration', message: 'call setCloseIntegration({ company, owner, ... })' });
    const period = close?.period ?? periodOf(params);
    if (close && !period)
      issues.push({
        path: 'closeIntegration.period',
        message: 'give the period, or a `period` or `month_end_date` execution parameter',
      });
    const security = ctx.security ?? new SecurityConfig();
    const checkpoints: ReturnType<typeof checkpointOf>[] = [];
    const tasks: TaskInput[] = this.#steps.map((step): TaskInput => {
      switch (step.kind) {
        case 'task':
          return step.o;
        case 'documentation': {
          const { regulation, controlId, description, evidence, attestation } = step.o;
          return {
            ...common(step.o),
            kind: 'documentation',
            config: defined({ regulation, controlId, description, evidence, attestation }),
          } as TaskInput;
        }
        case 'approval': {
          const o = step.o;
          const checkpointId = o.checkpointId ?? o.id;
          if (o.requiredRoles !== undefined || o.itemType !== undefined || o.escalation !== undefined)
            checkpoints.push(
              checkpointOf(checkpointId, { ...(o as CheckpointOptions), name: o.checkpointName ?? o.name ?? o.id }),
            );
          return {
            ...common(o),
            kind: 'approval',
            config: defined({ checkpointId, item: o.item }),
          } as TaskInput;
        }
        case 'reconciliation':
          return {
            ...common(step.o),
            ...reconciliationTask(
              step.o,
              ctx,
              { security, dataSecurity: this.#security, dependencies: this.#close?.dependencies },
              issues,
            ),
          } as TaskInput;
      }
    });
    const input = defined({
      company: close?.company,
      period,
      name: this.name,
      owner: close?.owner,
      fiscalCalendar: close?.fiscalCalendar,
      holidays: close?.holidays,
      deadline: close?.deadline,
      cutoff: close?.cutoff,
      maxParallel: close?.maxParallel,
      requireSignedTaskActions: close?.requireSignedTaskActions,
      closeManagerRoles: close?.closeManagerRoles,
      blockedTimeout: close?.blockedTimeout,
      approvalPolicy: ctx.approvals || checkpoints.length ? ctx.approvals?.toPolicy(checkpoints) : undefined,
      tasks,
    }) as unknown as ClosePlanStart;
    if (!ctx.approvals && checkpoints.length)
      issues.push({ path: 'approvals', message: 'approval checkpoints need an ApprovalConfig with their roles' });
    if (close?.closeTaskId && !tasks.some((t) => t.id === close.closeTaskId))
      issues.push({ path: 'closeIntegration.closeTaskId', message: `no task ${close.closeTaskId} in this workflow` });
    if (!issues.some((i) => i.path === 'closeIntegration')) issues.push(...planIssues(input));
    issues.push(
      ...taskConfigIssues(input).map((i) => ({
        path: i.path.startsWith('approvalPolicy')
          ? i.path.replace(/[a-z]+(_[a-z]+)+/g, (s) => POLICY_FIELD_NAMES[s] ?? s)
          : i.path,
        message: i.task ? `[task ${i.task}] ${i.message}` : i.message,
      })),
    );
    if (issues.length) throw new FinflowBuildError(issues, `workflow ${this.name}`);
    return input;
  }
}

/** The period an execution's parameters name: `period`, or the yyyy-mm of `month_end_date`. */
export function periodOf(params: Record<string, string | number>): string | undefined {
  if (typeof params.period === 'string') return params.period;
  const m = /^(\d{4}-\d{2})-\d{2}$/.exec(String(params.month_end_date ?? ''));
  return m?.[1];
}

function planIssues(input: ClosePlanStart): BuildIssue[] {
  const {
    approvalPolicy: _p,
    requireSignedTaskActions: _r,
    closeManagerRoles: _c,
    blockedTimeout: _b,
    ...plan
  } = input as ClosePlanStart & Record<string, unknown>;
  try {
    parseClosePlan(plan);
    return [];
  } catch (err) {
    if (!(err instanceof ClosePlanError)) throw err;
    return err.issues.map((i) => ({ path: i.path, message: i.task ? `[task ${i.task}] ${i.message}` : i.message }));
  }
}
