// The codec server for the Temporal Web UI and CLI (`--codec-endpoint`): Temporal's remote codec protocol,
// POST /encode and POST /decode with `{ payloads: [{ metadata: { key: base64 }, data: base64 }] }`.
//
// It decrypts only for an authenticated caller (a Bearer JWT verified with jose), masks what it decrypted for
// that caller's roles (JSON payloads, by field name, per the security policy), and writes every decode to the
// access log before answering: a decode that cannot be logged is not answered. Browsers may call it only from
// the configured Web UI origins (CORS); calls without an Origin header (the CLI) need the token all the same.
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  jwtVerify,
  type CryptoKey,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { maskByFieldName } from '../domain/security/masking';
import {
  hasAccess,
  normaliseSecurityPolicyKeys,
  parseSecurityPolicy,
  type SecurityPolicy,
} from '../domain/security/policy';
import { readCasedDocument } from '../activities/document-file';
import { PgAccessLog, type AccessLog } from '../activities/security/access-log';
import { keyProviderFromEnv } from '../activities/security/key-ring';
import { EncryptionCodec } from '../platform/codec';
import { resilientPool } from '../activities/pg-pool';

export interface Caller {
  subject: string;
  roles: string[];
}

export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

/** Turns an Authorization header into a caller, or throws AuthenticationError. */
export type VerifyCaller = (authorization: string | undefined) => Promise<Caller>;

export interface JwtVerifierOptions {
  /** A JWKS (inline), a JWKS URL, a public CryptoKey, an HMAC secret, or a jose key resolver. */
  keys: JSONWebKeySet | URL | CryptoKey | Uint8Array | JWTVerifyGetKey;
  issuer: string;
  audience: string;
  /** The claim holding the caller's roles: an array, or a space-separated string. Default `roles`. */
  rolesClaim?: string;
  /** Accepted algorithms; pinned so a token cannot choose a weaker one. */
  algorithms?: string[];
}

