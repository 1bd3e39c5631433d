// The seed's Engine: `new Engine({ systems, dataSources, mappings, approvals, security, temporal })` connects to a
// Temporal service, `engine.execute(workflow, parameters)` builds the workflow into its close input and starts the
// close exactly as `finflow close start` does (client/close-start.ts), and the Execution follows it, takes signed
// approval decisions (client/approval-decision.ts, as `finflow approve --signing-key`) and reads its results.
// Workers run elsewhere (workers/main.ts) with the systems' connections in their environment.
import type { Client } from '@temporalio/client';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { ApprovalActivityConfig } from '../../activities/approval';
import { readSigningKeyFile } from '../../activities/approval/keys';
import type { ApprovalSigningKey } from '../../activities/approval/signing';
import type { KeyProvider } from '../../activities/security/key-ring';
import type { ReconciliationSummary } from '../../contracts';
import type { ReconciliationDefinitionInput } from '../../domain/recon/definition';
import type { TemporalConfig } from '../../platform/config';
import type { ConnectorRegistry } from '../../platform/connectors';
import { loadLocalRuntime } from '../../platform/local-runtime';
import type { ClosePlanStart } from '../../workflows/types';
import { startClose } from '../close-start';
import { connectClient } from '../connect';
import { reconRunInput, runReconciliation, type ReconRunOptions, type RunParameters } from '../recon-run';
import type { ApprovalConfig } from './approval-config';
import { FinflowBuildError } from './errors';
import { Execution } from './execution';
import type { FinancialWorkflow } from './financial-workflow';
import type { DataSourceRegistry, MappingRegistry, SystemRegistry } from './registries';
import type { SecurityConfig } from './security-config';

export { Execution, type ApprovalSubmission, type WaitOptions } from './execution';

export interface EngineOptions {
  systems?: SystemRegistry;
  /**
   * Plug-in connectors by engine name (platform/connectors.ts), for systems of an engine finflow does not read
   * itself: `new ConnectorRegistry().registerConnector('jsonl', factory)`. The Engine refuses to be built with a
   * system whose engine has no connector. The workers that run the closes must be given the same connectors
   * (`startWorker({ connectors })`); Engine.local()'s in-process worker is.
   */
  connectors?: ConnectorRegistry;
  dataSources: DataSourceRegistry;
  mappings?: MappingRegistry;
  approvals?: ApprovalConfig;
  security?: SecurityConfig;
  /** Default: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, FINFLOW_TASK_QUEUE of the environment (as the CLI). */
  temporal?: Partial<Pick<TemporalConfig, 'address' | 'namespace' | 'taskQueue' | 'reconciliationTaskQueue'>>;
  /** The payload keys the workers use (default FINFLOW_KEY_FILE / FINFLOW_KEYS); null for clear payloads. */
  keyProvider?: KeyProvider | null;
  /** The key approval decisions are signed with when submitApproval names none: a private JWK file or the key. */
  signingKey?: string | ApprovalSigningKey;
  /** Set finflow's search attributes on the closes it starts (the namespace must know them). */
  searchAttributes?: boolean;
  /** A client already connected (e.g. a test environment's); the engine then does not close it. */
  client?: Client;
  env?: NodeJS.ProcessEnv;
}

/** What Engine.local() takes: the engine's registries and settings, and where its embedded defaults run. */
export interface LocalEngineOptions extends Omit<EngineOptions, 'temporal' | 'client' | 'keyProvider'> {
  /** A database for finflow's own tables; default an embedded PostgreSQL, started and stopped with the engine. */
  databaseUrl?: string;
  /** Default 'finflow-local'. */
  taskQueue?: string;
  /**
   * The in-process worker's environment (default: this process's). The systems registered with a
   * connectionString or secret are added to it (SystemRegistry.toWorkerEnvironment).
   */
  workerEnv?: NodeJS.ProcessEnv;
  /** The worker's approval settings (keys, user key directory); default read from workerEnv as a worker does. */
  approval?: ApprovalActivityConfig;
  /** A prebuilt workflow bundle (tests share one); default bundled at start (a few seconds). */
  workflowBundle?: WorkflowBundleWithSourceMap;
}

/** The seed's Engine. */
export class Engine {
  readonly #opts: EngineOptions;
  #connected: Promise<{ client: Client; config: TemporalConfig; close(): Promise<void> }> | undefined;
  /** What Engine.local() started for this engine: stopped by close(). */
  #owned: { stop(): Promise<void> } | undefined;

  /**
   * An engine on the embedded defaults, for scripts and tests: PostgreSQL (embedded unless `databaseUrl` is
   * given), the Temporal CLI dev server and an in-process worker, as the demo starts them. Payloads are not
   * encrypted. `close()` (or `shutdown()`) stops all of them.
   */
  static async local(options: LocalEngineOptions): Promise<Engine> {
    const { databaseUrl, taskQueue, workerEnv, approval, workflowBundle, ...engineOptions } = options;
    const env = engineOptions.env ?? process.env;
    // Refused before anything starts: a system no connector reads.
    const { systems, connectors } = engineOptions;
    const unsupported = systems?.unsupported(connectors) ?? [];
    if (unsupported.length) throw new FinflowBuildError(unsupported, 'engine');
    const { startLocalDefaults } = await loadLocalRuntime();
    const local = await startLocalDefaults({
      workerEnv: { ...(workerEnv ?? env), ...(systems?.toWorkerEnvironment(env, connectors) ?? {}) },
      ...(connectors ? { connectors } : {}),
      ...(databaseUrl ? { databaseUrl } : {}),
      ...(taskQueue ? { taskQueue } : {}),
      ...(approval ? { approval } : {}),
      ...(workflowBundle ? { workflowBundle } : {}),
    });
    const engine = new Engine({ ...engineOptions, temporal: local.temporal, keyProvider: null });
    engine.#owned = local;
    return engine;
  }

