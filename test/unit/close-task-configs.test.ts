// Every task's config is checked by its kind's schema when a close input is read, with its path in the input.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { normaliseCloseInputKeys } from '../../domain/close/plan-casing';
import { taskConfigIssues } from '../../domain/close/task-configs';

/** The example as the CLI reads it: written in snake_case, read into the internal spelling. */
const file = () =>
  normaliseCloseInputKeys(parse(readFileSync(join(__dirname, '../../examples/monthly-close/close-plan.yaml'), 'utf8')))
    .value as {
    tasks: { id: string; config?: Record<string, unknown> }[];
    approvalPolicy?: unknown;
  };

describe('task configs of a close input', () => {
  it('finds nothing wrong with the monthly close example', () => {
    expect(taskConfigIssues(file())).toEqual([]);
  });

  it('names a reconciliation definition problem, a documentation field and a missing checkpoint by their paths', () => {
    const input = file();
    const at = (id: string) => input.tasks.find((t) => t.id === id)!;
    (at('gl_vs_erp').config!.definition as { rules: unknown[] }).rules = [];
    at('sox_documentation').config!.controlID = 'x';
    at('management_review').config!.checkpointId = 'management-reviw';
    expect(taskConfigIssues(input)).toEqual([
      { path: 'tasks[2].config.definition.rules', task: 'gl_vs_erp', message: expect.stringContaining('>=1') },
      { path: 'tasks[8].config.controlID', task: 'sox_documentation', message: 'unknown field' },
      {
        path: 'tasks[10].config.checkpointId',
        task: 'management_review',
        message: expect.stringContaining('has no checkpoint management-reviw'),
      },
    ]);
  });

  it('names an approval task without a policy, and a reconciliation without a definition', () => {
    expect(
      taskConfigIssues({
        tasks: [
          { id: 'a', kind: 'approval', config: { checkpointId: 'cp' } },
          { id: 'r', kind: 'reconciliation', config: { reconId: 'r' } },
        ],
      }).map((i) => i.path),
    ).toEqual(['tasks[0].config.checkpointId', 'tasks[1].config.definition']);
  });
});
