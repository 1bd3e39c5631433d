// End to end on the Temporal CLI dev server with encryption on: a worker and the finflow CLI share a key file, the
// `finflow codec-server` listens on a real port, and the plain `temporal workflow show --codec-endpoint` reads
// the close's history through it: decoded for a caller cleared for restricted data, masked for an auditor, refused
// without a token. Every decode lands in the access log in PostgreSQL.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { Client, Pool } from 'pg';
import { PgAccessLog } from '../../activities/security/access-log';
import { generateMasterKey, KeyFileProvider, KeyRing, writeKeyFile } from '../../activities/security/key-ring';
import { systemsFromEnv } from '../../activities/systems';
import { temporalCliPath } from '../../scripts/lib/servers';
import { FAILURE_CONVERTER_PATH } from '../../platform/data-converter';
import { startWorker, type RunningWorker } from '../../workers/main';
import type { CloseStatus, MonthEndCloseInput } from '../../contracts';
import { freshDatabase } from '../helpers/postgres';
import { devServerEnv, uniqueId, workflowBundle } from '../helpers/temporal';
import { seedPolicyInput } from '../unit/security-fixture';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');
const IBAN = 'DE89370400440532013000';
const ISSUER = 'https://idp.acme.example';
const AUDIENCE = 'finflow-codec';

let env: TestWorkflowEnvironment;
let worker: RunningWorker;
let codecServer: ChildProcess | undefined;
let codecUrl: string;
let taskQueue: string;
let dir: string;
let dbUrl: string;
let childEnv: NodeJS.ProcessEnv;
let signingKey: CryptoKey;

async function token(sub: string, roles: string[]): Promise<string> {
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(signingKey);
}

/** Starts `finflow codec-server --port 0` and reads the port it prints. */
async function startCodecServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(join(root, 'bin/finflow'), ['codec-server', '--port', '0'], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`codec server did not start within 30 s:\n${output}`)), 30_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`codec server exited ${code}:\n${output}`));
    });
  });
  return { child, url };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'finflow-codec-e2e-'));
  dbUrl = await freshDatabase('e2e_codec');
  const db = new Client({ connectionString: dbUrl });
  await db.connect();
  await db.query(`
    CREATE TABLE gl (account_code text, balance numeric(18,2));
    CREATE TABLE erp (acct_num text, amt numeric(18,2));
    INSERT INTO gl VALUES ('1001','100.00'),('1002','250.10'),('1003','75.00');
    INSERT INTO erp VALUES ('1001','100.00'),('1002','250.09'),('1004','12.34');`);
  await db.end();

  const keyFile = join(dir, 'keys.json');
  await writeKeyFile(keyFile, new KeyRing([generateMasterKey('k1')], 'k1'));
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(
    jwksFile,
    JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'ES256' }] }),
  );
  // The seed's classifications, plus the approval comment as restricted free text (it may quote an account).
  const policyFile = join(dir, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({ ...seedPolicyInput, fields: { ...seedPolicyInput.fields, 'approval.comments': 'restricted' } }),
  );

  env = await devServerEnv();
  taskQueue = uniqueId('e2e-codec');
  childEnv = {
    ...process.env,
    FINFLOW_KEY_FILE: keyFile,
    DATABASE_URL: dbUrl,
    FINFLOW_CODEC_JWT_ISSUER: ISSUER,
    FINFLOW_CODEC_JWT_AUDIENCE: AUDIENCE,
    FINFLOW_CODEC_JWKS_FILE: jwksFile,
    FINFLOW_SECURITY_POLICY: policyFile,
    FINFLOW_CODEC_CORS_ORIGINS: 'http://localhost:8233',
  };
  worker = await startWorker({
    config: { address: env.address, namespace: 'default', taskQueue },
    connection: env.nativeConnection,
    systems: systemsFromEnv({ DATABASE_URL: dbUrl }),
    workflowBundle: await workflowBundle({ failureConverterPath: FAILURE_CONVERTER_PATH }),
    keyProvider: new KeyFileProvider(keyFile),
  });
  ({ child: codecServer, url: codecUrl } = await startCodecServer());
}, 180_000);

afterAll(async () => {
  if (codecServer && codecServer.exitCode === null) {
    const exited = new Promise((r) => codecServer!.once('exit', r));
    codecServer.kill('SIGTERM');
    await exited;
  }
  await worker?.stop();
  await env?.teardown();
});

