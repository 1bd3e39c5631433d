// The fields a side's spill keeps for the matching step: a rule that reads a field the spill dropped would see it
// empty (a where_a condition then takes nothing, an item count is never given).
import { fieldsNeeded } from '../../activities/recon/extract';
import { definition } from '../unit/recon-fixtures';

describe('the fields the matching step reads from the spill', () => {
  it('keeps the fields of where conditions, match_on and item counts besides the subset groups', () => {
    const def = definition([
      { id: 'ref', type: 'exact', match_on: ['ref'], where_b: { source_code: { not_in: ['X'] } } },
      {
        id: 'slip',
        type: 'sum_by_reference',
        match_on: ['slip'],
        count_field: 'items',
        where_a: { tx_code: { in: ['CDPT'] } },
      },
      { id: 'dep', type: 'sum_window', count_field: 'nb_of_txs' },
      { id: 'sub', type: 'subset_sum', group_by: { field: 'batch' } },
    ]);
    expect(fieldsNeeded(def).sort()).toEqual(['batch', 'items', 'nb_of_txs', 'ref', 'slip', 'source_code', 'tx_code']);
  });
});
