// The context of the `finflow exceptions` commands (moved out of exceptions.ts, behaviour unchanged): the stores they
// read (the result store and its exception actions, the audit ledger), the close's status that names the run and
// owner role, and the sender of a signed action to the close.
import { Pool } from 'pg';
import { AuditLedger } from '../../activities/audit-ledger/ledger';
import type { ExceptionActionOutcome, ExceptionActionTarget } from '../../activities/exceptions/signed-action';
import { envelopeSealer } from '../../activities/recon';
import { createResultStore } from '../../activities/result-store';
import { createExceptionActionStore, type ExceptionActionStore } from '../../activities/result-store/exception-actions';
import { createSuggestionStore, type SuggestionStore } from '../../activities/result-store/suggestions';
import { PgAccessLog } from '../../activities/security/access-log';
import { EnvelopeEncryption, PgDataKeyStore } from '../../activities/security/envelope';
import { keyProviderFromEnvIfConfigured } from '../../platform/security-setup';
import type { ExceptionActionRequest } from '../../workflows/close/exception-actions';
import { statusQuery } from '../../workflows/definitions';
import type { CloseStatus } from '../../workflows/types';
import { connectClient } from '../connect';
import { submitExceptionAction } from '../exception-action';

export interface OpenedStores {
  store: ExceptionActionStore;
  /** Suggested matches (`exceptions suggestions|confirm|reject`); absent where only the other commands run. */
  suggestions?: SuggestionStore;
  ledger?: AuditLedger;
  close(): Promise<void>;
}

/** Where the commands get their context; tests hand in the same doors with real stores and a close's status. */
export interface ExceptionsCliDeps {
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  /** The close's status (default: the `status` query of the running close). */
  closeStatus?: (closeId: string) => Promise<CloseStatus>;
  /** The stores (default: DATABASE_URL, sealed with the configured keys; the ledger on FINFLOW_AUDIT_DATABASE_URL). */
  open?: () => Promise<OpenedStores>;
  /** Sends a signed action to the close (default: its `submitExceptionAction` update) and returns the answer. */
  send?: (
    closeId: string,
    req: ExceptionActionRequest,
    target: ExceptionActionTarget,
  ) => Promise<ExceptionActionOutcome>;
}

/** The reconciliation a close task ran: its result-store run and owner role, from the close's own status. */
export function targetOf(status: CloseStatus, taskOrRecon: string): ExceptionActionTarget {
  const task = status.tasks.find((t) => t.id === taskOrRecon || t.result?.reconId === taskOrRecon);
  if (!task) throw new Error(`${status.closeId} has no task or reconciliation ${taskOrRecon}`);
  if (task.kind !== 'reconciliation') throw new Error(`task ${task.id} of ${status.closeId} is not a reconciliation`);
  const runId = task.result?.runId;
  if (!task.result || !runId)
    throw new Error(`reconciliation ${task.id} of ${status.closeId} has no result-store run yet (state ${task.state})`);
  return {
    closeId: status.closeId,
    reconId: task.result.reconId,
    runId,
    ownerRoles: task.ownerRole ? [task.ownerRole] : [],
  };
}

export async function defaultStatus(closeId: string): Promise<CloseStatus> {
  const { client, close } = await connectClient();
  try {
    return await client.workflow.getHandle(closeId).query(statusQuery);
  } finally {
    await close();
  }
}

export async function defaultSend(closeId: string, req: ExceptionActionRequest): Promise<ExceptionActionOutcome> {
  const { client, close } = await connectClient();
  try {
    return await submitExceptionAction(client, closeId, req);
  } finally {
    await close();
  }
}

export async function defaultOpen(env: NodeJS.ProcessEnv): Promise<OpenedStores> {
  const url = env.DATABASE_URL;
  if (!url) throw new Error('name the result store: set DATABASE_URL');
  const pool = new Pool({ connectionString: url, max: 2 });
  const auditUrl = env.FINFLOW_AUDIT_DATABASE_URL;
  const auditPool = auditUrl && auditUrl !== url ? new Pool({ connectionString: auditUrl, max: 1 }) : undefined;
  const keys = await keyProviderFromEnvIfConfigured(env);
  const sealerFor = keys
    ? envelopeSealer(
        new EnvelopeEncryption({ keys, store: new PgDataKeyStore(pool), accessLog: new PgAccessLog(pool) }),
      )
    : undefined;
  const results = createResultStore({ pool, ...(sealerFor ? { sealerFor } : {}) });
  await results.migrate();
  const ledger = await AuditLedger.open({ pool: auditPool ?? pool });
  return {
    store: createExceptionActionStore({ pool, results, ...(sealerFor ? { sealerFor } : {}) }),
    suggestions: createSuggestionStore({ pool, results, ...(sealerFor ? { sealerFor } : {}) }),
    ledger,
    close: async () => {
      await pool.end();
      await auditPool?.end();
    },
  };
}
