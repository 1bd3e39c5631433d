// The approval gateway as a running server: its configuration from the environment, the user directory from the
// approval policy file (re-read when the file changes), and the listening app.
import { readFileSync, statSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { readSigningKeyFile } from '../activities/approval/keys';
import { attachmentStoreFromEnv, type AttachmentStore } from '../activities/approval/attachments';
import { ApprovalOutbox } from '../activities/approval/outbox';
import { normaliseApprovalPolicyKeys, parseApprovalPolicy, type ApprovalPolicy } from '../domain/approval';
import { normaliseCloseInputKeys } from '../domain/close/plan-casing';
import { buildApprovalGateway } from './approval-gateway';
import { connectClient } from './connect';
import { readCasedDocument } from '../activities/document-file';
import { resilientPool } from '../activities/pg-pool';

export interface GatewayConfig {
  host: string;
  port: number;
  signingKeyFile: string;
  policyFile: string;
  identity: { keys: JSONWebKeySet | JWTVerifyGetKey; issuer: string; audience: string };
  outboxUrl?: string;
  /** FINFLOW_ATTACHMENTS_DIR: where POST /attachments stores evidence files (the workers read them there). */
  attachments?: AttachmentStore;
}

/**
 *   FINFLOW_GATEWAY_HOST / FINFLOW_GATEWAY_PORT      listen address (default 127.0.0.1:8089)
 *   FINFLOW_APPROVAL_SIGNING_KEY_FILE                 the gateway's private JWK (mode 0600)
 *   FINFLOW_APPROVAL_POLICY_FILE                      approval policy (JSON/YAML): the user directory
 *   FINFLOW_IDENTITY_JWKS_FILE or FINFLOW_IDENTITY_JWKS_URL, FINFLOW_IDENTITY_ISSUER, FINFLOW_IDENTITY_AUDIENCE
 *   FINFLOW_SYSTEM_APPROVALS_URL or DATABASE_URL      the outbox (optional)
 *   FINFLOW_ATTACHMENTS_DIR, FINFLOW_ATTACHMENT_MAX_BYTES  evidence files of POST /attachments (optional)
 *   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, FINFLOW_KEY_FILE / FINFLOW_KEYS as for the CLI
 */
export function gatewayConfigFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const need = (name: string): string => {
    const v = env[name]?.trim();
    if (!v) throw new Error(`the approval gateway needs ${name}`);
    return v;
  };
  const jwksFile = env.FINFLOW_IDENTITY_JWKS_FILE?.trim();
  const jwksUrl = env.FINFLOW_IDENTITY_JWKS_URL?.trim();
  let keys: JSONWebKeySet | JWTVerifyGetKey;
  if (jwksFile) {
    try {
      keys = JSON.parse(readFileSync(jwksFile, 'utf8')) as JSONWebKeySet;
    } catch (err) {
      throw new Error(`FINFLOW_IDENTITY_JWKS_FILE ${jwksFile}: ${(err as Error).message}`);
    }
  } else if (jwksUrl) keys = createRemoteJWKSet(new URL(jwksUrl));
  else throw new Error('the approval gateway needs FINFLOW_IDENTITY_JWKS_FILE or FINFLOW_IDENTITY_JWKS_URL');
  const port = Number(env.FINFLOW_GATEWAY_PORT ?? 8089);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`FINFLOW_GATEWAY_PORT must be a port number, got ${env.FINFLOW_GATEWAY_PORT}`);
  return {
    host: env.FINFLOW_GATEWAY_HOST?.trim() || '127.0.0.1',
    port,
    signingKeyFile: need('FINFLOW_APPROVAL_SIGNING_KEY_FILE'),
    policyFile: need('FINFLOW_APPROVAL_POLICY_FILE'),
    identity: { keys, issuer: need('FINFLOW_IDENTITY_ISSUER'), audience: need('FINFLOW_IDENTITY_AUDIENCE') },
    outboxUrl: env.FINFLOW_SYSTEM_APPROVALS_URL?.trim() || env.DATABASE_URL?.trim() || undefined,
    attachments: attachmentStoreFromEnv(env),
  };
}

export function readPolicyFile(path: string): ApprovalPolicy {
  // A close plan carries its policy under approval_policy; a policy file is the policy itself.
  const isPlan = (d: unknown) =>
    typeof d === 'object' && d !== null && ('approval_policy' in d || 'approvalPolicy' in d);
  const raw = readCasedDocument(path, (d) => (isPlan(d) ? normaliseCloseInputKeys(d) : normaliseApprovalPolicyKeys(d)));
  const doc = raw as { approvalPolicy?: unknown } | null;
  return parseApprovalPolicy(
    doc && typeof doc === 'object' && 'approvalPolicy' in doc ? doc.approvalPolicy : raw,
    path,
  );
}

/**
 * The policy file's user directory, read now (a missing or broken file stops the gateway's start) and again on the
 * first request after the file changes, so people added, removed or given other roles count without a restart.
 * A changed file that does not read is an error on every request until it is mended (the gateway refuses callers
 * rather than keep roles someone meant to take away).
 */
export function policyDirectoryFromFile(path: string): () => Pick<ApprovalPolicy, 'users'> {
  const stampOf = (): string => {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  };
  let current = { stamp: stampOf(), policy: readPolicyFile(path) };
  return () => {
    let stamp: string;
    try {
      stamp = stampOf();
    } catch (err) {
      throw new Error(`approval policy ${path}: ${(err as Error).message}`);
    }
    if (stamp !== current.stamp) current = { stamp, policy: readPolicyFile(path) };
    return current.policy;
  };
}

export interface RunningGateway {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startApprovalGateway(
  config: GatewayConfig,
  opts: { client?: Client; logger?: boolean } = {},
): Promise<RunningGateway> {
  const signingKey = await readSigningKeyFile(config.signingKeyFile);
  const directory = policyDirectoryFromFile(config.policyFile);
  const conn = opts.client ? undefined : await connectClient();
  const pool = config.outboxUrl ? resilientPool({ connectionString: config.outboxUrl, max: 4 }) : undefined;
  const app = await buildApprovalGateway({
    client: opts.client ?? conn!.client,
    directory,
    identity: config.identity,
    signingKey,
    outbox: pool ? new ApprovalOutbox(pool) : undefined,
    ...(config.attachments ? { attachments: config.attachments } : {}),
    logger: opts.logger ?? true,
  });
  const url = await app.listen({ host: config.host, port: config.port });
  return {
    app,
    url,
    async close() {
      await app.close();
      await pool?.end();
      await conn?.close();
    },
  };
}
