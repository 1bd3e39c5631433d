// docker-compose.yml against the code it runs. The docker engine does not run here, so nothing is started:
// - always: the file is parsed (anchors and merge keys resolved, ${VAR} interpolated as compose does) and each
//   finflow service's environment, with its mounts and secrets mapped to host files, is handed to the code's own
//   configuration readers (worker, approval gateway, codec server), with keys made by the documented commands;
//   images, commands, ports, depends_on and the database credentials must agree across services;
// - where a compose client is installed (`docker compose` or Debian's `docker-compose`): `config` renders the file
//   with the example settings and refuses it without them.
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import {
  APPROVAL_AUDIENCE,
  approvalConfigFromEnv,
  CLI_ISSUER,
  createApprovalActivities,
  GATEWAY_ISSUER,
} from '../../activities/approval';
import { readSigningKeyFile } from '../../activities/approval/keys';
import { signApprovalDecision } from '../../activities/approval/signing';
import { signingKeyFromEnv } from '../../activities/compliance/signing';
import { systemsFromEnv } from '../../activities/systems';
import { gatewayConfigFromEnv, readPolicyFile } from '../../client/approval-gateway';
import { buildProgram } from '../../client/cli';
import { personCodecVerifierFromEnv } from '../../client/codec-identity';
import { codecServerConfigFromEnv } from '../../client/codec-server';
import { TASK_QUEUE } from '../../domain/ids';
import { FINFLOW_SEARCH_ATTRIBUTES } from '../../scripts/lib/dev-server';
import { temporalConfig } from '../../platform/config';
import { keyProviderFromEnvIfConfigured, securityPolicyFromEnv } from '../../platform/security-setup';

const ROOT = resolve(__dirname, '../..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const ENV_EXAMPLE = join(ROOT, 'deploy/compose.env.example');
const SECRETS_DIR = join(ROOT, 'deploy/secrets');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  depends_on?: string[] | Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
  secrets?: string[];
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

const FINFLOW_SERVICES = ['worker', 'approval-gateway', 'codec-server'];

/** KEY=value lines; blank values filled by `fill` (the example leaves secrets blank). */
function readEnvFile(path: string, fill: (key: string) => string = () => ''): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2] === '' ? fill(m[1]) : m[2];
  }
  return env;
}

const exampleEnv = (): Record<string, string> =>
  readEnvFile(ENV_EXAMPLE, (k) => (/PASSWORD/.test(k) ? `pw-${k.toLowerCase().replace(/_/g, '-')}` : `v-${k}`));

/** Compose's interpolation (${VAR}, ${VAR:-default}, ${VAR:?message}); the variables required are collected. */
function interpolate<T>(value: T, env: Record<string, string>, required: Set<string>, missing: string[]): T {
  if (typeof value === 'string')
    return value.replace(/\$\{([A-Za-z0-9_]+)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
      const v = env[name];
      if (op === '?') required.add(name);
      if (v !== undefined && v !== '') return v;
      if (op === '-') return arg ?? '';
      if (op === '?') missing.push(name);
      return '';
    }) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => interpolate(v, env, required, missing)) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v as unknown, env, required, missing)]),
    ) as T;
  return value;
}

function loadCompose(env: Record<string, string>): { compose: Compose; required: Set<string>; missing: string[] } {
  const raw = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as Compose;
  const required = new Set<string>();
  const missing: string[] = [];
  return { compose: interpolate(raw, env, required, missing), required, missing };
}

const dependsOn = (s: Service): string[] =>
  Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});

