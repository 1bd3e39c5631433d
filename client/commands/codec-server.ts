// `finflow codec-server`: /encode and /decode for the Temporal Web UI and CLI, JWT-authenticated, or, in a loopback-only
// development mode said loudly, as one fixed viewer (moved from commands/security.ts, behaviour unchanged).
import type { Command } from 'commander';
import { PgAccessLog } from '../../activities/security/access-log';
import { EncryptionCodec } from '../../platform/codec';
import { keyProviderFromEnvIfConfigured, securityPolicyFromEnv } from '../../platform/security-setup';
import {
  assertLoopback,
  buildCodecServer,
  codecServerConfigFromEnv,
  createJwtVerifier,
  type CodecServerEnvConfig,
  type VerifyCaller,
  DEVELOPMENT_WARNING,
  developmentViewer,
} from '../codec-server';
import { resilientPool } from '../../activities/pg-pool';
import { personCodecVerifierFromEnv } from '../codec-identity';

type Out = (line: string) => void;

function databaseUrl(env: NodeJS.ProcessEnv): string {
  const url = env.DATABASE_URL;
  if (!url) throw new Error('name the database of the data keys and access log: --database-url or DATABASE_URL');
  return url;
}

export function registerCodecServerCommand(program: Command, out: Out, env: NodeJS.ProcessEnv): void {
  program
    .command('codec-server')
    .description('serve /encode and /decode for the Temporal Web UI and CLI (--codec-endpoint), JWT-authenticated')
    .option('--port <n>', 'port (default $FINFLOW_CODEC_PORT or 8888; 0 picks a free one)')
    .option('--host <addr>', 'address to bind (default $FINFLOW_CODEC_HOST or 127.0.0.1)')
    .option(
      '--development-role <role...>',
      'DEVELOPMENT ONLY: no token, every caller is one viewer with these roles; loopback only, said loudly',
    )
    .action(async (o: { port?: string; host?: string; developmentRole?: string[] }) => {
      let config: Pick<CodecServerEnvConfig, 'port' | 'host' | 'corsOrigins' | 'policy'>;
      let verifyCaller: VerifyCaller;
      if (o.developmentRole) {
        config = developmentConfig(env, o.host);
        verifyCaller = developmentViewer(o.developmentRole);
      } else {
        const c = codecServerConfigFromEnv({ ...env, ...(o.host !== undefined ? { FINFLOW_CODEC_HOST: o.host } : {}) });
        config = c;
        const idp = createJwtVerifier({ keys: c.jwks, issuer: c.issuer, audience: c.audience });
        // With people's keys and the user directory, callers are people of the directory, masked for their roles there.
        verifyCaller = personCodecVerifierFromEnv(env, idp) ?? idp;
      }
      if (o.port !== undefined) {
        const port = Number(o.port);
        if (!/^\d+$/.test(o.port) || port > 65535) throw new Error(`--port ${o.port} is not a port`);
        config.port = port;
      }
      const provider = await keyProviderFromEnvIfConfigured(env);
      if (!provider) throw new Error('the codec server needs the keys: set FINFLOW_KEY_FILE or FINFLOW_KEYS');
      const pool = resilientPool({ connectionString: databaseUrl(env), max: 4 });
      const accessLog = new PgAccessLog(pool);
      await accessLog.ensureSchema();
      const app = buildCodecServer({
        codec: new EncryptionCodec(provider),
        verifyCaller,
        policy: config.policy,
        accessLog,
        corsOrigins: config.corsOrigins,
      });
      app.addHook('onClose', async () => pool.end());
      await app.listen({ port: config.port, host: config.host });
      if (o.developmentRole) out(`${DEVELOPMENT_WARNING} (viewer roles: ${o.developmentRole.join(', ')})`);
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      out(
        `codec server listening on http://${config.host}:${port} ` +
          `(CORS origins: ${config.corsOrigins.join(', ') || 'none'}; every decode goes to the access log)`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await app.close();
      out('codec server stopped');
    });
}

/** A development codec server's settings: loopback only, no JWT, the policy and CORS origins as configured. */
function developmentConfig(
  env: NodeJS.ProcessEnv,
  host: string | undefined,
): Pick<CodecServerEnvConfig, 'port' | 'host' | 'corsOrigins' | 'policy'> {
  const bind = host ?? (env.FINFLOW_CODEC_HOST?.trim() || '127.0.0.1');
  assertLoopback(bind);
  const port = Number(env.FINFLOW_CODEC_PORT ?? '8888');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`FINFLOW_CODEC_PORT ${env.FINFLOW_CODEC_PORT} is not a port`);
  return {
    port,
    host: bind,
    // The dev server's Web UI on its default port, unless told otherwise.
    corsOrigins: (env.FINFLOW_CODEC_CORS_ORIGINS ?? 'http://127.0.0.1:8233,http://localhost:8233')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
    policy: securityPolicyFromEnv(env),
  };
}
