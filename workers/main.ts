// The finflow worker: runs the close workflows on the finflow task queue and the reconciliation children on their own
// queue (two Workers in one process, each with its own workflow thread), with the activities of both.
// `npm run worker` with TEMPORAL_ADDRESS / DATABASE_URL (or FINFLOW_SYSTEM_<NAME>_URL) in the environment, and
// keys in FINFLOW_KEY_FILE or FINFLOW_KEYS to encrypt every payload (see platform/security-setup.ts).
import type { DataConverter } from '@temporalio/common';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { DestinationStream } from 'pino';
import { createActivities } from '../activities';
import { approvalConfigFromEnv, type ApprovalActivityConfig } from '../activities/approval';
import { PgAccessLog } from '../activities/security/access-log';
import { EnvelopeEncryption, PgDataKeyStore } from '../activities/security/envelope';
import type { KeyProvider } from '../activities/security/key-ring';
import { createLogger } from '../activities/security/redaction';
import { systemsFromEnv, type SystemRegistry } from '../activities/systems';
import type { ConnectorLookup } from '../contracts/connector';
import type { SecurityPolicy } from '../domain/security/policy';
import { reconciliationTaskQueueOf, temporalConfig, type TemporalConfig } from '../platform/config';
import { createDataConverter, FAILURE_CONVERTER_PATH } from '../platform/data-converter';
import {
  codecOptionsFromEnv,
  keyProviderFromEnvIfConfigured,
  securityPolicyFromEnv,
  temporalLoggerFromPino,
} from '../platform/security-setup';

export interface RunningWorker {
  /** The Worker on the close task queue: closes, approvals, schedules and their activities. */
  worker: Worker;
  /**
   * The Worker on the reconciliation task queue (reconciliationTaskQueueOf), with its own workflow thread; absent
   * when that queue is the close task queue.
   */
  reconciliationWorker?: Worker;
  /** Resolves when the worker has stopped; rejects if it crashed. */
  done: Promise<void>;
  /** Whether payloads are encrypted (a key provider was given or configured). */
  encrypted: boolean;
  /**
   * Whether the worker was given people's own keys (a user key directory, FINFLOW_USER_KEYS_FILE). Without one it
   * trusts no CLI key: every CLI-signed decision or action is refused (and recorded), and only the gateway's count.
   */
  personKeysBound: boolean;
  /**
   * Whether the worker checks the identity provider's token each gateway decision carries (FINFLOW_IDENTITY_*).
   * Without it, no gateway decision counts (refused as identity_proof_unverifiable, and recorded).
   */
  gatewayProven: boolean;
  stop(): Promise<void>;
}

/**
 * Data keys of the worker's datasets (reconciliation extracts at rest) in the `results` database, beside the access
 * log, where `finflow data shred` finds them (DATABASE_URL by default). Opened on first use and retried after a
 * failure, so a worker starts without its database; a reconciliation then fails (retryably) rather than writing
 * extracts in clear.
 */
function envelopeOn(systems: SystemRegistry, keys: KeyProvider): () => Promise<EnvelopeEncryption> {
  let ready: Promise<EnvelopeEncryption> | undefined;
  return () => {
    ready ??= (async () => {
      const pool = systems.postgres('results');
      const store = new PgDataKeyStore(pool);
      const accessLog = new PgAccessLog(pool);
      await store.ensureSchema();
      await accessLog.ensureSchema();
      return new EnvelopeEncryption({ keys, store, accessLog });
    })();
    ready.catch(() => {
      ready = undefined;
    });
    return ready;
  };
}