  constructor(options: EngineOptions) {
    const unsupported = options.systems?.unsupported(options.connectors) ?? [];
    if (unsupported.length) throw new FinflowBuildError(unsupported, 'engine');
    this.#opts = options;
  }

  /** The Temporal client and settings (connected on first use). */
  async connection(): Promise<{ client: Client; config: TemporalConfig }> {
    this.#connected ??= (async () => {
      const env = this.#opts.env ?? process.env;
      if (this.#opts.client) {
        const { temporalConfig } = await import('../../platform/config');
        const config = { ...temporalConfig(env), ...definedOf(this.#opts.temporal ?? {}) };
        return { client: this.#opts.client, config, close: async () => {} };
      }
      return connectClient(definedOf(this.#opts.temporal ?? {}), {
        ...(this.#opts.keyProvider !== undefined ? { keyProvider: this.#opts.keyProvider } : {}),
        env,
      });
    })();
    return this.#connected;
  }

  /** The close input this engine would start for the workflow (validated; FinflowBuildError lists the problems). */
  build(workflow: FinancialWorkflow, parameters: Record<string, string | number> = {}): ClosePlanStart {
    const { systems, connectors, dataSources, mappings, approvals, security } = this.#opts;
    return workflow.build({ systems, connectors, dataSources, mappings, approvals, security, parameters });
  }

  /**
   * Builds and starts the workflow's close. Starting the same company and period again is a no-op: the Execution
   * then follows the close already there (`started` is false).
   */
  async execute(workflow: FinancialWorkflow, parameters: Record<string, string | number> = {}): Promise<Execution> {
    const input = this.build(workflow, parameters);
    const { client, config } = await this.connection();
    const { workflowId, started } = await startClose(
      client,
      config,
      input as ClosePlanStart & { company: string; period: string },
      { searchAttributes: this.#opts.searchAttributes },
    );
    const checkpoints = new Map(
      input.tasks
        .filter((t) => t.kind === 'approval')
        .map((t) => [t.id, String((t.config as { checkpointId?: unknown }).checkpointId)]),
    );
    return new Execution(this, workflowId, { started, checkpoints, closeTaskId: workflow.closeTaskId });
  }

  /** An execution started elsewhere (the finflow CLI, the temporal CLI, a Schedule), by its workflow id. */
  async attach(id: string, opts: { closeTaskId?: string } = {}): Promise<Execution> {
    const { client } = await this.connection();
    await client.workflow.getHandle(id).describe(); // fails now, naming the id, when there is no such close
    return new Execution(this, id, { started: false, ...opts });
  }

  /**
   * One reconciliation without a close (as `finflow recon run`): the definition (domain/recon's shape, with
   * `{execution.parameters.<name>}` anywhere in its strings) is checked and rendered here, then run by the same
   * reconciliation workflow a close starts as its child; resolves with its summary (status, figures per side,
   * matches per rule, exceptions per category, report paths). `month_end_date` (or `as_of_date`) gives the as-of
   * date and the period.
   */
  async reconcile(
    definition: ReconciliationDefinitionInput,
    parameters: RunParameters = {},
    opts: ReconRunOptions = {},
  ): Promise<ReconciliationSummary & { workflowId: string }> {
    const input = reconRunInput(definition, parameters, opts);
    const { client, config } = await this.connection();
    const { workflowId, summary } = await runReconciliation(client, config, input);
    return { workflowId, ...summary };
  }

  /** @internal the key a decision is signed with. */
  async signingKeyFor(given: string | ApprovalSigningKey | undefined): Promise<ApprovalSigningKey | undefined> {
    const k =
      given ?? this.#opts.signingKey ?? (this.#opts.env ?? process.env).FINFLOW_APPROVAL_SIGNING_KEY_FILE?.trim();
    if (!k) return undefined;
    return typeof k === 'string' ? readSigningKeyFile(k) : k;
  }

  /** @internal the environment the engine reads its defaults from. */
  environment(): NodeJS.ProcessEnv {
    return this.#opts.env ?? process.env;
  }

  /** @internal */
  rolesOf(userId: string): string[] {
    return this.#opts.approvals?.rolesOf(userId) ?? [];
  }

  /**
   * Closes the connection the engine opened (a client handed in stays open) and, for Engine.local(), stops the
   * worker, the dev server and the embedded database it started.
   */
  async close(): Promise<void> {
    const c = this.#connected;
    this.#connected = undefined;
    if (c) await (await c).close();
    const owned = this.#owned;
    this.#owned = undefined;
    await owned?.stop();
  }

  /** The same as close(). */
  async shutdown(): Promise<void> {
    await this.close();
  }
}

function definedOf<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
