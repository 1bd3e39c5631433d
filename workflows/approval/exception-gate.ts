// What a reconciliation's approval checkpoint asks of the people's work on its exceptions before an approval counts
// (issue 15; the rules are domain/approval/exception-gate.ts): the approver did not explain, resolve or certify any
// of them (segregation of duties); when the checkpoint sets `exception_materiality`, none above it is unexplained;
// when it sets `certification_required`, each reconciliation's preparer certified it complete (signed, standing).
//
// Where it is judged: in the decision's handler, after the token is verified and before the checkpoint's rules
// take the decision, not in the update's validator. A validator's refusal leaves no trace in history and could
// only see the approver the unverified token claims; a refused approval must be recorded (checkpoint trail, audit
// ledger) under the proven identity, like every other refusal. The handler is also where an activity may run.
//
// Where the exception states come from: the result store (PostgreSQL), read by an activity when the decision would
// otherwise count. An in-workflow tally kept from the exception actions' outcomes would not see what changes
// exceptions outside the close's update (roll-forward's clearing, a suggestion rejected back into exceptions, a
// reconciliation rerun) nor carry item amounts the outcomes do not hold; the store is the one source the evidence
// package reads too, so the approval and the package cannot disagree. The activity's answer is recorded in history,
// so replay is deterministic. Who explained what is the close's own journal of accepted exception actions.
import { patched, proxyActivities } from '@temporalio/workflow';
import type { ExceptionActivities } from '../../activities/exceptions';
import {
  exceptionGateRefusal,
  type ExceptionWork,
  type GateReconciliation,
  type GateRefusal,
} from '../../domain/approval';
import { causeMessage } from './instance';

/** patched() id: approvals of reconciliation checkpoints are judged against the work on their exceptions. */
export const EXCEPTION_GATE_PATCH = 'approval-exception-gate';
/** patched() id: a checkpoint with `certification_required` waits for the preparers' signed certification. */
export const CERTIFICATION_GATE_PATCH = 'approval-certification-gate';

/** What the hosting workflow knows of the reconciliations a checkpoint approves. */
export interface ExceptionGateSource {
  reconciliations: {
    reconId: string;
    /** Result-store run; absent while the reconciliation has not produced one. */
    runId?: string;
    /** The task's state, said when there is no run yet. */
    state: string;
    /** Who explained or resolved its exceptions (accepted actions of the close's journal). */
    work: ExceptionWork[];
  }[];
}

// A read of the result store: quick, and retried a few times over a database hiccup. Past them the approval is
// refused with that said (the approver sends it again): an outage never lets an uncertified approval through.
const store = proxyActivities<ExceptionActivities>({
  startToCloseTimeout: '1m',
  retry: { maximumAttempts: 3, initialInterval: '1s' },
});

/**
 * The refusal an approval that the checkpoint's rules would accept gets from the exception gate, or nothing.
 * `signers`: the approver and the person a delegate signs for. Histories recorded before this gate replay as they
 * were (the patch marker is written only when the gate applies).
 */
export async function exceptionGate(
  checkpointId: string,
  source: ExceptionGateSource,
  materiality: string | undefined,
  signers: string[],
  certificationRequired?: boolean,
): Promise<GateRefusal | undefined> {
  if (!source.reconciliations.length || !patched(EXCEPTION_GATE_PATCH)) return undefined;
  const worked = source.reconciliations.map((r) => ({ reconId: r.reconId, work: r.work }));
  const first = exceptionGateRefusal({ checkpointId, signers, worked });
  // Histories recorded before the certification gate replay as they were: the marker is written only here.
  const certify = !first && certificationRequired === true && patched(CERTIFICATION_GATE_PATCH);
  if (first || (materiality === undefined && !certify)) return first;
  const certification: GateReconciliation[] = source.reconciliations.map((r) =>
    r.runId ? { reconId: r.reconId } : { reconId: r.reconId, pending: `its task is ${r.state}` },
  );
  const runs = source.reconciliations.flatMap((r) => (r.runId ? [{ reconId: r.reconId, runId: r.runId }] : []));
  if (runs.length) {
    let read: Awaited<ReturnType<ExceptionActivities['unexplainedMaterial']>> = [];
    let certified: Awaited<ReturnType<ExceptionActivities['certificationsOf']>> = [];
    try {
      if (materiality !== undefined) read = await store.unexplainedMaterial({ reconciliations: runs, materiality });
      if (certify) certified = await store.certificationsOf({ reconciliations: runs });
    } catch (err) {
      return {
        reason: 'exceptions_unexplained',
        message: `checkpoint ${checkpointId} could not check the reconciliations' exceptions (${causeMessage(err)}); send the approval again`,
      };
    }
    for (const c of certification) {
      const m = read.find((x) => x.reconId === c.reconId);
      if (m) c.material = m.material;
      const k = certified.find((x) => x.reconId === c.reconId);
      if (k) c.certified = k.status;
    }
  }
  return exceptionGateRefusal({ checkpointId, signers, worked, certification });
}
