import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { ExtractedSide } from '../activities/recon';
import type { RollForwardOutcome } from '../activities/recon/roll-forward';
import { Dec } from '../domain/money';
import {
  ControlTotalsError,
  DefinitionError,
  assertControlTotals,
  mergeSummaries,
  parseDefinition,
  type ReconSummary,
  type ReconciliationDefinition,
  type SideTotals,
} from '../domain/recon';
import { rollForwardRules } from '../domain/exceptions/roll-forward';
import { bankStatementRequest } from '../domain/recon/bank-statement-request';
import { DUCKDB_RECORDS_PER_PARTITION, SPILL_BUCKETS, partitionsFor, periodEnd } from '../domain/recon/run-plan';
import { waitingExtraction, type Extract } from './source-wait';
import type { ReconciliationInput, ReconciliationSummary } from './types';

type Activities = ReturnType<typeof createActivities>;

const { reconcileTables } = proxyActivities<Activities>({
  // A set-based comparison inside the database: minutes at most even for large tables. The retry policy
  // covers a dropped connection or a failover; a bad table or column is a non-retryable refusal.
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 5 },
});

const { extractReconSide, reconcilePartition } = proxyActivities<Activities>({
  // Streaming millions of rows takes minutes; the heartbeat (per batch, and every 5 s while a pooled thread works:
  // activities/recon/extract-runner.ts) notices a dead worker within 30 s instead, so a killed worker's partition
  // starts again on another within about half a minute. Retries cover dropped connections and lost workers: each
  // attempt redoes its step whole and replaces (spill files) or upserts (result store) what an earlier attempt
  // left. Bad data is non-retryable.
  startToCloseTimeout: '60 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 5 },
});

const { extractReconSide: extractWaitingForSource } = proxyActivities<Activities>({
  // As above, except that a source that cannot be reached (SourceUnavailable: refused, lost, or silent past its
  // stall timeout) comes back at once: the workflow waits it out over the source's retry window (default 15
  // minutes) and tells the close meanwhile, instead of five attempts in 30 s and a failed task.
  startToCloseTimeout: '60 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['SourceUnavailable'],
  },
});

const { writeReconReports } = proxyActivities<Activities>({
  // Reports are read back from the result store in batches and written atomically; a retry rewrites them whole.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 5 },
});

const { rollForwardRecon } = proxyActivities<Activities>({
  // One transaction in the result store over the previous period's unresolved items (a handful to thousands):
  // seconds. Repeatable (a retry reaches the same decision), so outages are retried; a conflict is non-retryable.
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 5 },
});

/** patched() id: after the partitions, the previous period's unresolved exceptions are brought in (issue 15). */
export const ROLL_FORWARD_PATCH = 'recon-roll-forward';
/** patched() id: the roll-forward is handed the reconciliation's tolerance rules (domain/exceptions/roll-forward.ts). */
export const ROLL_FORWARD_RULES_PATCH = 'recon-roll-forward-rules';

/**
 * patched() id: a bank reconciliation whose definition asks for its statement (categorisation.bank.statement) has it
 * written with the run's other reports (issue 17).
 */
export const BANK_STATEMENT_PATCH = 'recon-bank-statement-report';

/**
 * patched() id: a source that is down is tried again with backoff over its retry window while the reconciliation
 * (query reconSourceWaits) and its close (task reason) name the source, the error and the next attempt; then the
 * run fails with that reason (issue 20).
 */
export const SOURCE_WAIT_PATCH = 'recon-source-wait';

/**
 * patched() id: when the DuckDB data plane extracted both sides, the run is split every 2M records of the larger
 * side (DUCKDB_RECORDS_PER_PARTITION: 1M in one pass) instead of every 100k, since each partition reloads its share
 * of the sides' Parquet files (issue 20).
 */
export const DUCKDB_PARTITIONS_PATCH = 'recon-duckdb-partitions';

const { abandonReconRun } = proxyActivities<Activities>({
  // Bookkeeping after a failure: quick, and best effort (the run's failure is what the caller must see).
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
});

function fail(message: string, type: string, cause?: unknown): never {
  throw ApplicationFailure.create({ message, type, nonRetryable: true, cause: cause as Error | undefined });
}

