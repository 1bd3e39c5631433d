// Real Temporal servers for tests: the time-skipping test server for workflow suites, the CLI dev server for
// end-to-end suites. Binaries come from scripts/provision.sh (no internet here); nothing is mocked.
import { resolve } from 'node:path';
import type { Logger } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowCoverage } from '@temporalio/nyc-test-coverage';
import {
  type BundleOptions,
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { finflowSearchAttributeKeys } from '../../scripts/lib/dev-server';
import { serverExecutable } from '../../scripts/lib/servers';

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

/**
 * Installs the process-wide Runtime with this logger (or by this function, e.g. the worker's own
 * installWorkerRuntime) instead of the quiet default, for a suite that inspects what workers log. Call it in
 * beforeAll before creating any environment; the Runtime cannot be replaced later.
 */
export function installRuntimeLogger(loggerOrInstall: Logger | (() => unknown)): void {
  if (runtimeInstalled) throw new Error('the Temporal Runtime is already installed in this test process');
  runtimeInstalled = true;
  if (typeof loggerOrInstall === 'function') loggerOrInstall();
  else Runtime.install({ logger: loggerOrInstall });
}

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: serverExecutable('test') } });
}

/**
 * A fresh time-skipping server for each test of the suite (starting one takes about 0.1 s): `set` receives it
 * before the test, and it is torn down after the suite's own afterEach hooks registered before this call.
 *
 * Why not one server per suite: terminating a workflow while one of its activities or workflow tasks is in flight
 * leaks the server's time-skipping lock (test server 1.40.0, reproduced by hand), and from then on every
 * `env.sleep` and every time-skipping `result()` on that server waits in real time: a later test hangs until
 * jest's timeout, depending on how loaded the machine was when an earlier test cleaned up.
 */
export function freshTimeSkippingServerPerTest(set: (env: TestWorkflowEnvironment) => void): void {
  let current: TestWorkflowEnvironment | undefined;
  beforeEach(async () => {
    current = await timeSkippingEnv();
    set(current);
  }, 60_000);
  afterEach(async () => {
    const env = current;
    current = undefined;
    await env?.teardown();
  });
}

export async function devServerEnv(
  opts: {
    searchAttributes?: Parameters<typeof TestWorkflowEnvironment.createLocal>[0] extends infer O
      ? O extends { server?: infer S }
        ? S extends { searchAttributes?: infer A }
          ? A
          : never
        : never
      : never;
  } = {},
): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createLocal({
    // finflow's close search attributes by default, as on the dev server scripts start and in production.
    server: {
      executable: serverExecutable('dev'),
      searchAttributes: opts.searchAttributes ?? finflowSearchAttributeKeys(),
    },
  });
}

// Workflow code runs in Temporal's sandbox, out of jest's sight: under `jest --coverage` (babel/istanbul
// provider, which defines __coverage__) the bundle is instrumented and its counters merged after each suite.
const coverage = '__coverage__' in globalThis ? new WorkflowCoverage() : undefined;
if (coverage)
  afterAll(() => {
    coverage.mergeIntoGlobalCoverage();
    // The merge leaves FileCoverage instances, which reach jest's reporter as {data}: unwrap to plain data.
    const g = (globalThis as unknown as { __coverage__: Record<string, { toJSON?: () => unknown }> }).__coverage__;
    for (const [file, cov] of Object.entries(g))
      if (typeof cov?.toJSON === 'function') g[file] = cov.toJSON() as typeof cov;
  });

/**
 * Instruments only workflows/ in the bundle. domain/ is measured by the jest suites that import it directly; the
 * bundle's own instrumentation of the same files has other statement maps (webpack vs jest transforms), and
 * istanbul's merge of two different maps for one file miscounts it.
 */
type WebpackConfig = Parameters<NonNullable<BundleOptions['webpackConfigHook']>>[0];
function onlyWorkflowsCovered(config: WebpackConfig): WebpackConfig {
  const domain = resolve(__dirname, '../../domain');
  for (const rule of config.module?.rules ?? []) {
    const r = rule as { use?: { loader?: string }; exclude?: unknown[] };
    if (r.use?.loader?.includes('nyc-test-coverage') && Array.isArray(r.exclude)) r.exclude.push(domain);
  }
  return config;
}

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();
/**
 * The workflow bundle, built once per suite (webpack is the slow part of starting a worker). A data converter
 * with a failure converter (the encryption one) needs a bundle that carries it: pass its failureConverterPath,
 * and a second bundle is built and cached beside the plain one.
 */
export function workflowBundle(opts: { failureConverterPath?: string } = {}): Promise<WorkflowBundleWithSourceMap> {
  const key = opts.failureConverterPath ?? '';
  let bundle = bundles.get(key);
  if (!bundle) {
    const options = {
      workflowsPath: require.resolve('../../workflows'),
      logger: new DefaultLogger('WARN'),
      ...(opts.failureConverterPath ? { failureConverterPath: opts.failureConverterPath } : {}),
    };
    bundle = bundleWorkflowCode(
      coverage ? coverage.augmentBundleOptions({ ...options, webpackConfigHook: onlyWorkflowsCovered }) : options,
    );
    bundles.set(key, bundle);
  }
  return bundle;
}

/**
 * Worker options for tests: the suite's bundle (the one with the failure converter when options.dataConverter
 * names one), with coverage wiring when coverage is on.
 */
export async function testWorkerOptions(
  options: Omit<WorkerOptions, 'workflowBundle' | 'workflowsPath'>,
): Promise<WorkerOptions> {
  const failureConverterPath = options.dataConverter?.failureConverterPath;
  const withBundle = { ...options, workflowBundle: await workflowBundle({ failureConverterPath }) };
  return coverage ? coverage.augmentWorkerOptionsWithBundle(withBundle) : withBundle;
}

let seq = 0;
/** A unique id per test, so tests never collide on a shared server. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
}
