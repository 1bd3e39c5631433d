// Seals and opens one run's sensitive values, each bound to its table, column, run and item (moved out of
// store.ts so the exception actions' store seals people's words the same way).
import type { ApplicationFailure } from '@temporalio/common';
import { type ColumnSealer, isSealed } from '../security/column-seal';
import { isBlockRef } from './sealed-blocks';

/** Columns that may hold account numbers or other sensitive text and are sealed at rest when the run has a key. */
export type SensitiveColumn = 'key' | 'evidence' | 'explanation';

/**
 * The sealer of a run's dataset (its data key), fresh for one operation, which disposes of it; undefined when the
 * run's results are kept in clear (a worker without keys, or a run whose dataset never had a key). Throws when
 * the dataset was shredded: its sensitive columns can then be neither read nor written, while counts and totals
 * (clear numeric columns) still can.
 */
export type RunSealer = (runId: string) => Promise<ColumnSealer | undefined>;

export interface RunCodec {
  sealed: boolean;
  /** The run's column sealer (sealed runs only), for values sealed a block at a time. */
  sealer?: ColumnSealer;
  /**
   * `column` names the stored column (bound into the seal's context); `kind` says which sensitive class it belongs
   * to (default: the column itself), e.g. a resolution's text is people's words like an explanation.
   */
  enc(table: string, column: string, itemId: string, v: string, kind?: SensitiveColumn): string;
  dec(table: string, column: string, itemId: string, v: string, kind?: SensitiveColumn): string;
  dispose(): void;
}

export async function runCodec(
  runId: string,
  deps: {
    sealerFor?: RunSealer;
    sensitive: ReadonlySet<SensitiveColumn>;
    refuse: (message: string, type?: string) => ApplicationFailure;
  },
): Promise<RunCodec> {
  const { sensitive, refuse } = deps;
  const isSensitive = (column: string, kind?: SensitiveColumn) => sensitive.has(kind ?? (column as SensitiveColumn));
  const sealer = deps.sealerFor ? await deps.sealerFor(runId) : undefined;
  const context = (table: string, column: string, itemId: string) => `${table}.${column}|${runId}|${itemId}`;
  if (!sealer)
    return {
      sealed: false,
      enc: (_t, _c, _i, v) => v,
      dec(table, column, itemId, v, kind) {
        if (isSensitive(column, kind) && (isSealed(v) || isBlockRef(v)))
          throw refuse(
            `${table}.${column} of item ${itemId} in run ${runId} is encrypted and this worker has no key for it`,
            'DataKeyMissingError',
          );
        return v;
      },
      dispose: () => undefined,
    };
  return {
    sealed: true,
    sealer,
    enc: (table, column, itemId, v, kind) =>
      isSensitive(column, kind) ? sealer.seal(v, context(table, column, itemId)) : v,
    dec(table, column, itemId, v, kind) {
      if (!isSensitive(column, kind)) return v;
      // Fail closed: in a run that has a key, a clear value is one somebody put there.
      if (!isSealed(v))
        throw refuse(
          `${table}.${column} of item ${itemId} in run ${runId} is not encrypted, but this run's results must be`,
          'DataDecryptionError',
        );
      try {
        return sealer.open(v, context(table, column, itemId));
      } catch (err) {
        throw refuse((err as Error).message, 'DataDecryptionError');
      }
    },
    dispose: () => sealer.dispose(),
  };
}
