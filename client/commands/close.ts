// `finflow close ...`: start, follow, list and schedule month-end closes. Talks to Temporal only; every action
// here has a plain `temporal` CLI equivalent (README).
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { closeWorkflowId } from '../../domain/ids';
import {
  FINFLOW_CLOSE_STATUS,
  FINFLOW_COMPANY,
  FINFLOW_PERIOD,
  periodToCloseFor,
  type ScheduledCloseInput,
} from '../../workflows/close-schedule';
import type { CloseStatus } from '../../workflows/types';
import { readClosePlan } from '../close-plan-file';
import {
  readStatus,
  sourceLine,
  statusPool,
  statusStoreUrl,
  STATUS_SOURCES,
  type StatusSourceChoice,
} from '../close-status-source';
import { startClose } from '../close-start';
import { connectClient } from '../connect';
import { cancelledLine, formatStatus, progressBar, watchClose } from './close-view';

export { formatStatus, progressBar, watchClose };
export { formatTaskAnswer, registerTaskCommands, TASK_ACTIONS } from './close-task-commands';
import { reconciliationTaskQueueOf } from '../../platform/config';

type Out = (s: string) => void;

function sourceChoice(v: string): StatusSourceChoice {
  if (!(STATUS_SOURCES as readonly string[]).includes(v))
    throw new Error(`--source ${v}: one of ${STATUS_SOURCES.join(', ')}`);
  return v as StatusSourceChoice;
}

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function resolveCloseId(idOrNothing: string | undefined, opts: { company?: string; period?: string }): string {
  if (idOrNothing) return idOrNothing;
  if (opts.company && opts.period) return closeWorkflowId(opts.company, opts.period);
  throw new Error('name the close: a workflow id, or --company and --period');
}

function listQuery(o: {
  company?: string;
  period?: string;
  status?: string;
  all?: boolean;
  running?: boolean;
}): string {
  const parts = ["WorkflowType = 'monthEndCloseWorkflow'"];
  for (const [attr, value] of [
    ['FinflowCompany', o.company],
    ['FinflowPeriod', o.period],
    ['FinflowCloseStatus', o.status],
  ] as const) {
    if (value === undefined) continue;
    // Values go into a query string: the id alphabet keeps quotes (and so injection) out.
    if (!SAFE.test(value)) throw new Error(`${attr} ${JSON.stringify(value)}: letters, digits, '.', '_', '-' only`);
    parts.push(`${attr} = '${value}'`);
  }
  if (o.running) parts.push("ExecutionStatus = 'Running'");
  return parts.join(' AND ');
}

export interface ScheduleSpecOptions {
  every: string;
  day?: string;
  at?: string;
  timezone?: string;
}

/** `--every month --day 1 --at 06:00`: a calendar spec, in the schedule's time zone (UTC unless told). */
export function scheduleSpecOf(o: ScheduleSpecOptions) {
  if (o.every !== 'month') throw new Error(`--every ${o.every}: only "month" is supported`);
  const day = o.day === undefined ? 1 : Number(o.day);
  if (!Number.isInteger(day) || day < 1 || day > 28)
    throw new Error(`--day ${o.day}: a day of the month 1-28 (every month has it)`);
  const m = /^(\d{2}):(\d{2})$/.exec(o.at ?? '06:00');
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new Error(`--at ${o.at}: a time HH:MM`);
  return {
    calendars: [{ dayOfMonth: day, hour: Number(m[1]), minute: Number(m[2]), comment: 'monthly close' }],
    timezone: o.timezone ?? 'UTC',
  };
}

export function closeScheduleId(company: string): string {
  if (!SAFE.test(company))
    throw new Error(`company ${JSON.stringify(company)} may hold only letters, digits, '.', '_' and '-'`);
  return `close-schedule:${company}`;
}

async function describeSchedule(client: Client, scheduleId: string, plan: { fiscalCalendar?: unknown }, out: Out) {
  const d = await client.schedule.getHandle(scheduleId).describe();
  const action = d.action as { workflowType?: string; taskQueue?: string };
  out(`schedule ${scheduleId}${d.state.paused ? ' (PAUSED)' : ''}: ${action.workflowType} on ${action.taskQueue}`);
  const next = d.info.nextActionTimes.slice(0, 3);
  for (const t of next) out(`  next run ${t.toISOString()}: closes period ${periodToCloseFor(plan, t.toISOString())}`);
  for (const a of d.info.recentActions.slice(-3))
    out(`  ran ${a.scheduledAt.toISOString()}: ${a.action.workflow.workflowId}`);
}

