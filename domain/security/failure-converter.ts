// The failure converter of workers and clients (loaded through DataConverter.failureConverterPath, so it is
// bundled into the workflow sandbox too; that is why it lives in domain/ and imports nothing with I/O).
// encodeCommonAttributes moves failure messages and stack traces into a payload, which the encryption codec
// then encrypts: an error message quoting an account number would otherwise sit in history in clear.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
