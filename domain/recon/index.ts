// The reconciliation engine's public surface: pure functions over normalised records, no I/O.
export * from './definition';
export * from './normalise';
export * from './partition';
export {
  matchRecords,
  dayNumber,
  groupItems,
  type GiveUpReason,
  type MatchState,
  type Groups,
  type GiveUp,
} from './match';
export { categorise, transposition, CATEGORIES, type Category, type Evidence } from './categorise';
export * from './control-totals';
export * from './reconcile';