export function registerCloseCommands(program: Command, out: Out = (s) => console.log(s)): void {
  const conn = () => {
    const o = program.opts<{ address?: string; namespace?: string; taskQueue?: string }>();
    return connectClient({ address: o.address, namespace: o.namespace, taskQueue: o.taskQueue });
  };

  const close = program.command('close').description('start, follow, list and schedule month-end closes');
  close
    .command('start <plan>')
    .description('start a close from a JSON or YAML plan; starting the same company and period twice is a no-op')
    .option('--period <yyyy-mm>', 'fiscal period, overriding the plan')
    .option('--company <code>', 'company, overriding the plan')
    .option('--wait', 'wait for the close to finish and print its final status')
    .option(
      '--no-search-attributes',
      'do not set FinflowCompany/FinflowPeriod/FinflowCloseStatus (unregistered namespace)',
    )
    .action(
      async (planPath: string, o: { period?: string; company?: string; wait?: boolean; searchAttributes: boolean }) => {
        const plan = readClosePlan(planPath, o);
        const { client, config, close: done } = await conn();
        try {
          const { workflowId, started } = await startClose(client, config, plan, {
            searchAttributes: o.searchAttributes,
          });
          out(started ? `started ${workflowId}` : `${workflowId} is already running or done: not started again`);
          if (o.wait) out(formatStatus(await client.workflow.getHandle(workflowId).result()));
        } finally {
          await done();
        }
      },
    );
  close
    .command('status [closeId]')
    .description('a close as a table: task, kind, owner, state, deadline, late/at-risk, blockers, critical path')
    .option('--company <code>')
    .option('--period <yyyy-mm>')
    .option('--json', 'print the raw status object (which path answered goes to stderr)')
    .option(
      '--source <source>',
      `auto: the read model in the result store (DATABASE_URL), else the status query; read-model; query`,
      'auto',
    )
    .action(
      async (id: string | undefined, o: { company?: string; period?: string; json?: boolean; source: string }) => {
        const source = sourceChoice(o.source);
        const { client, close: done } = await conn();
        const url = source === 'query' ? undefined : statusStoreUrl(process.env);
        const pool = url ? statusPool(url) : undefined;
        try {
          const a = await readStatus(client.workflow.getHandle(resolveCloseId(id, o)), pool, source);
          if (o.json) {
            out(JSON.stringify(a.status, null, 2));
            process.stderr.write(`${sourceLine(a)}\n`);
          } else out(`${formatStatus(a.status)}\n  ${sourceLine(a)}`);
        } finally {
          await pool?.end();
          await done();
        }
      },
    );
  close
    .command('watch [closeId]')
    .description('follow a close live until it ends: a redrawn view on a terminal, a line per change elsewhere')
    .option('--company <code>')
    .option('--period <yyyy-mm>')
    .option('--interval <ms>', 'refresh interval in milliseconds', '250')
    .option('--lines', 'a line per change even on a terminal')
    .option('--source <source>', 'auto (the read model, else the status query), read-model or query', 'auto')
    .action(
      async (
        id: string | undefined,
        o: { company?: string; period?: string; interval: string; lines?: boolean; source: string },
      ) => {
        const intervalMs = Number(o.interval);
        if (!Number.isFinite(intervalMs) || intervalMs < 20)
          throw new Error(`--interval ${o.interval}: at least 20 ms`);
        const source = sourceChoice(o.source);
        const { client, close: done } = await conn();
        const url = source === 'query' ? undefined : statusStoreUrl(process.env);
        const pool = url ? statusPool(url) : undefined;
        try {
          const handle = client.workflow.getHandle(resolveCloseId(id, o));
          const r = await watchClose(handle, {
            intervalMs,
            write: (s) => process.stdout.write(s),
            tty: Boolean(process.stdout.isTTY) && !o.lines,
            read: () => readStatus(handle, pool, source),
          });
          if (r.ok) out(`close ended: ${r.status?.state ?? 'unknown'} (${r.status?.percentDone ?? 0}% done)`);
          else if (r.cancelled) {
            // Not completed, so not a success for whatever runs after the watch; but said as what it is.
            out(cancelledLine(r.status?.closeId ?? resolveCloseId(id, o), r.status));
            process.exitCode = 1;
          } else {
            out(`close workflow ended without a result: ${r.error}`);
            process.exitCode = 1;
          }
        } finally {
          await pool?.end();
          await done();
        }
      },
    );
  close
    .command('result [closeId]')
    .description('wait for a close to finish and print its final status')
    .option('--company <code>')
    .option('--period <yyyy-mm>')
    .option('--json')
    .action(async (id: string | undefined, o: { company?: string; period?: string; json?: boolean }) => {
      const { client, close: done } = await conn();
      try {
        const s = (await client.workflow.getHandle(resolveCloseId(id, o)).result()) as CloseStatus;
        out(o.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      } finally {
        await done();
      }
    });
  close
    .command('list')
    .description('closes by company, period and close status (search attributes; the Web UI uses the same query)')
    .option('--company <code>')
    .option('--period <yyyy-mm>')
    .option('--status <state>', 'FinflowCloseStatus, e.g. running, completed, blocked')
    .option('--running', 'only closes whose workflow is still running')
    .option('--json')
    .action(async (o: { company?: string; period?: string; status?: string; running?: boolean; json?: boolean }) => {
      const query = listQuery(o);
      const { client, close: done } = await conn();
      try {
        const rows: Record<string, string>[] = [];
        for await (const w of client.workflow.list({ query })) {
          const sa = w.typedSearchAttributes;
          rows.push({
            closeId: w.workflowId,
            company: sa.get(FINFLOW_COMPANY) ?? '',
            period: sa.get(FINFLOW_PERIOD) ?? '',
            closeStatus: sa.get(FINFLOW_CLOSE_STATUS) ?? '',
            workflow: w.status.name,
            started: w.startTime.toISOString(),
          });
        }
        if (o.json) return out(JSON.stringify(rows, null, 2));
        if (rows.length === 0) return out(`no close matches ${query}`);
        const cols = ['closeId', 'company', 'period', 'closeStatus', 'workflow', 'started'];
        const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
        out(
          cols
            .map((c, i) => c.padEnd(w[i]))
            .join('  ')
            .trimEnd(),
        );
        for (const r of rows)
          out(
            cols
              .map((c, i) => r[c].padEnd(w[i]))
              .join('  ')
              .trimEnd(),
          );
      } finally {
        await done();
      }
    });

  const schedule = close
    .command('schedule <plan>')
    .description(
      "a Temporal Schedule that starts each period's close from this plan (the period rolls forward: each run " +
        'closes the latest period that ended before it)',
    )
    .option('--every <unit>', 'how often: month', 'month')
    .option('--day <n>', 'day of the month to start on (1-28)', '1')
    .option('--at <HH:MM>', 'time of day', '06:00')
    .option('--timezone <tz>', 'IANA time zone of --day/--at', 'UTC')
    .option('--company <code>', 'company, overriding the plan')
    .option('--schedule-id <id>', 'default close-schedule:<company>')
    .option('--paused', 'create it paused')
    .option('--no-search-attributes', 'do not set the close search attributes')
    .action(
      async (
        planPath: string,
        o: ScheduleSpecOptions & {
          company?: string;
          scheduleId?: string;
          paused?: boolean;
          searchAttributes: boolean;
        },
      ) => {
        // The period in the file (if any) is only a placeholder: every run works out its own.
        const plan = readClosePlan(planPath, { company: o.company, period: 'scheduled' });
        const { period: _placeholder, ...rest } = plan;
        const spec = scheduleSpecOf(o);
        const scheduleId = o.scheduleId ?? closeScheduleId(plan.company);
        const { client, config, close: done } = await conn();
        const input: ScheduledCloseInput = {
          plan: { reconciliationTaskQueue: reconciliationTaskQueueOf(config), ...rest } as ScheduledCloseInput['plan'],
          ...(o.searchAttributes ? { searchAttributes: true } : {}),
        };
        try {
          try {
            await client.schedule.create({
              scheduleId,
              spec,
              action: {
                type: 'startWorkflow',
                workflowType: 'scheduledCloseWorkflow',
                workflowId: `close-starter:${plan.company}`,
                taskQueue: config.taskQueue,
                args: [input],
              },
              // A close runs for days: a second start while one runs would be for the same period, so skip it;
              // after an outage, still start a missed month's close (within 7 days).
              policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '7d' },
              state: { paused: Boolean(o.paused), note: `finflow close schedule ${planPath}` },
            });
            out(`created schedule ${scheduleId}`);
          } catch (err) {
            if (!(err instanceof ScheduleAlreadyRunning)) throw err;
            out(`schedule ${scheduleId} already exists: left as it is`);
          }
          await describeSchedule(client, scheduleId, input.plan, out);
        } finally {
          await done();
        }
      },
    );
  schedule.addHelpText(
    'after',
    '\nThe schedule id is printed; `temporal schedule describe --schedule-id <id>` shows it too.',
  );
  close
    .command('schedule-show <scheduleId>')
    .description('a close schedule: its next runs and the periods they will close, and recent runs')
    .action(async (scheduleId: string) => {
      const { client, close: done } = await conn();
      try {
        const d = await client.schedule.getHandle(scheduleId).describe();
        const args = (d.action as { args?: ScheduledCloseInput[] }).args ?? [];
        await describeSchedule(client, scheduleId, args[0]?.plan ?? {}, out);
      } finally {
        await done();
      }
    });
}
