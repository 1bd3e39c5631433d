// The close's "validate sub-system feeds" step: every configured source system answers with row counts, or the
// task is refused with the systems that did not answer. Counts only: no record leaves the systems here.
import { ApplicationFailure } from '@temporalio/common';
import type { SystemEngine, SystemRegistry } from '../systems';

export interface SubsystemCheck {
  system: string;
  /** A plain (schema.)table to count; or `sql`, a query whose rows are counted. */
  table?: string;
  sql?: string;
}

export interface ValidateSubsystemsInput {
  company: string;
  period: string;
  taskId: string;
  config?: {
    /** Tables or queries to count. */
    checks?: SubsystemCheck[];
    /** Systems that only need to answer (default, without checks: every system the worker has configured). */
    systems?: string[];
    /** Per-system limit before it counts as not answering; default 15000 ms. */
    timeoutMs?: number;
  };
}

export interface SubsystemAnswer {
  system: string;
  engine: SystemEngine;
  /** Rows per checked table or query, in the order given. */
  counts: { what: string; rows: number }[];
  /** Sum of counts. */
  rows: number;
}

export interface ValidateSubsystemsResult {
  company: string;
  period: string;
  taskId: string;
  systems: SubsystemAnswer[];
}

const TABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

async function count(systems: SystemRegistry, engine: SystemEngine, c: SubsystemCheck): Promise<number> {
  const q = (s: string) =>
    s
      .split('.')
      .map((p) => (engine === 'mysql' ? `\`${p}\`` : `"${p}"`))
      .join('.');
  const from =
    c.table !== undefined ? q(c.table) : `(${(c.sql ?? 'SELECT 1').replace(/[\s;]+$/, '')}) AS finflow_check`;
  const sql = `SELECT count(*) AS n FROM ${from}`;
  if (engine === 'postgres') {
    const { rows } = await systems.postgres(c.system).query<{ n: string }>(sql);
    return Number(rows[0].n);
  }
  const [rows] = await systems.mysql(c.system).query(sql);
  return Number((rows as { n: string | number }[])[0].n);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export async function validateSubsystemsWith(
  systems: SystemRegistry,
  input: ValidateSubsystemsInput,
): Promise<ValidateSubsystemsResult> {
  const config = input.config ?? {};
  const checks: SubsystemCheck[] = [...(config.checks ?? [])];
  for (const c of checks) {
    if (c.table !== undefined && !TABLE.test(c.table))
      throw ApplicationFailure.nonRetryable(
        `table ${JSON.stringify(c.table)} is not a plain (schema.)table name`,
        'InvalidConfig',
      );
    if (c.table !== undefined && c.sql !== undefined)
      throw ApplicationFailure.nonRetryable(`check of ${c.system}: give table or sql, not both`, 'InvalidConfig');
  }
  // By default the systems finflow reads itself: a plug-in connector's system has no count to answer with.
  const own = (n: string) => ['postgres', 'mysql'].includes(systems.engineName?.(n) ?? 'postgres');
  const named = config.systems ?? (checks.length === 0 ? systems.names().filter(own) : []);
  for (const s of named) if (!checks.some((c) => c.system === s)) checks.push({ system: s });
  if (checks.length === 0)
    throw ApplicationFailure.nonRetryable(
      'no systems to validate: configure checks or systems, or FINFLOW_SYSTEMS on the worker',
      'InvalidConfig',
    );
  const bySystem = new Map<string, SubsystemCheck[]>();
  for (const c of checks) bySystem.set(c.system, [...(bySystem.get(c.system) ?? []), c]);
  const timeoutMs = config.timeoutMs ?? 15_000;
  const failures: string[] = [];
  const answers = await Promise.all(
    [...bySystem.entries()].map(async ([system, list]): Promise<SubsystemAnswer | undefined> => {
      let engine: SystemEngine;
      try {
        engine = systems.engine(system);
      } catch (err) {
        // A system the worker has no connection for cannot start answering on a retry.
        throw ApplicationFailure.nonRetryable((err as Error).message, 'UnknownSystem');
      }
      try {
        const counts: SubsystemAnswer['counts'] = [];
        for (const c of list) {
          const what = c.table ?? (c.sql !== undefined ? 'query' : 'connection');
          const rows = await withTimeout(count(systems, engine, c), timeoutMs, `system ${system}`);
          if (c.table !== undefined || c.sql !== undefined) counts.push({ what, rows });
        }
        return { system, engine, counts, rows: counts.reduce((s, c) => s + c.rows, 0) };
      } catch (err) {
        failures.push(`${system}: ${(err as Error).message}`);
        return undefined;
      }
    }),
  );
  if (failures.length > 0)
    // Retryable: a system that is down now may answer on the plan's next attempt.
    throw ApplicationFailure.retryable(
      `sub-system validation of ${input.company} ${input.period} (${input.taskId}): ${failures.length} system(s) did not answer: ${failures.join('; ')}`,
      'SubsystemUnavailable',
    );
  return {
    company: input.company,
    period: input.period,
    taskId: input.taskId,
    systems: answers.filter((a): a is SubsystemAnswer => a !== undefined),
  };
}