export async function startWorker(
  opts: {
    config?: TemporalConfig;
    connection?: NativeConnection;
    systems?: SystemRegistry;
    /**
     * A prebuilt bundle. With encryption it must be built with `failureConverterPath: FAILURE_CONVERTER_PATH`
     * (platform/data-converter.ts), or failures raised in workflow code reach history in clear.
     */
    workflowBundle?: WorkflowBundleWithSourceMap;
    /** Keys for the payload codec; default from FINFLOW_KEY_FILE / FINFLOW_KEYS; null turns encryption off. */
    keyProvider?: KeyProvider | null;
    /** Approval token keys, outbox, webhook; default from FINFLOW_APPROVAL_* (activities/approval/index.ts). */
    approval?: ApprovalActivityConfig;
    /**
     * Plug-in connectors by engine name (`new ConnectorRegistry().registerConnector('jsonl', factory)`,
     * platform/connectors.ts), beside finflow's own; a source of another engine is refused, naming it.
     */
    connectors?: ConnectorLookup;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<RunningWorker> {
  const env = opts.env ?? process.env;
  const config = opts.config ?? temporalConfig(env);
  // Keys first: a bad key file must stop the worker before it connects and takes tasks.
  const keys =
    opts.keyProvider === null ? undefined : (opts.keyProvider ?? (await keyProviderFromEnvIfConfigured(env)));
  const dataConverter: DataConverter | undefined = keys
    ? createDataConverter(keys, codecOptionsFromEnv(env))
    : undefined;
  const connection = opts.connection ?? (await NativeConnection.connect({ address: config.address }));
  const approval = opts.approval ?? approvalConfigFromEnv(env);
  const systems = opts.systems ?? systemsFromEnv(env);
  const activities = createActivities({
    systems,
    approval,
    ...(opts.connectors ? { connectors: opts.connectors } : {}),
    ...(keys ? { recon: { envelope: envelopeOn(systems, keys) } } : {}),
  });
  // Both Workers run one bundle of the same workflows and the same activities; the second one only takes the
  // reconciliation children, on a workflow thread of its own. Bundled once here (webpack takes about 2 s a bundle
  // on 2 cores), with the failure converter when payloads are encrypted, and without webpack's build report in the log.
  const workflowBundle = opts.workflowBundle ?? (await bundleOnce(dataConverter !== undefined));
  const reconQueue = reconciliationTaskQueueOf(config);
  const workerOn = (taskQueue: string) =>
    Worker.create({
      connection,
      namespace: config.namespace,
      taskQueue,
      workflowBundle,
      activities,
      ...(dataConverter ? { dataConverter } : {}),
    });
  const worker = await workerOn(config.taskQueue);
  const reconciliationWorker = reconQueue === config.taskQueue ? undefined : await workerOn(reconQueue);
  const workers = reconciliationWorker ? [worker, reconciliationWorker] : [worker];
  const stopAll = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  // One Worker that stops (or crashes) stops the other: half a worker would leave closes waiting on children.
  const done = Promise.allSettled(workers.map((w) => w.run().finally(stopAll))).then(async (ends) => {
    await systems.close();
    if (!opts.connection) await connection.close();
    const crash = ends.find((e): e is PromiseRejectedResult => e.status === 'rejected');
    if (crash) throw crash.reason;
  });
  return {
    worker,
    ...(reconciliationWorker ? { reconciliationWorker } : {}),
    done,
    encrypted: dataConverter !== undefined,
    personKeysBound: approval.userKeys !== undefined,
    gatewayProven: approval.identity !== undefined,
    async stop() {
      stopAll();
      await done;
    },
  };
}

async function bundleOnce(encrypted: boolean): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    ...(encrypted ? { failureConverterPath: FAILURE_CONVERTER_PATH } : {}),
    // webpack's report (dozens of JSON lines at info) says nothing an operator acts on; its warnings still show.
    logger: new DefaultLogger('WARN'),
  });
}

/**
 * Installs Temporal's process-wide Runtime with a logger that redacts what the policy classifies restricted (and
 * IBANs and card numbers anywhere): SDK messages, workflow `log` calls, activity `Context.log` calls and the
 * native core's own messages (forwarded, instead of printed straight to stderr) all pass through it. Must run
 * before the first connection or worker of the process (the Runtime is a singleton). Forwarded logs are
 * buffered for about 100 ms: Runtime.instance().flushLogs() before reading them.
 */
export function installWorkerRuntime(
  opts: { policy?: SecurityPolicy; destination?: DestinationStream; level?: string } = {},
): Runtime {
  const pino = createLogger(opts.policy ?? securityPolicyFromEnv(), {
    name: 'finflow-worker',
    level: opts.level ?? process.env.FINFLOW_LOG_LEVEL ?? 'info',
    destination: opts.destination,
  });
  return Runtime.install({
    logger: temporalLoggerFromPino(pino),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} } },
  });
}

async function main(): Promise<void> {
  installWorkerRuntime();
  const config = temporalConfig();
  const running = await startWorker({ config });
  const recon = reconciliationTaskQueueOf(config);
  console.log(
    `finflow worker polling ${config.taskQueue}${recon === config.taskQueue ? '' : ` and ${recon} (reconciliations)`} ` +
      `on ${config.address} (namespace ${config.namespace}); ` +
      `payload encryption ${running.encrypted ? 'on' : 'OFF (set FINFLOW_KEY_FILE or FINFLOW_KEYS)'}; ` +
      `signing keys ${running.personKeysBound ? 'bound to people (FINFLOW_USER_KEYS_FILE)' : 'of no person given: CLI-signed decisions and actions are refused, only the gateway signs (finflow keys user add <person>, then set FINFLOW_USER_KEYS_FILE)'}; ` +
      `gateway decisions ${running.gatewayProven ? "count for the person the identity provider's token in them proves (FINFLOW_IDENTITY_ISSUER)" : 'are refused: no identity provider to check them against (set FINFLOW_IDENTITY_JWKS_FILE or _URL, FINFLOW_IDENTITY_ISSUER, FINFLOW_IDENTITY_AUDIENCE as for the gateway)'}`,
  );
  await running.done;
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
