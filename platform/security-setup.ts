// How workers and clients take their security settings from the environment, in one place so that both sides
// of the wire always agree (a client that encrypts talking to a worker that does not is a stalled close).
//
//   FINFLOW_KEY_FILE        a JSON key file (mode 0600), re-read when it changes: rotation without restart
//   FINFLOW_KEYS            "kid1:base64,kid2:base64" (ignored when FINFLOW_KEY_FILE is set)
//   FINFLOW_CURRENT_KEY     which of FINFLOW_KEYS encrypts (required with more than one)
//   FINFLOW_ENCRYPTION      "required": refuse to start without keys, rather than talk to Temporal in clear
//   FINFLOW_SECURITY_POLICY a security policy file (JSON or YAML): which fields the logs redact
//
// Imported by client code too, so nothing here may pull in @temporalio/worker.
import { access, link, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DataConverter, Logger, LogLevel, LogMetadata } from '@temporalio/common';
import type { Logger as PinoLogger } from 'pino';
import {
  generateMasterKey,
  keyProviderFromEnv,
  KeyConfigError,
  KeyFileProvider,
  KeyRing,
  writeKeyFile,
  type KeyProvider,
} from '../activities/security/key-ring';
import type { EncryptionCodecOptions } from './codec';
import { createDataConverter } from './data-converter';

/** Whether keys are configured (FINFLOW_KEY_FILE or FINFLOW_KEYS). */
export function encryptionConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.FINFLOW_KEY_FILE?.trim() || env.FINFLOW_KEYS?.trim());
}

/**
 * The key provider the environment configures, checked now (a key file that is missing, readable by others or
 * malformed fails at start-up, not at the first payload); undefined when no keys are configured, unless
 * FINFLOW_ENCRYPTION=required.
 */
export async function keyProviderFromEnvIfConfigured(
  env: NodeJS.ProcessEnv = process.env,
): Promise<KeyProvider | undefined> {
  if (!encryptionConfigured(env)) {
    if (env.FINFLOW_ENCRYPTION?.trim() === 'required')
      throw new KeyConfigError('FINFLOW_ENCRYPTION=required but neither FINFLOW_KEY_FILE nor FINFLOW_KEYS is set');
    return undefined;
  }
  const provider = keyProviderFromEnv(env);
  if (provider instanceof KeyFileProvider) await provider.reload();
  await provider.getCurrentKey();
  return provider;
}

/**
 * The data converter for a key provider: `undefined` means "from the environment", `null` means "no
 * encryption" (said explicitly, never by accident).
 */
export async function resolveDataConverter(
  keyProvider: KeyProvider | null | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DataConverter | undefined> {
  if (keyProvider === null) return undefined;
  const provider = keyProvider ?? (await keyProviderFromEnvIfConfigured(env));
  return provider ? createDataConverter(provider, codecOptionsFromEnv(env)) : undefined;
}

/** FINFLOW_PAYLOAD_COMPRESSION=off: encrypt large payloads without deflating them first (platform/codec.ts). */
export function codecOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): EncryptionCodecOptions {
  const v = env.FINFLOW_PAYLOAD_COMPRESSION?.trim().toLowerCase();
  if (v === undefined || v === '' || v === 'on') return {};
  if (v === 'off') return { compress: false };
  throw new KeyConfigError(`FINFLOW_PAYLOAD_COMPRESSION must be "on" or "off", not ${JSON.stringify(v)}`);
}

export { securityPolicyFromEnv } from '../activities/security/policy-file';

const PINO_LEVEL = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * Temporal's Logger on top of a pino logger (give it one from activities/security/redaction createLogger, so
 * everything the SDK, workflows and activities log is redacted). An Error under `error` moves to pino's `err`,
 * where pino serialises message and stack instead of printing `{}`.
 */
export function temporalLoggerFromPino(pino: PinoLogger): Logger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    // The SDK logs every activity and workflow task at debug: below the level, do not even copy the fields.
    if (!pino.isLevelEnabled(PINO_LEVEL[level])) return;
    const fields: Record<string, unknown> = { ...(meta ?? {}) };
    if (fields.error instanceof Error && fields.err === undefined) {
      fields.err = fields.error;
      delete fields.error;
    }
    pino[PINO_LEVEL[level]](fields, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}

/**
 * A key file at `path`, created with one fresh key (mode 0600, its directory 0700) when absent: for the demo and
 * first runs. An existing file is used as it is, never replaced (its keys may be all that reads old data).
 */
export async function ensureKeyFile(path: string, keyId = 'demo-1'): Promise<KeyFileProvider> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  if (!(await exists(path))) {
    // Written aside, then hard-linked into place: link refuses an existing name, so a racing process's file wins
    // whole and is never overwritten.
    const fresh = `${path}.${process.pid}.new`;
    await writeKeyFile(fresh, new KeyRing([generateMasterKey(keyId)], keyId));
    try {
      await link(fresh, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await unlink(fresh);
    }
  }
  const provider = new KeyFileProvider(path);
  await provider.reload();
  return provider;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
