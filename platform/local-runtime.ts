// The seam between the library and its in-process runtime (issue 16, issue 19's layers). Engine.local() needs a worker
// in this process, and client/ never imports workers/: the package's entry point (index.ts) registers a loader for
// workers/local.ts here, and Engine.local() asks for it. The loader is lazy, so importing finflow for a remote Engine
// or the CLI does not load the worker.
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { ApprovalActivityConfig } from '../activities/approval';
import type { ConnectorLookup } from '../contracts/connector';
import type { TemporalConfig } from './config';

export interface LocalDefaultsOptions {
  /** A database for finflow's own tables (results, outbox, ledger); default: an embedded PostgreSQL started here. */
  databaseUrl?: string;
  /** Default 'finflow-local'. The close and its reconciliations run on it. */
  taskQueue?: string;
  /** The worker's environment (systems' connections, key files); DATABASE_URL is set to the database above. */
  workerEnv: NodeJS.ProcessEnv;
  /** The worker's approval settings (keys, user key directory); default from workerEnv as a worker reads them. */
  approval?: ApprovalActivityConfig;
  /** A prebuilt workflow bundle (tests share one); default: bundled here. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** Plug-in connectors by engine name for the in-process worker (platform/connectors.ts). */
  connectors?: ConnectorLookup;
}

export interface LocalDefaults {
  temporal: TemporalConfig;
  databaseUrl: string;
  uiUrl: string;
  /** Stops what was started, the worker first and the database last. */
  stop(): Promise<void>;
}

/** What the runtime module gives: starts the embedded defaults. */
export interface LocalRuntime {
  startLocalDefaults(options: LocalDefaultsOptions): Promise<LocalDefaults>;
}

let loader: (() => Promise<LocalRuntime>) | undefined;

/** Called once by the package's entry point (index.ts) with a lazy import of workers/local.ts. */
export function registerLocalRuntime(load: () => Promise<LocalRuntime>): void {
  loader = load;
}

/** The in-process runtime, loaded on first use; a clear error when the entry point that registers it was bypassed. */
export async function loadLocalRuntime(): Promise<LocalRuntime> {
  if (!loader) {
    throw new Error(
      "Engine.local() needs finflow's in-process worker, which the package's entry point registers: import Engine " +
        "from 'finflow' (or the repository's index.ts), not from client/library.",
    );
  }
  return loader();
}
