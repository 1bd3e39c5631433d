// `npm run demo`: a full close on the embedded defaults. Starts PostgreSQL (embedded) and the Temporal dev
// server (with the Web UI), loads the demo data, runs a worker, starts the close, plays the supervisor's
// approval, and prints the result. `npm run demo -- --keep` leaves everything running for the Web UI.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Pool, Client as PgClient } from 'pg';
import { createApprovalKeyFiles, readApprovalKeySet, readSigningKeyFile } from '../activities/approval/keys';
import { ApprovalOutbox } from '../activities/approval/outbox';
import { systemsFromEnv } from '../activities/systems';
import { parseApprovalPolicy } from '../domain/approval';
import { buildApprovalGateway } from '../client/approval-gateway';
import { formatStatus } from '../client/cli';
import { readClosePlan } from '../client/close-plan-file';
import { connectClient } from '../client/connect';
import { closeWorkflowId } from '../domain/ids';
import { startWorker } from '../workers/main';
import { encryptionConfigured, ensureKeyFile } from '../workers/security-setup';
import { statusQuery } from '../workflows/definitions';
import type { CloseStatus } from '../workflows/types';
import { startDevServer } from './lib/dev-server';
import { createDatabase } from './lib/pg-admin';
import { startEmbeddedPostgres } from './lib/postgres';
import { cacheDir } from './lib/servers';

const root = join(__dirname, '..');
const keep = process.argv.includes('--keep');
const say = (s: string) => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const t0 = Date.now();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  say('finflow demo: month-end close of ACME, period 2026-10');
  const pg = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres({ dataDir: '/tmp/finflow-demo-pg' });
  const dbUrl = process.env.DATABASE_URL ?? (await createDatabase(pg!.adminUrl, 'finflow_demo'));
  say(`  PostgreSQL     ${pg ? 'embedded, ' : ''}${dbUrl.replace(/:[^:@/]*@/, ':***@')}`);
  const db = new PgClient({ connectionString: dbUrl });
  await db.connect();
  await db.query(readFileSync(join(root, 'examples/demo/seed.sql'), 'utf8'));
  await db.end();

  const server = await startDevServer();
  say(`  Temporal       ${server.address} (dev server)`);
  say(`  Web UI         ${server.uiUrl}`);
  const config = { address: server.address, namespace: 'default', taskQueue: 'finflow' };
  // Encryption on, as in production: FINFLOW_KEY_FILE / FINFLOW_KEYS when set, else a demo key in the cache.
  const demoKeys = join(cacheDir(), 'demo-keys.json');
  const keyProvider = encryptionConfigured() ? undefined : await ensureKeyFile(demoKeys);
  say(
    `  Encryption     on (${keyProvider ? demoKeys : 'keys from the environment'}); the Web UI needs \`finflow codec-server\``,
  );
  // Approvals are signed by the approval gateway; the worker trusts its public key. The demo's signing key lives in
  // the cache, made once (0600); the demo plays the identity provider with a key pair of its own.
  const approvalKeys = join(cacheDir(), 'demo-approval');
  const signingKeyFile = join(approvalKeys, 'gateway.private.jwk.json');
  if (!existsSync(signingKeyFile)) await createApprovalKeyFiles(approvalKeys, { name: 'gateway' });
  const worker = await startWorker({
    config,
    systems: systemsFromEnv({ DATABASE_URL: dbUrl }),
    keyProvider,
    approval: { keys: await readApprovalKeySet(join(approvalKeys, 'approval-jwks.json')) },
  });
  const { client, close } = await connectClient(config, { keyProvider });
  const plan = readClosePlan(join(root, 'examples/demo/close-plan.json'));
  const idp = await generateKeyPair('EdDSA');
  const idpJwk = { ...(await exportJWK(idp.publicKey)), kid: 'demo-idp', alg: 'EdDSA' };
  const outboxPool = new Pool({ connectionString: dbUrl, max: 2 });
  const gateway = await buildApprovalGateway({
    client,
    directory: parseApprovalPolicy(plan.approvalPolicy, 'examples/demo/close-plan.json'),
    identity: { keys: { keys: [idpJwk] }, issuer: 'finflow-demo-idp', audience: 'finflow-approval-gateway' },
    signingKey: await readSigningKeyFile(signingKeyFile),
    outbox: new ApprovalOutbox(outboxPool),
  });
  const gatewayUrl = await gateway.listen({ host: '127.0.0.1', port: 0 });
  say(`  Approvals      gateway ${gatewayUrl} (signing key ${signingKeyFile})`);
  /** What an approver app holds after its user logs in: an identity token from the company's IdP. */
  const login = (userId: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: 'demo-idp' })
      .setIssuer('finflow-demo-idp')
      .setAudience('finflow-approval-gateway')
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(idp.privateKey);
  // An approver app polls the outbox after the last notification it saw (earlier demo runs left theirs).
  const inbox = async (userId: string, afterId: string | null) => {
    const q = afterId ? `?afterId=${afterId}` : '';
    const res = await fetch(`${gatewayUrl}/notifications${q}`, {
      headers: { authorization: `Bearer ${await login(userId)}` },
    });
    return (await res.json()) as { notifications: { subject: string }[]; lastId: string | null };
  };
  try {
    const seen = (await inbox('sam.supervisor', null)).lastId;
    const workflowId = closeWorkflowId(plan.company, plan.period);
    const handle = await client.workflow.start('monthEndCloseWorkflow', {
      taskQueue: config.taskQueue,
      workflowId,
      args: [plan],
    });
    say(
      `  close started  ${workflowId}  (${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)})`,
    );

    let approved = false;
    let last = '';
    for (;;) {
      const s: CloseStatus = await handle.query(statusQuery);
      const line = `  progress       ${'#'.repeat(s.percentDone / 5).padEnd(20, '.')} ${s.percentDone}%  ${s.tasks.map((t) => `${t.id}=${t.state}`).join(' ')}`;
      if (line !== last) say((last = line));
      const cp = s.checkpoints.find((c) => c.checkpointId === 'recon-review');
      if (cp?.state === 'open' && !approved) {
        const bearer = `Bearer ${await login('sam.supervisor')}`;
        for (const n of (await inbox('sam.supervisor', seen)).notifications)
          say(`  notification   sam.supervisor: ${n.subject}`);
        const res = await fetch(`${gatewayUrl}/approvals`, {
          method: 'POST',
          headers: { authorization: bearer, 'content-type': 'application/json' },
          body: JSON.stringify({
            workflowId,
            checkpointId: 'recon-review',
            decision: 'approved',
            comments: 'Differences explained: rounding on 1042, transposition on 1500, 1777 and 9001 timing.',
            resolution: '1042 rounding accepted; 1500 corrected in the ERP; 1777 and 9001 clear in November.',
          }),
        });
        const answer = (await res.json()) as { accepted: boolean; message: string; reason?: string };
        say(
          `  approval       sam.supervisor through the gateway: ${answer.accepted ? 'accepted' : `REFUSED (${answer.reason})`}: ${answer.message}`,
        );
        approved = true;
      }
      if (s.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const result = await handle.result();
    say('');
    say(formatStatus(result));
    say('');
    say(`close ${result.state} in ${((Date.now() - t0) / 1000).toFixed(1)} s; Web UI: ${server.uiUrl}`);
    if (result.state !== 'completed') process.exitCode = 1;
    if (keep) {
      say('--keep: servers stay up; Ctrl-C to stop.');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
  } finally {
    await gateway.close();
    await outboxPool.end();
    await close();
    await worker.stop();
    await server.stop();
    await pg?.stop();
  }
}

main().catch((err) => {
  console.error(`demo failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
