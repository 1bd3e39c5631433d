// The demo's codec server for the dev server's Web UI: development mode (no token; the dev server's UI has none to
// send), bound to loopback, decoding as one viewer with the auditor role under deploy/config's security policy, so
// whoever opens the demo's Web UI link sees payloads decoded and masked as an auditor would, every decode in the
// access log of the demo's database.
import { join } from 'node:path';
import { Pool } from 'pg';
import { PgAccessLog } from '../../activities/security/access-log';
import { buildCodecServer, DEVELOPMENT_WARNING, developmentViewer } from '../../client/codec-server';
import { EncryptionCodec } from '../../platform/codec';
import { ensureKeyFile, securityPolicyFromEnv } from '../../platform/security-setup';

export const DEMO_VIEWER_ROLES = ['auditor'];

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
    FINFLOW_SECURITY_POLICY: join(__dirname, '../../deploy/config/security-policy.json'),
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
