export { AuditLedger, entryHash, ExportedCheckpointSchema, GENESIS_HASH } from './ledger';
export type {
  AuditLedgerDeps,
  ExportedCheckpoint,
  LedgerBreak,
  LedgerEntry,
  LedgerEntryInput,
  LedgerVerifyResult,
} from './ledger';
export { LEDGER_TABLE, CHECKPOINT_TABLE } from './schema';
import type { AuditLedger, LedgerEntry, LedgerEntryInput } from './ledger';

/**
 * The ledger as activities. An append is idempotent by its key (workflow id + step), so the default retry policy
 * is safe: a retried append after a lost reply returns the entry the first attempt wrote.
 */
export function createAuditLedgerActivities(deps: { ledger: AuditLedger }) {
  return {
    async appendAuditEntry(
      input: LedgerEntryInput & { idempotencyKey: string },
    ): Promise<Pick<LedgerEntry, 'seq' | 'hash'>> {
      const e = await deps.ledger.append(input);
      return { seq: e.seq, hash: e.hash };
    },
  };
}