async function finflow(...args: string[]): Promise<string> {
  const { stdout } = await run(
    join(root, 'bin/finflow'),
    ['--address', env.address, '--task-queue', taskQueue, ...args],
    { cwd: root, env: childEnv },
  );
  return stdout;
}

async function show(workflowId: string, ...codecArgs: string[]): Promise<string> {
  const { stdout } = await run(temporalCliPath(), [
    'workflow',
    'show',
    '--workflow-id',
    workflowId,
    '--address',
    env.address,
    '--namespace',
    'default',
    '--output',
    'json',
    ...codecArgs,
  ]);
  return stdout;
}

/** Every payload in `temporal workflow show --output json`, its metadata and data decoded from base64. */
/**
 * Payloads of a history, but for search attributes: the server indexes those, so they never pass through a codec
 * (finflow's are the close's company, period and status: no restricted data, checked below).
 */
function payloadsIn(
  showOutput: string,
  searchAttributes?: { encoding: string; text: string }[],
  bookkeeping: { encoding: string; text: string }[] = [],
): { encoding: string; text: string }[] {
  const found: { encoding: string; text: string }[] = [];
  const walk = (node: unknown, key = ''): void => {
    if (node === null || typeof node !== 'object') return;
    if (key === 'searchAttributes') {
      if (searchAttributes) searchAttributes.push(...payloadsIn(JSON.stringify(node)));
      return;
    }
    // The SDK core's own marker bookkeeping (a patch's id; a local activity's sequence and times) is written in the
    // clear and never passes a codec; the local activity's result (key "result") is ours and is walked as usual.
    const marker = node as { markerName?: unknown; details?: Record<string, unknown> };
    if ((marker.markerName === 'core_patch' || marker.markerName === 'core_local_activity') && marker.details) {
      for (const [k, v] of Object.entries(marker.details))
        if (k === 'data' || k === 'patch-data') bookkeeping.push(...payloadsIn(JSON.stringify(v)));
        else walk(v, k);
      return;
    }
    const p = node as { metadata?: { encoding?: unknown }; data?: unknown };
    if (typeof p.metadata?.encoding === 'string') {
      found.push({
        encoding: Buffer.from(p.metadata.encoding, 'base64').toString('utf8'),
        text: typeof p.data === 'string' ? Buffer.from(p.data, 'base64').toString('utf8') : '',
      });
      return;
    }
    for (const [k, v] of Object.entries(node)) walk(v, k);
  };
  walk(JSON.parse(showOutput));
  return found;
}

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('condition never met');
}

