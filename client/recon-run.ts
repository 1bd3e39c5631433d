// A reconciliation without a close (issue 16): `finflow recon run <definition>` and `engine.reconcile(definition,
// parameters)` start the same reconciliation workflow a close starts as its child, with the same workflow id
// (recon:<company>:<period>:<reconId>), on the reconciliation task queue, and wait for its summary. The
// definition is checked here first (domain/recon/definition.ts), so a wrong one is refused before anything starts.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { ReconciliationInput, ReconciliationSummary } from '../contracts';
import { reconWorkflowId } from '../domain/ids';
import { DefinitionError, parseDefinition, type ReconciliationDefinitionInput } from '../domain/recon/definition';
import { reconciliationTaskQueueOf, type TemporalConfig } from '../platform/config';
import type { reconciliationWorkflow } from '../workflows';
import { readDocument } from '../activities/document-file';

export type RunParameters = Record<string, string | number>;

export interface ReconRunOptions {
  /** Default the parameter `company`, else "adhoc". */
  company?: string;
  /** yyyy-mm or a fiscal period; default the parameter `period`, else the yyyy-mm of the as-of date. */
  period?: string;
  /** yyyy-mm-dd; default the parameter `as_of_date` or `month_end_date`. */
  asOf?: string;
  partitions?: number;
  maxParallel?: number;
}

/** A reconciliation definition from a YAML or JSON file: the definition itself, or an object holding it as `definition`. */
export function readReconDefinition(path: string): ReconciliationDefinitionInput {
  const doc = readDocument(path);
  const d = doc && typeof doc === 'object' && 'definition' in doc ? (doc as { definition: unknown }).definition : doc;
  if (!d || typeof d !== 'object' || Array.isArray(d))
    throw new Error(`${path}: a reconciliation definition must be an object (with id, a, b and rules)`);
  return d as ReconciliationDefinitionInput;
}

/** `{execution.parameters.<name>}` in a definition's strings (the library's data source paths use it too). */
export const PARAMETER_TEMPLATE = /\{execution\.parameters\.([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * The definition with every `{execution.parameters.<name>}` in its strings (file paths, queries, names) replaced
 * by the parameter's value. A parameter the definition uses but the run does not give is an error naming where.
 */
export function renderDefinition(
  definition: ReconciliationDefinitionInput,
  parameters: RunParameters,
): ReconciliationDefinitionInput {
  const missing: string[] = [];
  const render = (v: unknown, at: string): unknown => {
    if (typeof v === 'string')
      return v.replace(PARAMETER_TEMPLATE, (whole, name: string) => {
        if (parameters[name] === undefined) {
          missing.push(`${at}: execution parameter ${name} is not given`);
          return whole;
        }
        return String(parameters[name]);
      });
    if (Array.isArray(v)) return v.map((x, i) => render(x, `${at}[${i}]`));
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, render(x, at ? `${at}.${k}` : k)]));
    return v;
  };
  const out = render(definition, '') as ReconciliationDefinitionInput;
  if (missing.length)
    throw new Error(`the reconciliation definition uses parameters the run does not give: ${missing.join('; ')}`);
  return out;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The reconciliation workflow's input for a run of `definition` with `parameters`, checked before it starts. */
export function reconRunInput(
  definition: ReconciliationDefinitionInput,
  parameters: RunParameters = {},
  opts: ReconRunOptions = {},
): ReconciliationInput {
  const rendered = renderDefinition(definition, parameters);
  try {
    parseDefinition(rendered);
  } catch (err) {
    if (err instanceof DefinitionError) throw new Error(`reconciliation definition: ${err.message}`);
    throw err;
  }
  const asOf = opts.asOf ?? parameters.as_of_date ?? parameters.month_end_date;
  if (asOf !== undefined && !DATE.test(String(asOf)))
    throw new Error(`the as-of date must be yyyy-mm-dd (got ${JSON.stringify(asOf)})`);
  const period =
    opts.period ??
    (parameters.period !== undefined ? String(parameters.period) : undefined) ??
    (asOf !== undefined ? String(asOf).slice(0, 7) : undefined);
  if (!period)
    throw new Error(
      'a reconciliation run needs its period: give month_end_date (or as_of_date, or period) as a parameter',
    );
  const reconId = String((rendered as { id?: unknown }).id);
  return {
    company: opts.company ?? (parameters.company !== undefined ? String(parameters.company) : 'adhoc'),
    period,
    reconId,
    definition: rendered,
    ...(asOf !== undefined ? { asOf: String(asOf) } : {}),
    ...(opts.partitions !== undefined ? { partitions: opts.partitions } : {}),
    ...(opts.maxParallel !== undefined ? { maxParallel: opts.maxParallel } : {}),
  };
}

/**
 * Runs the reconciliation and returns its summary (the same one a close's task holds). A run of the same
 * reconciliation, company and period that is still going (a close's child, or another run) is not started twice:
 * the error names it.
 */
export async function runReconciliation(
  client: Client,
  config: Pick<TemporalConfig, 'taskQueue' | 'reconciliationTaskQueue'>,
  input: ReconciliationInput,
): Promise<{ workflowId: string; summary: ReconciliationSummary }> {
  const workflowId = reconWorkflowId(input.company, input.period, input.reconId);
  try {
    const handle = await client.workflow.start<typeof reconciliationWorkflow>('reconciliationWorkflow', {
      workflowId,
      taskQueue: reconciliationTaskQueueOf(config),
      args: [input],
    });
    return { workflowId, summary: await handle.result() };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new Error(`reconciliation ${workflowId} is already running (a close's task or another run): wait for it`);
    throw err;
  }
}