/** Container paths of a service mapped to host paths: bind mounts, and secrets at /run/secrets/<name>. */
function mounts(compose: Compose, s: Service, secretsHostDir: string): [string, string][] {
  const out: [string, string][] = [];
  for (const v of s.volumes ?? []) {
    const [source, target] = v.split(':');
    if (source.startsWith('.') || isAbsolute(source)) out.push([target, resolve(ROOT, source)]);
  }
  for (const name of s.secrets ?? []) out.push([`/run/secrets/${name}`, resolve(ROOT, compose.secrets[name].file)]);
  // Files under deploy/secrets are made on the host by the documented commands: here, in a temporary directory.
  return out.map(([target, host]) => [
    target,
    host.startsWith(SECRETS_DIR) ? join(secretsHostDir, relative(SECRETS_DIR, host)) : host,
  ]);
}

/** The service's environment as its process would see it, with file paths pointing at the host's files. */
function hostEnv(compose: Compose, s: Service, secretsHostDir: string): Record<string, string> {
  const m = mounts(compose, s, secretsHostDir);
  return Object.fromEntries(
    Object.entries(s.environment ?? {}).map(([k, v]) => {
      const hit = m.find(([target]) => v === target || v.startsWith(`${target}/`));
      return [k, hit ? hit[1] + v.slice(hit[0].length) : v];
    }),
  );
}

function findCommand(program: Command, path: string[]): Command | undefined {
  let c: Command | undefined = program;
  for (const name of path) c = c?.commands.find((x) => x.name() === name);
  return c;
}

/** `docker compose` (plugin) or `docker-compose` (v1), whichever answers; undefined when neither is installed. */
function composeClient(): string[] | undefined {
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    const r = spawnSync(cmd[0], [...cmd.slice(1), 'version'], { encoding: 'utf8' });
    if (r.status === 0) return cmd;
  }
  return undefined;
}