describe('the codec server with the temporal CLI on the dev server', () => {
  it('decodes a close history for a cleared caller, masks it for an auditor, refuses it without a token, and logs each decode', async () => {
    const company = uniqueId('CODEC').replace(/[^A-Za-z0-9-]/g, '');
    const workflowId = `close:${company}:2026-10`;
    const plan: MonthEndCloseInput = {
      company,
      period: '2026-10',
      // The approval is sent unsigned: development mode (see workflows/approval/checkpoints.ts).
      allowUnsignedApprovals: true,
      owner: `treasury (refunds to ${IBAN})`,
      tasks: [
        {
          id: 'gl_vs_erp',
          kind: 'reconciliation',
          config: {
            reconId: 'gl-vs-erp',
            a: { system: 'ledger', table: 'gl', keyField: 'account_code', valueField: 'balance' },
            b: { system: 'ledger', table: 'erp', keyField: 'acct_num', valueField: 'amt' },
          },
        },
        {
          id: 'recon_review',
          kind: 'approval',
          predecessors: ['gl_vs_erp'],
          config: {
            checkpointId: 'recon-review',
            role: 'supervisor',
            escalation: { timeout: '4h', path: ['manager'] },
          },
        },
      ],
    };
    const file = join(dir, `${company}.json`);
    writeFileSync(file, JSON.stringify(plan));
    // The finflow CLI encrypts with the key file in its environment and decrypts what it reads back.
    expect(await finflow('close', 'start', file)).toContain(`started ${workflowId}`);
    await until(
      async () => JSON.parse(await finflow('close', 'status', workflowId, '--json')) as CloseStatus,
      (s) => s.checkpoints.length === 1,
    );
    await finflow(
      'approve',
      workflowId,
      '--checkpoint',
      'recon-review',
      '--by',
      'sue',
      '--role',
      'supervisor',
      '--comment',
      `refund sent to ${IBAN}`,
    );
    const result = JSON.parse(await finflow('close', 'result', workflowId, '--json')) as CloseStatus;
    expect(result.state).toBe('completed');
    expect(result.checkpoints[0].decisions[0].comments).toBe(`refund sent to ${IBAN}`);

    // Without a codec the CLI shows ciphertext only.
    const indexed: { encoding: string; text: string }[] = [];
    const bookkeeping: { encoding: string; text: string }[] = [];
    const raw = payloadsIn(await show(workflowId), indexed, bookkeeping);
    expect(bookkeeping.map((p) => p.text).join('\n')).not.toContain(IBAN);
    for (const p of bookkeeping) expect(p.text).toMatch(/^\{"(id|seq)":/);
    expect(raw.length).toBeGreaterThanOrEqual(4);
    expect(new Set(raw.map((p) => p.encoding))).toEqual(new Set(['binary/encrypted']));
    // The close's search attributes (company, period, status) are the only clear payloads, and hold nothing else.
    expect(indexed.length).toBeGreaterThan(0);
    // (TemporalChangeVersion lists the patch ids the close took: one or several.)
    for (const p of indexed) expect(p.text).toMatch(/^"[A-Za-z0-9_-]*"$|^\["[A-Za-z0-9_-]*"(,"[A-Za-z0-9_-]*")*\]$/);
    expect(indexed.map((p) => p.text).join('\n')).not.toContain(IBAN);
    expect(raw.map((p) => p.text).join('\n')).not.toContain(IBAN);

    // A director may see restricted data: the history decodes in full.
    const director = payloadsIn(
      await show(
        workflowId,
        '--codec-endpoint',
        codecUrl,
        '--codec-auth',
        `Bearer ${await token('dora.director', ['director'])}`,
      ),
    );
    expect(director).toHaveLength(raw.length);
    expect(director.every((p) => p.encoding === 'json/plain')).toBe(true);
    const directorText = director.map((p) => p.text).join('\n');
    expect(directorText).toContain(`"comments":"refund sent to ${IBAN}"`);
    expect(directorText).toContain(`"owner":"treasury (refunds to ${IBAN})"`);

    // An auditor reads the same history with the restricted values masked to their last four characters.
    const auditor = payloadsIn(
      await show(
        workflowId,
        '--codec-endpoint',
        codecUrl,
        '--codec-auth',
        `Bearer ${await token('alex.auditor', ['auditor'])}`,
      ),
    );
    expect(auditor).toHaveLength(raw.length);
    const auditorText = auditor.map((p) => p.text).join('\n');
    expect(auditorText).not.toContain(IBAN);
    expect(auditorText).toContain('"comments":"****3000"');
    expect(auditorText).toContain('"owner":"treasury (refunds to ****3000)"');
    expect(auditorText).toContain('"checkpointId":"recon-review"');

    // No token: the codec server refuses (401), and the CLI, retrying until its deadline, prints nothing decoded.
    const refused = await run(temporalCliPath(), [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--address',
      env.address,
      '--namespace',
      'default',
      '--output',
      'json',
      '--command-timeout',
      '3s',
      '--codec-endpoint',
      codecUrl,
    ]).then(
      (r) => ({ failed: false, text: r.stdout + r.stderr }),
      (err: { stdout?: string; stderr?: string }) => ({ failed: true, text: `${err.stdout}${err.stderr}` }),
    );
    expect(refused.failed).toBe(true);
    expect(refused.text).not.toContain(IBAN);
    expect(refused.text).not.toContain('refund sent');
    const direct = await fetch(`${codecUrl}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default' },
      body: JSON.stringify({ payloads: [] }),
    });
    expect(direct.status).toBe(401);
    expect(direct.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const pool = new Pool({ connectionString: dbUrl, max: 1 });
    try {
      const entries = await new PgAccessLog(pool).list({ action: 'decode' });
      const by = (actor: string) => entries.filter((e) => e.actor === actor);
      expect(by('dora.director').length).toBeGreaterThan(0);
      expect(by('dora.director').every((e) => e.outcome === 'allowed')).toBe(true);
      expect(by('dora.director').flatMap((e) => e.fields)).toContain('comments');
      expect(by('alex.auditor').length).toBeGreaterThan(0);
      expect(by('alex.auditor').flatMap((e) => e.fields)).not.toContain('comments');
      expect(by('anonymous').map((e) => e.outcome)).toContain('denied');
      expect(entries.every((e) => e.resource === 'temporal-namespace:default')).toBe(true);
    } finally {
      await pool.end();
    }
  }, 120_000);
});
