// Close definitions are plain JSON or YAML, the same object `temporal workflow start --input` takes. Written in
// snake_case (issue 19); read into the internal spelling the workflow has always been given (camelCase plan fields),
// with one warning for a file that still uses the old camelCase names.
import type { MonthEndCloseInput } from '../contracts';
import { readCasedDocumentAsWritten, type Warn } from '../activities/document-file';
import { issueAsWritten } from '../domain/casing';
import type { PlanIssue } from '../domain/close/plan';
import { normaliseCloseInputKeys } from '../domain/close/plan-casing';

/** Each plan read from a file, with the file and the document as written there. */
const fromFile = new WeakMap<object, { path: string; written: unknown }>();

/**
 * Problems found in a plan that readClosePlan returned, named as its file spells them (`tasks[2].config.recon_id`,
 * not the internal `reconId`), with the file's path; the issues as they are for a plan built otherwise.
 */
export function asWrittenInFile(plan: object, issues: PlanIssue[]): { issues: PlanIssue[]; source?: string } {
  const file = fromFile.get(plan);
  if (!file) return { issues };
  return { issues: issues.map((i) => issueAsWritten(i, file.written)), source: file.path };
}

export function readClosePlan(
  path: string,
  overrides: { period?: string; company?: string } = {},
  warn?: Warn,
): MonthEndCloseInput {
  const { value: doc, written } = readCasedDocumentAsWritten(path, normaliseCloseInputKeys, { warn });
  if (!doc || typeof doc !== 'object') throw new Error(`${path}: a close plan must be an object`);
  const plan = { ...(doc as MonthEndCloseInput) };
  if (overrides.period) plan.period = overrides.period;
  if (overrides.company) plan.company = overrides.company;
  for (const field of ['company', 'period'] as const)
    if (typeof plan[field] !== 'string' || !plan[field])
      throw new Error(`${path}: field "${field}" is required (or pass --${field})`);
  if (!Array.isArray(plan.tasks) || plan.tasks.length === 0)
    throw new Error(`${path}: field "tasks" must list at least one task`);
  fromFile.set(plan, { path, written });
  return plan;
}