/** An activity's refusal as the workflow's own failure, naming the step; anything else is rethrown as it is. */
async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure)
      fail(`${what}: ${err.cause.message}`, err.cause.type ?? 'ActivityFailed', err);
    throw err;
  }
}

function sideAmount(t: SideTotals): string {
  if (t.amounts.length === 0) return '0';
  return t.amounts.length === 1 ? t.amounts[0].amount_in : 'multi-currency';
}

/** Extraction's totals (read from the sources) must be what the partitions say they took in. */
function checkAgainstExtraction(reconId: string, side: 'a' | 'b', extracted: ExtractedSide, merged: SideTotals): void {
  if (extracted.records !== merged.records_in)
    fail(
      `control totals do not balance in ${reconId} on side ${side}: ${extracted.records} records extracted, ${merged.records_in} reconciled`,
      'ControlTotalsError',
    );
  const byCurrency = new Map(merged.amounts.map((c) => [c.currency, c.amount_in]));
  for (const c of extracted.amounts) {
    const got = byCurrency.get(c.currency) ?? '0';
    if (!new Dec(c.amount).equals(new Dec(got)))
      fail(
        `control totals do not balance in ${reconId} on side ${side} (${c.currency}): ${c.amount} extracted, ${got} reconciled`,
        'ControlTotalsError',
      );
  }
  if (merged.amounts.length !== extracted.amounts.length)
    fail(`control totals do not balance in ${reconId} on side ${side}: currencies differ`, 'ControlTotalsError');
}

async function runDefinition(input: ReconciliationInput): Promise<ReconciliationSummary> {
  let definition: ReconciliationDefinition;
  try {
    definition = parseDefinition(input.definition);
  } catch (err) {
    if (err instanceof DefinitionError) fail(`reconciliation ${input.reconId}: ${err.message}`, 'InvalidDefinition');
    throw err;
  }
  const asOf = input.asOf ?? input.periodEnd ?? periodEnd(input.period);
  if (asOf === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(asOf))
    fail(
      `reconciliation ${input.reconId}: give asOf (yyyy-mm-dd) or the period's bounds; period ${input.period} is not yyyy-mm`,
      'InvalidInput',
    );
  if (
    input.partitions !== undefined &&
    (!Number.isInteger(input.partitions) || input.partitions < 1 || input.partitions > 4096)
  )
    fail(`reconciliation ${input.reconId}: partitions must be an integer from 1 to 4096`, 'InvalidInput');
  const info = workflowInfo();
  const runId = `${info.workflowId}/${info.runId}`;
  try {
    return await reconcileRun(input, definition, asOf, runId);
  } catch (err) {
    if (!isCancellation(err)) {
      const reason = err instanceof Error ? err.message : String(err);
      await abandonReconRun({ runId, reason }).catch(() => undefined);
    }
    throw err;
  }
}

