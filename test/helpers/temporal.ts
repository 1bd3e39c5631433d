// Real Temporal servers for tests: the time-skipping test server for workflow suites, the CLI dev server for
// end-to-end suites. Binaries come from scripts/provision.sh (no internet here); nothing is mocked.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
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

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per suite (webpack is the slow part of starting a worker). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  return bundle;
}

let seq = 0;
/** A unique id per test, so tests never collide on a shared server. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
}
