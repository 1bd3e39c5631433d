// Finds the Temporal binaries that scripts/provision.sh put in the cache. The SDK's own download needs the
// internet, which these machines lack, so every entry point goes through here.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(): string {
  return process.env.FINFLOW_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'finflow');
}

function fromEnvFile(name: string): string | undefined {
  const file = join(cacheDir(), 'servers.env');
  if (!existsSync(file)) return undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [k, ...rest] = line.split('=');
    if (k === name) return rest.join('=').trim() || undefined;
  }
  return undefined;
}

function locate(name: 'FINFLOW_TEMPORAL_CLI' | 'FINFLOW_TEST_SERVER'): string | undefined {
  const path = process.env[name] || fromEnvFile(name);
  if (path && !existsSync(path)) throw new Error(`${name}=${path} does not exist: run scripts/provision.sh`);
  return path;
}

/** `existing-path` when provisioned, else the SDK's download (works only with internet access). */
export function serverExecutable(
  kind: 'dev' | 'test',
): { type: 'existing-path'; path: string } | { type: 'cached-download' } {
  const path = locate(kind === 'dev' ? 'FINFLOW_TEMPORAL_CLI' : 'FINFLOW_TEST_SERVER');
  return path ? { type: 'existing-path', path } : { type: 'cached-download' };
}

export function temporalCliPath(): string {
  const path = locate('FINFLOW_TEMPORAL_CLI');
  if (!path) throw new Error('Temporal CLI not provisioned: run `bash scripts/provision.sh`');
  return path;
}