async function reconcileRun(
  input: ReconciliationInput,
  definition: ReconciliationDefinition,
  asOf: string,
  runId: string,
): Promise<ReconciliationSummary> {
  const spill = input.partitions ?? SPILL_BUCKETS;
  // The definition travels as written: activities validate it again (defaults are theirs to fill in).
  const written = input.definition;
  const bankStatement = patched(BANK_STATEMENT_PATCH) ? bankStatementRequest(definition, asOf) : undefined;

  const label = (side: 'a' | 'b') => `extracting side ${side} (${definition[side].name ?? side})`;
  const extractArgs = (side: 'a' | 'b') => ({
    runId,
    reconId: input.reconId,
    side,
    definition: written,
    partitions: spill,
    asOf,
    period: input.period,
    ...(input.periodStart && input.periodEnd ? { periodStart: input.periodStart, periodEnd: input.periodEnd } : {}),
  });
  const extract: Extract = patched(SOURCE_WAIT_PATCH)
    ? waitingExtraction((side) => extractWaitingForSource(extractArgs(side)), label)
    : (side) => extractReconSide(extractArgs(side));
  const [a, b] = await Promise.all((['a', 'b'] as const).map((side) => step(label(side), () => extract(side))));

  const larger = Math.max(a.records, b.records);
  const onDuckDb = a.engine === 'duckdb' && b.engine === 'duckdb';
  const partitions =
    input.partitions ??
    (onDuckDb && patched(DUCKDB_PARTITIONS_PATCH)
      ? partitionsFor(larger, DUCKDB_RECORDS_PER_PARTITION)
      : partitionsFor(larger));
  const summaries = new Array<ReconSummary>(partitions);
  let next = 0;
  const lane = async () => {
    while (next < partitions) {
      const partition = next++;
      summaries[partition] = await step(`reconciling partition ${partition} of ${partitions}`, () =>
        reconcilePartition({
          runId,
          reconId: input.reconId,
          partition,
          partitions,
          spillPartitions: spill,
          definition: written,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.maxParallel ?? 2, partitions) }, lane));

  let merged: ReconSummary;
  try {
    merged = mergeSummaries(summaries);
    assertControlTotals(merged);
  } catch (err) {
    if (err instanceof ControlTotalsError || err instanceof RangeError) fail(err.message, 'ControlTotalsError');
    throw err;
  }
  checkAgainstExtraction(input.reconId, 'a', a, merged.a);
  checkAgainstExtraction(input.reconId, 'b', b, merged.b);

  let rollForward: RollForwardOutcome | undefined;
  let open = merged.open_exceptions;
  if (patched(ROLL_FORWARD_PATCH)) {
    // Since this patch the previous period's items also clear under the reconciliation's own tolerance rules.
    const rules = rollForwardRules(definition.rules);
    const withRules = rules.length > 0 && patched(ROLL_FORWARD_RULES_PATCH);
    rollForward = await step('rolling forward the previous period', () =>
      rollForwardRecon({
        runId,
        reconId: input.reconId,
        company: input.company,
        period: input.period,
        asOf,
        ...(withRules ? { rules } : {}),
      }),
    );
    open = open - rollForward.clearedOwn + rollForward.carried.count;
  }
  const status = open === 0 ? 'balanced' : 'exceptions';
  const differences = merged.differences;
  const summary: ReconciliationSummary = {
    reconId: input.reconId,
    status,
    a: { records: merged.a.records_in, amount: sideAmount(merged.a) },
    b: { records: merged.b.records_in, amount: sideAmount(merged.b) },
    keys: {
      matched: merged.matches,
      amountMismatch: merged.exceptions_by_category.amount_mismatch,
      missingInA: merged.exceptions_by_category.missing_in_a,
      missingInB: merged.exceptions_by_category.missing_in_b,
    },
    difference: differences.length === 0 ? '0' : differences.length === 1 ? differences[0].a_minus_b : 'multi-currency',
    runId,
    partitions,
    matches: merged.matches,
    matchesByRule: merged.matches_by_rule,
    exceptions: merged.exceptions,
    openExceptions: open,
    perCategory: merged.exceptions_by_category,
    controlTotals: 'balanced',
    totals: { a: merged.a, b: merged.b, differences },
  };
  if (rollForward) {
    const { broughtForwardByCategory: _perCategory, ...rest } = rollForward;
    summary.rollForward = rest;
  }
  const reports = await step('writing reports', () =>
    writeReconReports({
      runId,
      reconId: input.reconId,
      company: input.company,
      period: input.period,
      asOfDate: asOf,
      ...(input.periodStart && input.periodEnd ? { periodStart: input.periodStart, periodEnd: input.periodEnd } : {}),
      status,
      summary,
      ...(bankStatement ? { bankStatement } : {}),
      // Recorded (the stricter) in each sealed report's header, for the views of it that roles may see.
      classifications: [definition.a.classification, definition.b.classification],
      ...(rollForward ? { broughtForward: rollForward.broughtForwardByCategory } : {}),
    }),
  );
  return { ...summary, reports };
}

/**
 * One reconciliation of one close: a child workflow, so its history and retries stay its own. With a `definition`
 * it runs the streaming engine (extract both sides in parallel, reconcile hash partitions, check control totals,
 * write reports); with the legacy `a`/`b` tables, one SQL comparison.
 */
export async function reconciliationWorkflow(input: ReconciliationInput): Promise<ReconciliationSummary> {
  if (input.definition !== undefined) return runDefinition(input);
  if (!input.a || !input.b)
    fail(`reconciliation ${input.reconId}: give a definition, or the tables a and b`, 'InvalidInput');
  return reconcileTables({ reconId: input.reconId, a: input.a, b: input.b });
}
