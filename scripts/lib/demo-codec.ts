// The demo's codec server for the dev server's Web UI: development mode (no token; the dev server's UI has none to
// send), bound to loopback, decoding as one viewer with the auditor role under deploy/config's security policy, so
// whoever opens the demo's Web UI link sees payloads decoded and masked as an auditor would, every decode in the
// access log of the demo's database.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Pool } from 'pg';
import { PgAccessLog } from '../../activities/security/access-log';
import { buildCodecServer, DEVELOPMENT_WARNING, developmentViewer } from '../../client/codec-server';
import { EncryptionCodec } from '../../platform/codec';
import { ensureKeyFile, securityPolicyFromEnv } from '../../platform/security-setup';

export const DEMO_VIEWER_ROLES = ['auditor'];
/** The security policy the demo masks by, relative to the repository (deploy/config). */
export const DEMO_POLICY_FILE = 'deploy/config/security-policy.json';

/**
 * How to start this same development codec server by hand (`npx finflow codec-server`), with the environment it
 * refuses to start without: the demo's payload keys, its database (for the access log), the policy and the Web UI's
 * origin. The environment goes to a file of mode 0600 (the database URL holds a password), sourced by the printed
 * line; the e2e test runs exactly this, so what the demo prints works.
 */
export async function writeDevelopmentCodecCommand(opts: {
  keysDir: string;
  databaseUrl: string;
  port: number;
  uiPort: number;
  envFile: string;
}): Promise<{ env: Record<string, string>; args: string[]; text: string }> {
  const env = {
    FINFLOW_KEY_FILE: join(opts.keysDir, 'payload-keys.json'),
    DATABASE_URL: opts.databaseUrl,
    FINFLOW_SECURITY_POLICY: join(__dirname, '../..', DEMO_POLICY_FILE),
    FINFLOW_CODEC_CORS_ORIGINS: `http://127.0.0.1:${opts.uiPort},http://localhost:${opts.uiPort}`,
  };
  const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  await mkdir(dirname(opts.envFile), { recursive: true });
  await writeFile(opts.envFile, Object.entries(env).map(([k, v]) => `${k}=${quote(v)}\n`).join(''), { mode: 0o600 });
  const args = ['codec-server', '--development-role', ...DEMO_VIEWER_ROLES, '--port', String(opts.port)];
  return { env, args, text: `(set -a; . ${opts.envFile}; npx finflow ${args.join(' ')})` };
}

export interface DemoCodecServer {
  url: string;
  warning: string;
  stop(): Promise<void>;
}

export async function startDemoCodecServer(opts: {
  keysDir: string;
  databaseUrl: string;
  port: number;
  uiPort: number;
}): Promise<DemoCodecServer> {
  const keys = await ensureKeyFile(join(opts.keysDir, 'payload-keys.json'));
  const policy = securityPolicyFromEnv({
    FINFLOW_SECURITY_POLICY: join(__dirname, '../..', DEMO_POLICY_FILE),
  });
  const pool = new Pool({ connectionString: opts.databaseUrl, max: 2 });
  const accessLog = new PgAccessLog(pool);
  await accessLog.ensureSchema();
  const app = buildCodecServer({
    codec: new EncryptionCodec(keys),
    verifyCaller: developmentViewer(DEMO_VIEWER_ROLES, 'demo-viewer'),
    policy,
    accessLog,
    corsOrigins: [`http://127.0.0.1:${opts.uiPort}`, `http://localhost:${opts.uiPort}`],
  });
  await app.listen({ port: opts.port, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${opts.port}`,
    warning: `${DEVELOPMENT_WARNING} (viewer roles: ${DEMO_VIEWER_ROLES.join(', ')})`,
    async stop() {
      await app.close();
      await pool.end();
    },
  };
}
