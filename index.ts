// finflow's package entry point: `import * as finflow from 'finflow'` (issue 16). The library is client/library;
// this module is the composition root that also registers the in-process runtime Engine.local() starts
// (workers/local.ts, loaded lazily), so client/ itself never imports workers/ (issue 19's layers).
import { registerLocalRuntime } from './platform/local-runtime';

registerLocalRuntime(() => import('./workers/local'));

export * from './client/library';
