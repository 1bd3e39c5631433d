// A Temporal client for the finflow CLI, the demo and approver apps. It encrypts with the same keys as the
// workers (FINFLOW_KEY_FILE / FINFLOW_KEYS, or a key provider handed in), so the server sees only ciphertext and
// the client can read results, queries and failures; see platform/security-setup.ts.
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { KeyProvider } from '../activities/security/key-ring';
import { temporalConfig, type TemporalConfig } from '../platform/config';
import { resolveDataConverter } from '../platform/security-setup';

export interface ConnectedClient {
  client: Client;
  config: TemporalConfig;
  /** The data converter in use, or undefined when payloads travel unencrypted. */
  dataConverter: DataConverter | undefined;
  close(): Promise<void>;
}

export async function connectClient(
  overrides: Partial<TemporalConfig> = {},
  opts: { keyProvider?: KeyProvider | null; env?: NodeJS.ProcessEnv } = {},
): Promise<ConnectedClient> {
  const env = opts.env ?? process.env;
  const config = {
    ...temporalConfig(env),
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
  const dataConverter = await resolveDataConverter(opts.keyProvider, env);
  const connection = await Connection.connect({ address: config.address });
  const client = new Client({ connection, namespace: config.namespace, ...(dataConverter ? { dataConverter } : {}) });
  return { client, config, dataConverter, close: () => connection.close() };
}
