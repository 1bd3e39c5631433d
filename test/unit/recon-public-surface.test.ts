// The engine's public surface (domain/recon): what the activities and the library reach without importing its
// modules one by one.
import { CATEGORIES, categorise, dayNumber, groupItems, matchRecords, transposition } from '../../domain/recon';
import { definition, records } from './recon-fixtures';

describe('domain/recon, the engine as the rest of finflow imports it', () => {
  it('matches records by the definition’s rules and lists each match’s records by side', () => {
    const def = definition([{ id: 'exact', type: 'exact' }]);
    const s = matchRecords(records(def, 'a', [['K1', '10.00']]), records(def, 'b', [['K1', '10.00']]), def);
    expect(s.groups.rule).toEqual([0]);
    expect(groupItems(s.groups, 0, 'a')).toEqual([0]);
    expect(groupItems(s.groups, 0, 'b')).toEqual([0]);
  });

  it('categorises what the rules left, in one of its categories, and tells a transposition by its digits', () => {
    const def = definition([{ id: 'exact', type: 'exact' }]);
    const s = matchRecords(records(def, 'a', [['K1', '12.43']]), records(def, 'b', [['K1', '12.34']]), def);
    const [e] = categorise(s);
    expect(e.category).toBe('transposition');
    expect(CATEGORIES).toContain(e.category);
    expect(transposition(1243, 1234, 2)).toEqual({ digitsA: '1243', digitsB: '1234', position: 2 });
  });

  it('numbers days from 1970-01-01', () => {
    expect(dayNumber('1970-01-02')).toBe(1);
    expect(dayNumber('2026-12-07') - dayNumber('2026-11-30')).toBe(7);
  });
});
