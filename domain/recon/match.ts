// The matching engine: rules run in the definition's order over one partition held in memory, and a record matched by
// an earlier rule is never offered to a later one. The state and its layout are in match-state.ts; the rules in
// match-pairwise.ts (exact, tolerance, aggregated, date window), match-subset.ts, match-sum-window.ts and
// match-sum-reference.ts.
import type { ReconciliationDefinition } from './definition';
import { runAggregated, runDateWindow, runExact, runTolerance } from './match-pairwise';
import { runSubsetSum } from './match-subset';
import { runSumByReference } from './match-sum-reference';
import { runSumWindow } from './match-sum-window';
import { reviewAgainstSums } from './match-sum-rival';
import { createMatchState, type MatchState } from './match-state';
import { proposeInstead } from './match-proposed';
import type { NormalisedRecord } from './normalise';

export {
  FREE,
  NO_DAY,
  dayNumber,
  groupItems,
  isDuplicateKey,
  type Buckets,
  type GiveUp,
  type GiveUpReason,
  type Groups,
  type MatchState,
  type Suggestion,
} from './match-state';

/** Runs every rule of the definition in order over one partition. */
export function matchRecords(
  a: readonly NormalisedRecord[],
  b: readonly NormalisedRecord[],
  definition: ReconciliationDefinition,
): MatchState {
  const s = createMatchState(a, b, definition);
  definition.rules.forEach((rule, r) => {
    const from = s.groups.rule.length;
    runRule(s, r, rule);
    // A rule that may not match on its own proposes what it found (see match-proposed.ts).
    if (rule.auto === false) proposeInstead(s, r, from);
  });
  return s;
}

function runRule(s: MatchState, r: number, rule: ReconciliationDefinition['rules'][number]): void {
  switch (rule.type) {
    case 'exact':
      return runExact(s, r, rule);
    case 'tolerance':
      return runTolerance(s, r, rule);
    case 'aggregated':
      return runAggregated(s, r, rule);
    case 'date_window':
      return runDateWindow(s, r, rule);
    case 'subset_sum':
      return runSubsetSum(s, r, rule);
    case 'sum_window':
      reviewAgainstSums(s, r, rule);
      return runSumWindow(s, r, rule);
    case 'sum_by_reference':
      return runSumByReference(s, r, rule);
  }
}
