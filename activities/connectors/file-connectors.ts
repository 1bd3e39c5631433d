// The file connectors' public surface, in one import for the reconciliation activities.
export { SourceDataError, toSourceFailure, type SourceLocation } from './source-error';
export {
  applyFieldRules,
  calendarDate,
  normaliseAmount,
  normaliseDate,
  type AmountFormat,
  type DateFormat,
  type FieldRules,
  type SourceRecord,
  type SourceRow,
} from './source-record';
export { resolveEncoding, type TextEncoding } from './text-decode';
export { readCsv, readCsvStream, type CsvOptions } from './csv';
export { readXlsx, type XlsxOptions } from './xlsx';
export {
  checkBalance,
  statementEntryRows,
  type Balance,
  type BalanceCheck,
  type BankStatement,
  type EntryDetail,
  type StatementEntry,
  type StatementFile,
  type StatementFormat,
} from './statement';
export { parseCamt, type CamtOptions } from './camt053';
export { parseMt940, type Mt940Options } from './mt940';
export { parseBai2, type Bai2Options } from './bai2';
export {
  detectStatementFormat,
  parseStatementBytes,
  parseStatementFile,
  parseStatementText,
  type StatementFileOptions,
} from './statement-file';
