// The reconciliation's roll-forward activity (issue 15): after its partitions are reconciled, a run brings in the
// previous period's unresolved exceptions of the same reconciliation, clears those this period's data matches and
// carries the rest (activities/result-store/roll-forward.ts, rules in domain/exceptions/roll-forward.ts).
import { defaultResultStore, envelopeSealer, type ReconActivityDeps } from '.';
import {
  createRollForwardStore,
  type RollForwardInput,
  type RollForwardOutcome,
  type RollForwardStore,
} from '../result-store/roll-forward';

export type { RollForwardInput, RollForwardOutcome } from '../result-store/roll-forward';

export function createRollForwardActivities(deps: ReconActivityDeps) {
  let opened: Promise<RollForwardStore> | undefined;
  const open = (): Promise<RollForwardStore> => {
    opened ??= (async () => {
      const results = deps.recon?.resultStore ?? defaultResultStore(deps);
      await results.migrate();
      const envelope = deps.recon?.envelope;
      return createRollForwardStore({
        pool: deps.systems.postgres('results'),
        results,
        ...(envelope ? { sealerFor: envelopeSealer(envelope) } : {}),
      });
    })();
    opened.catch(() => {
      opened = undefined;
    });
    return opened;
  };
  return {
    /**
     * One transaction in the result store, repeatable: a retry reaches the same decision and changes nothing
     * more. Returns counts, per-currency totals and the ageing (no records, no keys).
     */
    async rollForwardRecon(input: RollForwardInput): Promise<RollForwardOutcome> {
      return (await open()).rollForward(input);
    },
  };
}
