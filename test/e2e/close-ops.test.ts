// End to end on the Temporal CLI dev server (with finflow's search attributes registered): a person runs a close
// with the finflow CLI only. Start with search attributes and find it with the plain temporal CLI and
// `finflow close list`; complete tasks with `finflow task complete`; `finflow close watch` follows it to the end;
// `finflow close schedule` makes the monthly schedule that rolls the period forward.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { systemsFromEnv } from '../../activities/systems';
import { finflowSearchAttributeKeys } from '../../scripts/lib/dev-server';
import { temporalCliPath } from '../../scripts/lib/servers';
import { startWorker, type RunningWorker } from '../../workers/main';
import type { CloseStatus } from '../../contracts';
import { devServerEnv, uniqueId, workflowBundle } from '../helpers/temporal';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');
let env: TestWorkflowEnvironment;
let worker: RunningWorker;
let taskQueue: string;
let dir: string;
const started: string[] = [];
const schedules: string[] = [];

beforeAll(async () => {
  env = await devServerEnv({ searchAttributes: finflowSearchAttributeKeys() });
  taskQueue = uniqueId('e2e-ops');
  dir = mkdtempSync(join(tmpdir(), 'finflow-e2e-ops-'));
  worker = await startWorker({
    config: { address: env.address, namespace: 'default', taskQueue },
    connection: env.nativeConnection,
    systems: systemsFromEnv({}),
    workflowBundle: await workflowBundle(),
    keyProvider: null,
  });
}, 120_000);

// Every step here is a real `finflow` process, as a person types it: one starts in 3-5 s on 2 busy cores (SWC
// transpiling the CLI), and the task test takes about a dozen of them, 54 s measured at load 5 against the default
// 60 s. The bound is the process starts, not the close; waits inside are on observable state.
jest.setTimeout(240_000);

afterEach(async () => {
  // A close left waiting for a person would keep the server busy for the next test.
  for (const id of started.splice(0))
    await env.client.workflow
      .getHandle(id)
      .terminate('test over')
      .catch(() => undefined);
  for (const id of schedules.splice(0))
    await env.client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
});

afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
});

/** Two manual tasks, the second after the first: a close only people move on. */
function writePlan(company: string): string {
  const file = join(dir, `${company}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      company,
      period: '2026-10',
      owner: 'dora',
      tasks: [
        { id: 'accruals', name: 'Book accruals', kind: 'manual', ownerRole: 'accountant' },
        {
          id: 'accruals_review',
          name: 'Review the accruals',
          kind: 'manual',
          ownerRole: 'controller',
          predecessors: ['accruals'],
        },
      ],
    }),
  );
  return file;
}

const ENV = { ...process.env, FINFLOW_KEY_FILE: '', FINFLOW_KEYS: '', FINFLOW_ENCRYPTION: '' };
const cliArgs = (args: string[]) => ['--address', env.address, '--task-queue', taskQueue, ...args];

async function finflow(...args: string[]): Promise<string> {
  const { stdout } = await run(join(root, 'bin/finflow'), cliArgs(args), { cwd: root, env: ENV });
  return stdout;
}

/** The CLI's answer and exit code, also when it exits non-zero (a refusal exits 2). */
async function finflowExit(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    return { code: 0, stdout: await finflow(...args) };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

async function temporal(...args: string[]): Promise<string> {
  const { stdout } = await run(temporalCliPath(), [...args, '--address', env.address, '--namespace', 'default']);
  return stdout;
}

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 150; i++) {
    last = await probe().catch(() => undefined);
    if (last !== undefined && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: never happened (last seen ${JSON.stringify(last)})`);
}

const status = async (id: string) => JSON.parse(await finflow('close', 'status', id, '--json')) as CloseStatus;
const stateOf = (s: CloseStatus, task: string) => s.tasks.find((t) => t.id === task)?.state;

async function listed(query: string): Promise<{ execution: { workflowId: string } }[]> {
  const out = await temporal('workflow', 'list', '--query', query, '--output', 'json');
  return out.trim() ? (JSON.parse(out) as { execution: { workflowId: string } }[]) : [];
}