export function createJwtVerifier(opts: JwtVerifierOptions): VerifyCaller {
  const { keys } = opts;
  const isJwks = (k: unknown): k is JSONWebKeySet =>
    typeof k === 'object' && k !== null && Array.isArray((k as JSONWebKeySet).keys);
  const key: CryptoKey | Uint8Array | JWTVerifyGetKey = isJwks(keys)
    ? createLocalJWKSet(keys)
    : keys instanceof URL
      ? createRemoteJWKSet(keys)
      : keys;
  const algorithms =
    opts.algorithms ?? (keys instanceof Uint8Array ? ['HS256'] : ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA']);
  const rolesClaim = opts.rolesClaim ?? 'roles';
  return async (authorization) => {
    const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization?.trim() ?? '');
    if (!m) throw new AuthenticationError('a Bearer token is required');
    let payload;
    try {
      ({ payload } = await jwtVerify(m[1], key as Uint8Array, {
        issuer: opts.issuer,
        audience: opts.audience,
        algorithms,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (err) {
      throw new AuthenticationError(`token refused: ${(err as Error).message}`);
    }
    const raw = payload[rolesClaim];
    const roles = Array.isArray(raw)
      ? raw.filter((r): r is string => typeof r === 'string')
      : typeof raw === 'string'
        ? raw.split(' ').filter(Boolean)
        : [];
    return { subject: payload.sub!, roles };
  };
}

/** The addresses a development codec server may bind: this machine only. */
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * DEVELOPMENT ONLY: every caller is one fixed viewer with `roles` (the dev server's Web UI sends no token). Masking
 * and the access log still apply, under the viewer's name. Refused unless the server binds a loopback address
 * (assertLoopback), so it can only ever serve someone already on this machine.
 */
export function developmentViewer(roles: string[], subject = 'development-viewer'): VerifyCaller {
  if (!roles.length) throw new Error('a development viewer needs at least one role, which decides what is masked');
  return async () => ({ subject: `${subject} (development, no identity proven)`, roles });
}

export function assertLoopback(host: string): void {
  if (!LOOPBACK.has(host))
    throw new Error(
      `a development codec server (no authentication) binds only to loopback (127.0.0.1, ::1, localhost), not ${host}`,
    );
}

export const DEVELOPMENT_WARNING =
  'DEVELOPMENT ONLY: this codec server decodes for anyone on this machine, without a token, as one fixed viewer ' +
  '(masked for its roles, every decode in the access log); never run it like this anywhere else';

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');
const BodySchema = z.object({
  payloads: z
    .array(
      z.object({
        metadata: z.record(z.string(), base64).nullish(),
        data: base64.nullish(),
      }),
    )
    .max(10_000),
});
type WirePayload = z.infer<typeof BodySchema>['payloads'][number];

function fromWire(p: WirePayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toWire(p: Payload): { metadata: Record<string, string>; data: string } {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}

const JSON_ENCODINGS = new Set(['json/plain', 'json/protobuf']);
const WITHHELD_BINARY = JSON.stringify('[withheld: a binary payload cannot be masked]');

function encodingOf(p: Payload): string {
  const raw = p.metadata?.encoding;
  return raw ? Buffer.from(raw).toString('utf8') : '';
}

class UnmaskablePayloadError extends Error {}

/** The payload as `roles` may see it; fields revealed in clear are added to `revealed`. */
function maskPayload(p: Payload, policy: SecurityPolicy, roles: string[], revealed: Set<string>): Payload {
  const encoding = encodingOf(p);
  if (encoding === 'binary/null') return p;
  if (!JSON_ENCODINGS.has(encoding))
    return { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(WITHHELD_BINARY) };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(p.data ?? new Uint8Array()).toString('utf8'));
  } catch {
    throw new UnmaskablePayloadError(`a ${encoding} payload is not valid JSON, so it cannot be masked`);
  }
  // Failure messages and free-text notes can quote an account number; only a caller cleared for restricted data
  // sees those in clear.
  const maskFreeText = !hasAccess(policy.classifications.restricted, roles);
  const masked = maskByFieldName(value, policy, roles, { maskFreeText });
  masked.report.revealed.forEach((f) => revealed.add(f));
  return { metadata: p.metadata, data: Buffer.from(JSON.stringify(masked.value)) };
}

export interface CodecServerOptions {
  codec: PayloadCodec;
  verifyCaller: VerifyCaller;
  policy: SecurityPolicy;
  accessLog: AccessLog;
  /** Exact origins of the Web UI (scheme://host[:port]); any other browser origin is refused. */
  corsOrigins: readonly string[];
  /** Request body limit in bytes (default 16 MiB: a batch of payloads near Temporal's 2 MB limit, in base64). */
  bodyLimit?: number;
  logger?: boolean;
}

const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Namespace, X-Finflow-Purpose';

export function buildCodecServer(opts: CodecServerOptions): FastifyInstance {
  const origins = new Set(opts.corsOrigins);
  for (const o of origins)
    if (!/^https?:\/\/[^/]+$/.test(o)) throw new Error(`CORS origin ${JSON.stringify(o)} must be scheme://host[:port]`);
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024 });

  // CORS before anything else: a browser on another origin is turned away even before authentication.
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin === undefined) return;
    if (!origins.has(origin)) {
      await reply.code(403).send({ error: `origin ${origin} is not allowed` });
      return reply;
    }
    reply.header('Access-Control-Allow-Origin', origin);
    reply.header('Access-Control-Allow-Credentials', 'true');
    reply.header('Vary', 'Origin');
  });

  const preflight = async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
    reply.header('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    reply.header('Access-Control-Max-Age', '600');
    return reply.code(204).send();
  };

  const authenticate = async (req: FastifyRequest, reply: FastifyReply): Promise<Caller | undefined> => {
    try {
      return await opts.verifyCaller(req.headers.authorization);
    } catch (err) {
      if (!(err instanceof AuthenticationError)) throw err;
      await reply.code(401).header('WWW-Authenticate', 'Bearer realm="finflow-codec"').send({ error: err.message });
      return undefined;
    }
  };

  const parseBody = (req: FastifyRequest, reply: FastifyReply) => {
    const parsed = BodySchema.safeParse(req.body);
    if (!parsed.success) {
      void reply.code(400).send({
        error: `bad codec request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      });
      return undefined;
    }
    return parsed.data.payloads.map(fromWire);
  };

  const resource = (req: FastifyRequest) => {
    const ns = req.headers['x-namespace'];
    return `temporal-namespace:${typeof ns === 'string' && ns ? ns : 'unknown'}`;
  };
  const purpose = (req: FastifyRequest) => {
    const p = req.headers['x-finflow-purpose'];
    return typeof p === 'string' && p.trim() ? p.trim().slice(0, 200) : 'temporal codec decode';
  };

  for (const path of ['/encode', '/decode']) app.options(path, preflight);

  app.post('/encode', async (req, reply) => {
    const caller = await authenticate(req, reply);
    if (!caller) return reply;
    const payloads = parseBody(req, reply);
    if (!payloads) return reply;
    return { payloads: (await opts.codec.encode(payloads)).map(toWire) };
  });

  app.post('/decode', async (req, reply) => {
    const event = { action: 'decode' as const, resource: resource(req), purpose: purpose(req) };
    const caller = await authenticate(req, reply);
    if (!caller) {
      await opts.accessLog.record({ ...event, actor: 'anonymous', fields: [], outcome: 'denied' });
      return reply;
    }
    const payloads = parseBody(req, reply);
    if (!payloads) return reply;
    const revealed = new Set<string>();
    let out: Payload[];
    try {
      const decoded = await opts.codec.decode(payloads);
      out = decoded.map((p) => maskPayload(p, opts.policy, caller.roles, revealed));
    } catch (err) {
      await opts.accessLog.record({ ...event, actor: caller.subject, fields: [], outcome: 'failed' });
      // The reason (wrong key, tampering) is safe to show; the payload itself is never echoed.
      return reply.code(422).send({ error: (err as Error).message });
    }
    await opts.accessLog.record({ ...event, actor: caller.subject, fields: [...revealed].sort(), outcome: 'allowed' });
    return { payloads: out.map(toWire) };
  });

  return app;
}

/** Settings of a standalone codec server, from the environment (see codecServerConfigFromEnv). */
export interface CodecServerEnvConfig {
  port: number;
  host: string;
  corsOrigins: string[];
  issuer: string;
  audience: string;
  jwks: JSONWebKeySet | URL;
  policy: SecurityPolicy;
}

/**
 * FINFLOW_CODEC_PORT (8888), FINFLOW_CODEC_HOST (127.0.0.1), FINFLOW_CODEC_CORS_ORIGINS (comma-separated),
 * FINFLOW_CODEC_JWT_ISSUER, FINFLOW_CODEC_JWT_AUDIENCE, FINFLOW_CODEC_JWKS_URL or FINFLOW_CODEC_JWKS_FILE,
 * FINFLOW_SECURITY_POLICY (a JSON file). Every missing setting is named in one error.
 */
export function codecServerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CodecServerEnvConfig {
  const missing: string[] = [];
  const need = (name: string) => {
    const v = env[name]?.trim();
    if (!v) missing.push(name);
    return v ?? '';
  };
  const issuer = need('FINFLOW_CODEC_JWT_ISSUER');
  const audience = need('FINFLOW_CODEC_JWT_AUDIENCE');
  const policyFile = need('FINFLOW_SECURITY_POLICY');
  const jwksUrl = env.FINFLOW_CODEC_JWKS_URL?.trim();
  const jwksFile = env.FINFLOW_CODEC_JWKS_FILE?.trim();
  if (!jwksUrl && !jwksFile) missing.push('FINFLOW_CODEC_JWKS_URL or FINFLOW_CODEC_JWKS_FILE');
  if (missing.length) throw new Error(`codec server configuration incomplete: set ${missing.join(', ')}`);
  const port = Number(env.FINFLOW_CODEC_PORT ?? '8888');
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    throw new Error(`FINFLOW_CODEC_PORT ${env.FINFLOW_CODEC_PORT} is not a port`);
  const readJson = (file: string, what: string): unknown => {
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${what} ${file}: ${(err as Error).message}`);
    }
  };
  return {
    port,
    host: env.FINFLOW_CODEC_HOST?.trim() || '127.0.0.1',
    corsOrigins: (env.FINFLOW_CODEC_CORS_ORIGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    issuer,
    audience,
    jwks: jwksUrl ? new URL(jwksUrl) : (readJson(jwksFile!, 'FINFLOW_CODEC_JWKS_FILE') as JSONWebKeySet),
    policy: parseSecurityPolicy(
      readCasedDocument(policyFile, normaliseSecurityPolicyKeys, { where: `FINFLOW_SECURITY_POLICY ${policyFile}` }),
      `security policy ${policyFile}`,
    ),
  };
}

/** `node -r @swc-node/register client/codec-server.ts`: keys from FINFLOW_KEYS / FINFLOW_KEY_FILE, access log in DATABASE_URL. */
async function main(): Promise<void> {
  const config = codecServerConfigFromEnv();
  if (!process.env.DATABASE_URL)
    throw new Error('DATABASE_URL is required: the codec server must write the access log');
  const pool = resilientPool({ connectionString: process.env.DATABASE_URL });
  const accessLog = new PgAccessLog(pool);
  await accessLog.ensureSchema();
  const app = buildCodecServer({
    codec: new EncryptionCodec(keyProviderFromEnv()),
    verifyCaller: createJwtVerifier({ keys: config.jwks, issuer: config.issuer, audience: config.audience }),
    policy: config.policy,
    accessLog,
    corsOrigins: config.corsOrigins,
    logger: true,
  });
  app.addHook('onClose', async () => pool.end());
  await app.listen({ port: config.port, host: config.host });
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
