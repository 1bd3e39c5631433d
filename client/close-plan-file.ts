// Close definitions are plain JSON or YAML, the same object `temporal workflow start --input` takes. Written in
// snake_case (issue 19); read into the internal spelling the workflow has always been given (camelCase plan fields),
// with one warning for a file that still uses the old camelCase names.
import type { MonthEndCloseInput } from '../contracts';
import { readCasedDocument, type Warn } from '../activities/document-file';
import { normaliseCloseInputKeys } from '../domain/close/plan-casing';

export function readClosePlan(
  path: string,
  overrides: { period?: string; company?: string } = {},
  warn?: Warn,
): MonthEndCloseInput {
  const doc = readCasedDocument(path, normaliseCloseInputKeys, { warn });
  if (!doc || typeof doc !== 'object') throw new Error(`${path}: a close plan must be an object`);
  const plan = { ...(doc as MonthEndCloseInput) };
  if (overrides.period) plan.period = overrides.period;
  if (overrides.company) plan.company = overrides.company;
  for (const field of ['company', 'period'] as const)
    if (typeof plan[field] !== 'string' || !plan[field])
      throw new Error(`${path}: field "${field}" is required (or pass --${field})`);
  if (!Array.isArray(plan.tasks) || plan.tasks.length === 0)
    throw new Error(`${path}: field "tasks" must list at least one task`);
  return plan;
}
