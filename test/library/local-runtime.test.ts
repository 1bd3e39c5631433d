// Engine.local() reaches its in-process worker through the seam the package's entry point registers (issue 16,
// issue 19's layers: client/ never imports workers/).
import { DataSourceRegistry, Engine } from '../../client/library';
import { loadLocalRuntime, registerLocalRuntime } from '../../platform/local-runtime';
import type * as LocalRuntimeModule from '../../platform/local-runtime';
import type * as PackageEntryModule from '../../index';

type LocalRuntimeSeam = typeof LocalRuntimeModule;
type PackageEntry = typeof PackageEntryModule;

describe('the in-process runtime seam', () => {
  it('tells a caller who bypassed the entry point to import Engine from finflow', async () => {
    await expect(Engine.local({ dataSources: new DataSourceRegistry() })).rejects.toThrow(
      /import Engine from 'finflow'/,
    );
  });

  it('loads the runtime the entry point registered, lazily, each time it is asked', async () => {
    let loads = 0;
    const runtime = { startLocalDefaults: jest.fn() };
    registerLocalRuntime(async () => {
      loads += 1;
      return runtime;
    });
    expect(loads).toBe(0);
    await expect(loadLocalRuntime()).resolves.toBe(runtime);
    expect(loads).toBe(1);
  });

  it('registers workers/local.ts when the package entry point is imported', async () => {
    let seam: LocalRuntimeSeam | undefined;
    jest.isolateModules(() => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      seam = require('../../platform/local-runtime') as LocalRuntimeSeam;
      require('../../index');
      /* eslint-enable @typescript-eslint/no-require-imports */
    });
    const rt = await seam!.loadLocalRuntime();
    expect(jest.isMockFunction(rt.startLocalDefaults)).toBe(false);
    expect(rt.startLocalDefaults.name).toBe('startLocalDefaults');
  });

  it("hands out the worker's own start from the package entry point, which connects to the Temporal it is given", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const finflow = require('../../index') as PackageEntry;
    const started = finflow.startWorker({
      config: {
        address: '127.0.0.1:1',
        namespace: 'default',
        taskQueue: 'nowhere',
        reconciliationTaskQueue: 'nowhere',
      },
      keyProvider: null,
      env: {},
    });
    await expect(started).rejects.toThrow(/127\.0\.0\.1:1|connect|transport/i);
  });
});