describe('closes run with the finflow CLI on the dev server', () => {
  it('starts a close with its search attributes, so temporal workflow list and finflow close list find it', async () => {
    const company = uniqueId('SA').replace(/[^A-Za-z0-9-]/g, '');
    const id = `close:${company}:2026-10`;
    expect(await finflow('close', 'start', writePlan(company), '--period', '2026-10')).toContain(`started ${id}`);
    started.push(id);

    const byCompany = await until(
      () => listed(`FinflowCompany='${company}'`),
      (r) => r.length === 1,
      'the close listed by company',
    );
    expect(byCompany[0].execution.workflowId).toBe(id);
    expect(await listed(`FinflowCompany='${company}' AND FinflowPeriod='2026-09'`)).toEqual([]);
    const both = await listed(`FinflowCompany='${company}' AND FinflowPeriod='2026-10'`);
    expect(both.map((w) => w.execution.workflowId)).toEqual([id]);

    const table = await finflow('close', 'list', '--company', company, '--period', '2026-10');
    const lines = table.trim().split('\n');
    expect(lines[0]).toMatch(/^closeId +company +period +closeStatus +workflow +started$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${id} +${company} +2026-10 +\\S+ +RUNNING +\\d{4}-`));
    expect(await finflow('close', 'list', '--company', company, '--period', '2026-11')).toMatch(/^no close matches /);
  });

  it('moves a close on with finflow task complete while finflow close watch follows it to its end', async () => {
    const company = uniqueId('TASK').replace(/[^A-Za-z0-9-]/g, '');
    const id = `close:${company}:2026-10`;
    await finflow('close', 'start', writePlan(company));
    started.push(id);
    await until(
      () => status(id),
      (s) => stateOf(s, 'accruals') === 'running',
      'accruals running',
    );

    // Not a TTY: the watch prints one line per change and ends by itself when the close ends.
    const watch = spawn(join(root, 'bin/finflow'), cliArgs(['close', 'watch', id, '--interval', '100']), {
      cwd: root,
      env: ENV,
    });
    let watched = '';
    watch.stdout.on('data', (d: Buffer) => (watched += d.toString()));
    const exited = new Promise<number | null>((r) => watch.once('exit', (code) => r(code)));
    await until(
      async () => watched,
      (w) => /accruals: running/.test(w),
      'the watch showing the first task',
    );

    // A task the close does not have is refused by the update's validator, with the reason; nothing changes.
    const unknown = await finflowExit('task', 'complete', id, 'no_such_task', '--by', 'ann');
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toMatch(/^complete no_such_task: refused: .*no_such_task/);
    // The second task cannot be completed before it started.
    const early = await finflowExit('task', 'complete', id, 'accruals_review', '--by', 'carl');
    expect(early.code).toBe(2);
    expect(early.stdout).toMatch(/^complete accruals_review: refused: /);
    expect(stateOf(await status(id), 'accruals_review')).toBe('pending');

    expect(await finflow('task', 'complete', id, 'accruals', '--by', 'ann', '--note', 'booked JE-1001')).toMatch(
      /^complete accruals: accepted: /,
    );
    const moved = await until(
      () => status(id),
      (s) => stateOf(s, 'accruals_review') === 'running',
      'the review task started',
    );
    expect(stateOf(moved, 'accruals')).toBe('done');
    expect(moved.percentDone).toBe(50);
    expect(moved.journal?.some((j) => j.action === 'complete' && j.taskId === 'accruals' && j.by === 'ann')).toBe(true);
    const table = await finflow('close', 'status', id);
    expect(table).toMatch(/^ {2}task +kind +owner +state +deadline +late\/at-risk +blockers +critical$/m);
    expect(table).toMatch(/^ {2}accruals +manual +\(accountant\) +done\b/m);
    expect(table).toMatch(/^ {2}accruals_review +manual +\(controller\) +running\b/m);

    expect(await finflow('task', 'complete', id, 'accruals_review', '--by', 'carl')).toMatch(/accepted/);
    expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))])).toBe(0);
    const lines = watched.trim().split('\n');
    expect(watched).toMatch(/accruals: running -> done/);
    expect(watched).toMatch(/accruals_review: pending -> running/);
    expect(watched).toMatch(/accruals_review: running -> done/);
    expect(watched).toMatch(new RegExp(`${id} running \\[#{15}\\.{15}\\]  50%`));
    expect(watched).toMatch(new RegExp(`${id} completed \\[#{30}\\] 100%`));
    expect(lines[lines.length - 1]).toBe('close ended: completed (100% done)');
    // Every progress line is in time order and the percentage never goes back.
    const percents = lines
      .map((l) => /(\d+)%$/.exec(l)?.[1])
      .filter(Boolean)
      .map(Number);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));

    // The close's status attribute follows the close: finished closes are found as such.
    await until(
      () => listed(`FinflowCompany='${company}' AND FinflowCloseStatus='completed'`),
      (r) => r.length === 1,
      'the close listed as completed',
    );
  });

  it('on a terminal, finflow close watch redraws one frame in place with a progress bar until the close ends', async () => {
    const company = uniqueId('TTY').replace(/[^A-Za-z0-9-]/g, '');
    const id = `close:${company}:2026-10`;
    await finflow('close', 'start', writePlan(company));
    started.push(id);
    await until(
      () => status(id),
      (s) => stateOf(s, 'accruals') === 'running',
      'accruals running',
    );
    // `script` gives the CLI a pseudo-terminal, as a person's shell would.
    const command = [join(root, 'bin/finflow'), ...cliArgs(['close', 'watch', id, '--interval', '100'])].join(' ');
    const watch = spawn('script', ['-qfec', command, '/dev/null'], { cwd: root, env: ENV });
    let screen = '';
    watch.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    const exited = new Promise<number | null>((r) => watch.once('exit', (code) => r(code)));
    await until(
      async () => screen,
      (w) => w.includes(`${id}  RUNNING  [`),
      'the first frame',
    );
    await finflow('task', 'complete', id, 'accruals', '--by', 'ann');
    await until(
      async () => screen,
      (w) => /accruals_review +manual +\(controller\) +running/.test(w),
      'a frame with the review running',
    );
    await finflow('task', 'complete', id, 'accruals_review', '--by', 'carl');
    expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))])).toBe(0);
    // The cursor is hidden while drawing and shown again; every frame after the first moves up over the last one.
    expect(screen.startsWith('\x1b[?25l')).toBe(true);
    expect(screen).toContain('\x1b[?25h');
    expect(screen).toMatch(new RegExp(`${String.fromCharCode(27)}\\[\\d+A\\r${String.fromCharCode(27)}\\[J`));
    expect(screen).toMatch(new RegExp(`${id} {2}RUNNING {2}\\[#{15}\\.{15}\\] {2}50% {2}1/2 tasks`));
    expect(screen).toMatch(new RegExp(`${id} {2}COMPLETED {2}\\[#{30}\\] 100% {2}2/2 tasks`));
    expect(screen).toMatch(/task +kind +owner +state +deadline +late\/at-risk +blockers +critical/);
    expect(screen).toContain('close ended: completed (100% done)');
  });

  it('creates a monthly schedule that names the period each next run closes, and a run starts that close', async () => {
    const company = uniqueId('SCHED').replace(/[^A-Za-z0-9-]/g, '');
    const scheduleId = `close-schedule:${company}`;
    const out = await finflow(
      'close',
      'schedule',
      writePlan(company),
      '--every',
      'month',
      '--day',
      '2',
      '--at',
      '07:30',
    );
    schedules.push(scheduleId);
    expect(out).toContain(`created schedule ${scheduleId}`);
    expect(out).toContain(`schedule ${scheduleId}: scheduledCloseWorkflow on ${taskQueue}`);
    // The next three runs: the 2nd of the coming months at 07:30 UTC, each closing the month before it.
    const now = new Date();
    const expected: string[] = [];
    for (let k = 0; expected.length < 3; k++) {
      const run = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + k, 2, 7, 30));
      if (run <= now) continue;
      const closes = new Date(Date.UTC(run.getUTCFullYear(), run.getUTCMonth() - 1, 1));
      const period = `${closes.getUTCFullYear()}-${String(closes.getUTCMonth() + 1).padStart(2, '0')}`;
      expected.push(`  next run ${run.toISOString()}: closes period ${period}`);
    }
    expect(out.split('\n').filter((l) => l.startsWith('  next run '))).toEqual(expected);
    expect(await finflow('close', 'schedule', writePlan(company))).toContain('already exists: left as it is');

    // A run now (a manual trigger) closes the month before this one.
    await temporal('schedule', 'trigger', '--schedule-id', scheduleId);
    const prev = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    const period = `${prev.getUTCFullYear()}-${String(prev.getUTCMonth() + 1).padStart(2, '0')}`;
    const closeId = `close:${company}:${period}`;
    started.push(closeId);
    const found = await until(
      () => listed(`FinflowCompany='${company}' AND FinflowPeriod='${period}'`),
      (r) => r.length === 1,
      'the scheduled close listed',
    );
    expect(found[0].execution.workflowId).toBe(closeId);
    const s = await until(
      () => status(closeId),
      (x) => x.tasks.length === 2,
      'the scheduled close answering',
    );
    expect(s.period).toBe(period);
    const shown = await until(
      () => finflow('close', 'schedule-show', scheduleId),
      (x) => x.includes('  ran '),
      'the run in the schedule',
    );
    expect(shown).toMatch(new RegExp(`^  ran \\S+: close-starter:${company}-\\S+$`, 'm'));
  });
});
