// The data converter every finflow Worker and Client must share: payloads are encrypted by EncryptionCodec and
// failures go through a DefaultFailureConverter with encodeCommonAttributes, so error messages and stack traces
// are moved into a payload and encrypted as well. A client without it can start workflows (the worker decodes
// plaintext inputs) but cannot read results; a worker without it cannot read what encrypted clients sent.
//
// Temporal loads the failure converter by module path, because the workflow sandbox must bundle it; a worker
// built from a prebuilt workflow bundle must therefore also pass FAILURE_CONVERTER_PATH to bundleWorkflowCode
// as `failureConverterPath`, or workflow-side failures keep their messages in clear.
import type { DataConverter } from '@temporalio/common';
import type { KeyProvider } from '../activities/security/key-ring';
import { EncryptionCodec, type EncryptionCodecOptions } from './codec';

export const FAILURE_CONVERTER_PATH = require.resolve('../domain/security/failure-converter');

export function createDataConverter(keyProvider: KeyProvider, options: EncryptionCodecOptions = {}): DataConverter {
  return {
    payloadCodecs: [new EncryptionCodec(keyProvider, options)],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}