describe('docker-compose.yml against the code it runs', () => {
  const env = exampleEnv();
  const { compose, required, missing } = loadCompose(env);
  const svc = (name: string): Service => {
    const s = compose.services[name];
    if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
    return s;
  };
  let secrets: string;

  beforeAll(async () => {
    // The secrets as the header of docker-compose.yml says to make them, with the CLI's own commands.
    secrets = mkdtempSync(join(tmpdir(), 'finflow-compose-'));
    const quiet = () => undefined;
    await buildProgram(quiet).parseAsync(['node', 'finflow', 'keys', 'init', join(secrets, 'finflow-keys.json')]);
    await buildProgram(quiet).parseAsync(['node', 'finflow', 'approval', 'keys', 'init', '--dir', secrets]);
    // A person's own key, as the header says: the directory under deploy/secrets, the private file with its person.
    await buildProgram(quiet).parseAsync([
      'node',
      'finflow',
      'keys',
      'user',
      'add',
      'sam',
      '--directory',
      join(secrets, 'user-keys', 'user-keys.json'),
      '--out',
      join(secrets, 'sam.private.jwk.json'),
      '--by',
      'ivy.admin',
    ]);
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(secrets, 'evidence-signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
  });
  afterAll(() => rmSync(secrets, { recursive: true, force: true }));

  it('runs every part of the production-like stack, each image pinned to a version', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'approval-gateway',
        'codec-server',
        'finflow-db',
        'mariadb',
        'temporal',
        'temporal-db',
        'temporal-setup',
        'temporal-ui',
        'worker',
      ].sort(),
    );
    for (const [name, s] of Object.entries(compose.services)) {
      expect([name, s.image]).toEqual([name, expect.stringMatching(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/)]);
      expect([name, s.image?.endsWith(':latest')]).toEqual([name, false]);
    }
    expect(svc('temporal-ui').image).toMatch(/^temporalio\/ui:/);
    expect(svc('mariadb').image).toMatch(/^mariadb:/);
    for (const name of FINFLOW_SERVICES)
      expect(svc(name).build).toEqual({ context: '.', dockerfile: 'deploy/Dockerfile' });
  });

  it('keeps Temporal on PostgreSQL with the credentials that database was created with', () => {
    const t = svc('temporal');
    expect(t.image).toMatch(/^temporalio\/(auto-setup|server):\d+\.\d+\.\d+$/);
    expect(t.environment).toMatchObject({ DB: 'postgres12', DB_PORT: '5432' });
    const db = svc(t.environment!.POSTGRES_SEEDS);
    expect(db.image).toMatch(/^postgres:\d+/);
    expect(t.environment!.POSTGRES_USER).toBe(db.environment!.POSTGRES_USER);
    expect(t.environment!.POSTGRES_PWD).toBe(db.environment!.POSTGRES_PASSWORD);
    expect(t.environment!.POSTGRES_PWD).toBe(env.TEMPORAL_DB_PASSWORD);
    expect(dependsOn(t)).toContain(t.environment!.POSTGRES_SEEDS);
  });

  it('registers the search attributes the close upserts, with the types the dev server gives them', () => {
    const setup = svc('temporal-setup');
    const script = [...(setup.entrypoint ?? []), ...(setup.command ?? [])].join(' ');
    for (const [name, type] of Object.entries(FINFLOW_SEARCH_ATTRIBUTES))
      expect(script).toContain(`--name ${name} --type ${type}`);
    expect(script).toMatch(/search-attribute list .*\|\| temporal operator search-attribute create/);
    expect(dependsOn(setup)).toEqual(['temporal']);
  });

  it('runs the worker, the gateway and the codec server with commands this repository has', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(svc('worker').command).toEqual(['npm', 'run', 'worker']);
    expect(pkg.scripts.worker).toMatch(/workers\/main\.ts$/);
    const program = buildProgram(() => undefined);
    for (const name of ['approval-gateway', 'codec-server']) {
      const [node, bin, ...path] = svc(name).command!;
      expect([node, bin]).toEqual(['node', 'bin/finflow']);
      expect(existsSync(join(ROOT, bin))).toBe(true);
      expect([name, findCommand(program, path)?.name()]).toEqual([name, path[path.length - 1]]);
    }
  });

  it('gives the worker a configuration its own readers accept: Temporal, keys, systems, approval keys, evidence key', async () => {
    const w = hostEnv(compose, svc('worker'), secrets);
    const t = temporalConfig(w);
    expect(t).toEqual({ address: 'temporal:7233', namespace: 'default', taskQueue: TASK_QUEUE });
    // Encryption is required and the key file (0600, as `finflow keys init` made it) opens.
    expect(w.FINFLOW_ENCRYPTION).toBe('required');
    expect(statSync(w.FINFLOW_KEY_FILE).mode & 0o077).toBe(0);
    await expect(keyProviderFromEnvIfConfigured(w)).resolves.toBeDefined();
    expect(signingKeyFromEnv(w)?.keyId).toEqual(expect.any(String));
    expect(securityPolicyFromEnv(w).classifications.restricted.access).toEqual(['director']);

    const systems = systemsFromEnv(w);
    try {
      expect([systems.engine('general_ledger'), systems.engine('erp')]).toEqual(['postgres', 'mysql']);
    } finally {
      await systems.close();
    }
    // Every URL names a database that its server creates, with the user and password it is created with.
    const db = svc('finflow-db').environment!;
    const own = new URL(w.DATABASE_URL);
    expect([own.hostname, own.username, own.password, own.pathname]).toEqual([
      'finflow-db',
      db.POSTGRES_USER,
      db.POSTGRES_PASSWORD,
      `/${db.POSTGRES_DB}`,
    ]);
    const gl = new URL(w.FINFLOW_SYSTEM_GENERAL_LEDGER_URL);
    expect([gl.hostname, gl.username, gl.password]).toEqual(['finflow-db', db.POSTGRES_USER, db.POSTGRES_PASSWORD]);
    const init = svc('finflow-db')
      .volumes!.filter((v) => v.includes('/docker-entrypoint-initdb.d/'))
      .map((v) => readFileSync(resolve(ROOT, v.split(':')[0]), 'utf8'))
      .join('\n');
    expect(init).toContain(`CREATE DATABASE ${gl.pathname.slice(1)} OWNER ${db.POSTGRES_USER};`);
    const maria = svc('mariadb').environment!;
    const erp = new URL(w.FINFLOW_SYSTEM_ERP_URL);
    expect([erp.protocol, erp.hostname, erp.username, erp.password, erp.pathname]).toEqual([
      'mysql:',
      'mariadb',
      maria.MARIADB_USER,
      maria.MARIADB_PASSWORD,
      `/${maria.MARIADB_DATABASE}`,
    ]);
  });

  it('lets the worker verify what the gateway signs: the gateway signing key and the worker key set are one pair', async () => {
    const gw = gatewayConfigFromEnv(hostEnv(compose, svc('approval-gateway'), secrets));
    const key = await readSigningKeyFile(gw.signingKeyFile);
    const workerApproval = approvalConfigFromEnv(hostEnv(compose, svc('worker'), secrets));
    const verify = createApprovalActivities({ approval: workerApproval }).verifyApprovalSignal;
    const decision = {
      workflowId: 'close:ACME:2026-10',
      checkpointId: 'reconciliation-approval',
      round: 1,
      decision: 'approved' as const,
      approverId: 'sam',
      roles: ['supervisor'],
    };
    const { token } = await signApprovalDecision(decision, key, {
      issuer: GATEWAY_ISSUER,
      audience: APPROVAL_AUDIENCE,
    });
    await expect(verify({ token, workflowId: decision.workflowId })).resolves.toMatchObject({
      ok: true,
      claims: { approverId: 'sam', checkpointId: 'reconciliation-approval' },
    });
    await expect(verify({ token, workflowId: 'close:OTHER:2026-10' })).resolves.toMatchObject({ ok: false });
  });

  it("counts a person's own CLI-signed decision on the worker, and a gateway decision only with the identity provider's proof, checked against the gateway's provider", async () => {
    const gw = gatewayConfigFromEnv(hostEnv(compose, svc('approval-gateway'), secrets));
    const workerApproval = approvalConfigFromEnv(hostEnv(compose, svc('worker'), secrets));
    // The worker checks gateway decisions against the very provider the gateway signs people in with.
    expect(workerApproval.identity).toMatchObject({ issuer: gw.identity.issuer, audience: gw.identity.audience });
    expect(workerApproval.userKeys?.where).toContain('user-keys.json');
    const verify = createApprovalActivities({ approval: workerApproval }).verifyApprovalSignal;
    const decision = {
      workflowId: 'close:ACME:2026-10',
      checkpointId: 'reconciliation-approval',
      round: 1,
      decision: 'approved' as const,
      approverId: 'sam',
      roles: ['supervisor'],
    };
    const sams = await readSigningKeyFile(join(secrets, 'sam.private.jwk.json'));
    const cli = await signApprovalDecision(decision, sams, { issuer: CLI_ISSUER, audience: APPROVAL_AUDIENCE });
    await expect(verify({ token: cli.token, workflowId: decision.workflowId })).resolves.toMatchObject({
      ok: true,
      claims: { approverId: 'sam', kid: sams.kid },
    });
    const asSue = await signApprovalDecision({ ...decision, approverId: 'sue' }, sams, {
      issuer: CLI_ISSUER,
      audience: APPROVAL_AUDIENCE,
    });
    await expect(verify({ token: asSue.token, workflowId: decision.workflowId })).resolves.toMatchObject({
      ok: false,
      reason: 'key_of_another_person',
    });
    const gateway = await signApprovalDecision(decision, await readSigningKeyFile(gw.signingKeyFile), {
      issuer: GATEWAY_ISSUER,
      audience: APPROVAL_AUDIENCE,
    });
    await expect(
      verify({ token: gateway.token, workflowId: decision.workflowId, requireIdentityProof: true }),
    ).resolves.toMatchObject({ ok: false, reason: 'identity_proof_missing' });
  });

  it('gives the approval gateway a configuration it accepts, published where approver apps reach it', () => {
    const g = svc('approval-gateway');
    const cfg = gatewayConfigFromEnv(hostEnv(compose, g, secrets));
    expect(cfg.host).toBe('0.0.0.0');
    expect(g.ports).toContain(`127.0.0.1:${cfg.port}:${cfg.port}`);
    expect(cfg.identity).toMatchObject({ issuer: env.FINFLOW_OIDC_ISSUER, audience: env.FINFLOW_APPROVER_AUDIENCE });
    expect(cfg.outboxUrl).toBe(hostEnv(compose, svc('worker'), secrets).DATABASE_URL);
    const directory = readPolicyFile(cfg.policyFile);
    expect(directory.users.map((u) => u.userId)).toEqual(expect.arrayContaining(['ann', 'sam', 'maya', 'dan']));
    expect(directory.roles.find((r) => r.name === 'manager')?.approval_limits).toMatchObject({
      journal_entry: '50000',
    });
  });

  it('points the Web UI at the codec server, which accepts its configuration and lets the UI’s origin call it', () => {
    const ui = svc('temporal-ui').environment!;
    const c = svc('codec-server');
    const cfg = codecServerConfigFromEnv(hostEnv(compose, c, secrets));
    const endpoint = new URL(ui.TEMPORAL_CODEC_ENDPOINT);
    expect(endpoint.origin).toBe(env.FINFLOW_CODEC_PUBLIC_URL);
    expect(c.ports).toContain(`127.0.0.1:${endpoint.port}:${cfg.port}`);
    expect(cfg.host).toBe('0.0.0.0');
    expect(cfg.corsOrigins).toEqual([env.FINFLOW_UI_PUBLIC_URL]);
    // The UI passes the signed-in user's token: the codec server decodes only for an authenticated caller.
    expect(ui).toMatchObject({ TEMPORAL_CODEC_PASS_ACCESS_TOKEN: 'true', TEMPORAL_AUTH_ENABLED: 'true' });
    expect(cfg).toMatchObject({ issuer: env.FINFLOW_OIDC_ISSUER, audience: env.FINFLOW_CODEC_AUDIENCE });
    expect(dependsOn(svc('temporal-ui'))).toEqual(expect.arrayContaining(['temporal', 'codec-server']));
  });

  it("has the codec server judge each caller by the person's own key or the provider's token and mask by the directory's roles", async () => {
    const c = hostEnv(compose, svc('codec-server'), secrets);
    // The same user key directory the worker reads, and the same approval policy (its directory) as the gateway's.
    expect(c.FINFLOW_USER_KEYS_FILE).toBe(hostEnv(compose, svc('worker'), secrets).FINFLOW_USER_KEYS_FILE);
    expect(c.FINFLOW_APPROVAL_POLICY_FILE).toBe(
      hostEnv(compose, svc('approval-gateway'), secrets).FINFLOW_APPROVAL_POLICY_FILE,
    );
    expect(personCodecVerifierFromEnv(c, undefined)).toEqual(expect.any(Function));
  });

  it('starts each service after every service its environment names, and publishes ports on localhost only', () => {
    const names = Object.keys(compose.services);
    for (const [name, s] of Object.entries(compose.services)) {
      const hosts = new Set<string>();
      for (const v of Object.values(s.environment ?? {})) {
        const m = /^(?:[a-z0-9+]+:\/\/(?:[^@/]*@)?)?([a-z0-9-]+):\d+/.exec(v);
        if (m && names.includes(m[1])) hosts.add(m[1]);
      }
      if (s.environment?.POSTGRES_SEEDS) hosts.add(s.environment.POSTGRES_SEEDS);
      hosts.delete(name);
      expect([
        name,
        dependsOn(s)
          .filter((d) => hosts.has(d))
          .sort(),
      ]).toEqual([name, [...hosts].sort()]);
      for (const p of s.ports ?? []) expect([name, p]).toEqual([name, expect.stringMatching(/^127\.0\.0\.1:\d+:\d+$/)]);
    }
  });

  it('declares every named volume and secret it uses, and makes each secret file with a documented command', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0];
        if (source.startsWith('.')) {
          const host = resolve(ROOT, source);
          // Bind mounts come from the repository, except the generated keys.
          if (!host.startsWith(SECRETS_DIR)) expect([name, source, existsSync(host)]).toEqual([name, source, true]);
        } else expect([name, source, source in compose.volumes]).toEqual([name, source, true]);
      }
      for (const secret of s.secrets ?? []) expect([name, secret in compose.secrets]).toEqual([name, true]);
    }
    for (const [name, { file }] of Object.entries(compose.secrets)) {
      const host = resolve(ROOT, file);
      expect([name, host.startsWith(`${SECRETS_DIR}/`)]).toEqual([name, true]);
      expect([name, existsSync(join(secrets, relative(SECRETS_DIR, host)))]).toEqual([name, true]);
    }
  });

  it('keeps keys out of git and out of the image, and builds the image the worker runs', () => {
    for (const f of ['finflow-keys.json', 'approval-signing.private.jwk.json', 'evidence-signing.pem'])
      expect(() => execFileSync('git', ['check-ignore', '-q', `deploy/secrets/${f}`], { cwd: ROOT })).not.toThrow();
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'deploy/secrets', '.env']));
    const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
    const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } })
      .engines.node;
    const major = Number(/^FROM node:(\d+)/m.exec(dockerfile)?.[1]);
    expect(major).toBeGreaterThanOrEqual(Number(/\d+/.exec(engines)?.[0]));
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^CMD \["npm", "run", "worker"\]$/m);
  });

  it('asks for every setting it requires, each of which the example settings file names', () => {
    expect(missing).toEqual([]);
    const example = Object.keys(readEnvFile(ENV_EXAMPLE));
    expect([...required].filter((v) => !example.includes(v))).toEqual([]);
    const bare = loadCompose({});
    expect(new Set(bare.missing)).toEqual(required);
    expect([...required]).toEqual(expect.arrayContaining(['TEMPORAL_DB_PASSWORD', 'FINFLOW_DB_PASSWORD']));
  });

  const client = composeClient();
  // Only where a compose client is installed (Debian: apt-get install docker-compose); the checks above run anyway.
  if (client)
    describe(`${client.join(' ')} config`, () => {
      const run = (envFile: string) =>
        spawnSync(client[0], [...client.slice(1), '--env-file', envFile, '-f', COMPOSE_FILE, 'config'], {
          cwd: ROOT,
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
        });
      let dir: string;
      beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'finflow-compose-env-'))));
      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it('renders the stack with the example settings, as the structural checks read it', () => {
        const envFile = join(dir, 'example.env');
        writeFileSync(
          envFile,
          Object.entries(env)
            .map(([k, v]) => `${k}=${v}\n`)
            .join(''),
        );
        const r = run(envFile);
        expect([r.status, r.stderr]).toEqual([0, expect.any(String)]);
        const rendered = parse(r.stdout) as Compose;
        expect(Object.keys(rendered.services).sort()).toEqual(Object.keys(compose.services).sort());
        for (const name of FINFLOW_SERVICES)
          expect([name, rendered.services[name].environment]).toEqual([name, compose.services[name].environment]);
      });

      it('refuses to render without the required settings, naming them', () => {
        const envFile = join(dir, 'empty.env');
        writeFileSync(envFile, '');
        const r = run(envFile);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/TEMPORAL_DB_PASSWORD|FINFLOW_DB_PASSWORD|MARIADB_PASSWORD|FINFLOW_OIDC/);
      });
    });
});
