// One error type for everything the library refuses, listing every problem with the path of the offending field,
// so a caller fixes them all in one go instead of one per run.

/** One problem: where (a builder path such as `dataSources.erp_balances.query`, or a plan path such as
 * `tasks[2].config.definition.rules[0]`) and what is wrong. */
export interface BuildIssue {
  path: string;
  message: string;
}

/** Thrown by the builders and by `FinancialWorkflow.build()`: `issues` lists every problem found. */
export class FinflowBuildError extends Error {
  constructor(
    readonly issues: BuildIssue[],
    what = 'finflow',
  ) {
    super(
      `${what} is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n'),
    );
    this.name = 'FinflowBuildError';
  }
}

/** Paths of zod issues under a prefix, in the dotted form the rest of finflow prints. */
export function pathOf(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
