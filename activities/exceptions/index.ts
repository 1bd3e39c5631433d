// The close's exception-action activity: the `submitExceptionAction` update of the close hands it a person's signed
// token and the reconciliation's run and owner role from the close's own state; it applies the action through the
// one path (signed-action.ts). Retried a few times on outages only: it is idempotent on the token's nonce.
import { ApplicationFailure } from '@temporalio/common';
import type { ApprovalPolicy } from '../../domain/approval/policy';
import type { MaterialityResult } from '../../domain/exceptions/materiality';
import type { ApprovalActivityConfig } from '../approval';
import { AuditLedger } from '../audit-ledger/ledger';
import { defaultResultStore, envelopeSealer, type ReconActivityConfig } from '../recon';
import { createExceptionActionStore, type ExceptionActionStore } from '../result-store/exception-actions';
import { createSuggestionStore, type SuggestionStore } from '../result-store/suggestions';
import { createCertificationStore, type CertificationStore } from '../result-store/certification';
import type { CertificationStatus } from '../../domain/exceptions/certification';
import { unexplainedMaterialOfRun } from '../result-store/unexplained-material';
import type { SystemRegistry } from '../systems';
import { applySignedExceptionAction, type ExceptionActionOutcome, type ExceptionActionTarget } from './signed-action';
import { resilientPool } from '../pg-pool';

export type { ExceptionActionOutcome, ExceptionActionTarget } from './signed-action';

export interface ApplyExceptionActionInput {
  target: ExceptionActionTarget;
  token: string;
  /** The close's user directory (its approval policy's users): who holds which role. */
  users: Pick<ApprovalPolicy['users'][number], 'userId' | 'roles'>[];
}

export interface ExceptionActivityDeps {
  systems: SystemRegistry;
  approval?: ApprovalActivityConfig;
  recon?: ReconActivityConfig;
  /** The audit ledger; default FINFLOW_AUDIT_DATABASE_URL or DATABASE_URL when set. */
  ledger?: AuditLedger;
}

/** The exception-action store on the `results` system, sealing with the worker's keys (as defaultResultStore). */
export function exceptionActionStoreOf(deps: Pick<ExceptionActivityDeps, 'systems' | 'recon'>): ExceptionActionStore {
  const envelope = deps.recon?.envelope;
  return createExceptionActionStore({
    pool: deps.systems.postgres('results'),
    results: deps.recon?.resultStore ?? defaultResultStore(deps),
    ...(envelope ? { sealerFor: envelopeSealer(envelope) } : {}),
  });
}

/** The suggestion store on the same database and keys (confirm / reject of suggested matches). */
export function suggestionStoreOf(deps: Pick<ExceptionActivityDeps, 'systems' | 'recon'>): SuggestionStore {
  const envelope = deps.recon?.envelope;
  return createSuggestionStore({
    pool: deps.systems.postgres('results'),
    results: deps.recon?.resultStore ?? defaultResultStore(deps),
    ...(envelope ? { sealerFor: envelopeSealer(envelope) } : {}),
  });
}

export function createExceptionActivities(deps: ExceptionActivityDeps) {
  let opened:
    | Promise<{
        store: ExceptionActionStore;
        suggestions: SuggestionStore;
        certifications: CertificationStore;
        ledger?: AuditLedger;
      }>
    | undefined;
  const certificationStore = () =>
    createCertificationStore({
      pool: deps.systems.postgres('results'),
      ...(deps.recon?.envelope ? { sealerFor: envelopeSealer(deps.recon.envelope) } : {}),
    });
  const open = () => {
    opened ??= (async () => {
      await (deps.recon?.resultStore ?? defaultResultStore(deps)).migrate();
      const store = exceptionActionStoreOf(deps);
      let ledger = deps.ledger;
      const url = process.env.FINFLOW_AUDIT_DATABASE_URL ?? process.env.DATABASE_URL;
      if (!ledger && url) {
        const pool = resilientPool({ connectionString: url, max: 2, idleTimeoutMillis: 10_000 });
        pool.on('error', () => undefined);
        ledger = await AuditLedger.open({ pool });
      }
      return {
        store,
        suggestions: suggestionStoreOf(deps),
        certifications: certificationStore(),
        ...(ledger ? { ledger } : {}),
      };
    })();
    opened.catch(() => {
      opened = undefined;
    });
    return opened;
  };
  return {
    /**
     * Certification before a reconciliation's approval: per run, its unexplained exceptions above `materiality`.
     * A read: retried freely; the approval waits for it, so its outage refuses the approval rather than passing it.
     */
    async unexplainedMaterial(input: {
      reconciliations: { reconId: string; runId: string }[];
      materiality: string;
    }): Promise<{ reconId: string; material: MaterialityResult }[]> {
      // A run the close names was written by the reconciliation, so the store's tables exist.
      const pool = deps.systems.postgres('results');
      const out: { reconId: string; material: MaterialityResult }[] = [];
      for (const r of input.reconciliations)
        out.push({ reconId: r.reconId, material: await unexplainedMaterialOfRun(pool, r, input.materiality) });
      return out;
    },

    /**
     * Certification before a reconciliation's approval (checkpoints with `certification_required`): per run,
     * whether its preparer's latest certification stands. A read, like unexplainedMaterial.
     */
    async certificationsOf(input: {
      reconciliations: { reconId: string; runId: string }[];
    }): Promise<{ reconId: string; status: CertificationStatus }[]> {
      const certifications = certificationStore();
      const out: { reconId: string; status: CertificationStatus }[] = [];
      for (const r of input.reconciliations)
        out.push({ reconId: r.reconId, status: await certifications.status(r.runId) });
      return out;
    },

    async applyExceptionAction(input: ApplyExceptionActionInput): Promise<ExceptionActionOutcome> {
      const keys = deps.approval?.keys;
      const userKeys = deps.approval?.userKeys;
      if (!keys && !userKeys)
        throw ApplicationFailure.nonRetryable(
          'exception actions are signed, and this worker has no key set to verify them (FINFLOW_APPROVAL_JWKS_FILE or FINFLOW_USER_KEYS_FILE)',
          'ExceptionActionsNotConfigured',
        );
      const { store, suggestions, certifications, ledger } = await open();
      return applySignedExceptionAction(
        {
          store,
          suggestions,
          certifications,
          ...(ledger ? { ledger } : {}),
          ...(keys ? { keys } : {}),
          ...(userKeys ? { userKeys } : {}),
          ...(deps.approval?.issuers ? { issuers: deps.approval.issuers } : {}),
          ...(deps.approval?.audience ? { audience: deps.approval.audience } : {}),
          directory: { users: input.users.map((u) => ({ userId: u.userId, roles: u.roles })) },
        },
        input.target,
        input.token,
        { idempotent: true },
      );
    },
  };
}

export type ExceptionActivities = ReturnType<typeof createExceptionActivities>;
