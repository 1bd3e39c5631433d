import { Client, Connection } from '@temporalio/client';
import { temporalConfig, type TemporalConfig } from '../workers/config';

export async function connectClient(
  overrides: Partial<TemporalConfig> = {},
): Promise<{ client: Client; config: TemporalConfig; close(): Promise<void> }> {
  const config = {
    ...temporalConfig(),
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
  const connection = await Connection.connect({ address: config.address });
  const client = new Client({ connection, namespace: config.namespace });
  return { client, config, close: () => connection.close() };
}
