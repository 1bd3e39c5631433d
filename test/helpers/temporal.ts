// Real Temporal servers for tests: the time-skipping test server for workflow suites, the CLI dev server for
// end-to-end suites. Binaries come from scripts/provision.sh (no internet here); nothing is mocked.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowCoverage } from '@temporalio/nyc-test-coverage';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  type WorkerOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { serverExecutable } from '../../scripts/lib/servers';

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: serverExecutable('test') } });
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
    server: { executable: serverExecutable('dev'), searchAttributes: opts.searchAttributes },
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

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per suite (webpack is the slow part of starting a worker). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  const options = { workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') };
  bundle ??= bundleWorkflowCode(coverage ? coverage.augmentBundleOptions(options) : options);
  return bundle;
}

/** Worker options for tests: the suite's bundle, with coverage wiring when coverage is on. */
export async function testWorkerOptions(
  options: Omit<WorkerOptions, 'workflowBundle' | 'workflowsPath'>,
): Promise<WorkerOptions> {
  const withBundle = { ...options, workflowBundle: await workflowBundle() };
  return coverage ? coverage.augmentWorkerOptionsWithBundle(withBundle) : withBundle;
}

let seq = 0;
/** A unique id per test, so tests never collide on a shared server. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
}
