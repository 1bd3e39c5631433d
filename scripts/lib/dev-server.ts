// Starts the Temporal CLI dev server (real Temporal server 1.29 with the Web UI) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { freePort } from './pg-admin';
import { temporalCliPath } from './servers';

export interface DevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function portOrFree(preferred: number): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(freePort()));
    srv.listen(preferred, '127.0.0.1', () => srv.close(() => resolve(preferred)));
  });
}

/**
 * The custom search attributes a close upserts (when started with `searchAttributes: true`), so
 * `temporal workflow list --query "FinflowCompany='ACME'"` and the Web UI can find closes. A production namespace
 * needs them too: `temporal operator search-attribute create --name FinflowCompany --type Keyword` (and so on).
 */
export const FINFLOW_SEARCH_ATTRIBUTES: Readonly<Record<string, 'Keyword'>> = {
  FinflowCompany: 'Keyword',
  FinflowPeriod: 'Keyword',
  FinflowCloseStatus: 'Keyword',
};

/** The same attributes as typed keys, for TestWorkflowEnvironment.createLocal (test/helpers devServerEnv). */
export function finflowSearchAttributeKeys() {
  return Object.keys(FINFLOW_SEARCH_ATTRIBUTES).map((name) =>
    defineSearchAttributeKey(name, SearchAttributeType.KEYWORD),
  );
}

/**
 * Starts the dev server with finflow's search attributes registered; `searchAttributes` adds more (or, with
 * `finflowSearchAttributes: false`, replaces them).
 */
export async function startDevServer(
  opts: {
    port?: number;
    uiPort?: number;
    dbFile?: string;
    searchAttributes?: Record<string, string>;
    finflowSearchAttributes?: boolean;
    /** The Web UI's remote codec (a finflow codec server): the UI then shows payloads decoded. */
    uiCodecEndpoint?: string;
  } = {},
): Promise<DevServer> {
  const port = await portOrFree(opts.port ?? 7233);
  const uiPort = await portOrFree(opts.uiPort ?? 8233);
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--log-level',
    'error',
  ];
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  const attributes = {
    ...(opts.finflowSearchAttributes === false ? {} : FINFLOW_SEARCH_ATTRIBUTES),
    ...opts.searchAttributes,
  };
  for (const [name, type] of Object.entries(attributes)) args.push('--search-attribute', `${name}=${type}`);
  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal server start-dev exited ${child.exitCode}: ${stderr}`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      await conn.workflowService.getSystemInfo({});
      await conn.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`dev server did not answer on ${address} within 30 s: ${(err as Error).message}\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    address,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
