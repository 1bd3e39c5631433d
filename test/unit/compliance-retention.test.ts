import { DEFAULT_RETENTION_POLICY, retainUntil, retentionYears } from '../../domain/compliance/retention';

describe('retention policy', () => {
  it('keeps SOX workpapers seven years from archiving, matching the regulation case-insensitively', () => {
    expect(retentionYears(DEFAULT_RETENTION_POLICY, 'sox')).toBe(7);
    expect(retainUntil(DEFAULT_RETENTION_POLICY, 'SOX', '2026-11-05T09:00:00Z')).toBe('2033-11-05T09:00:00.000Z');
  });

  it('moves 29 February forward to 1 March in a common year, never cutting retention short', () => {
    expect(retainUntil({ years: { SOX: 7 } }, 'SOX', '2028-02-29T12:00:00Z')).toBe('2035-03-01T12:00:00.000Z');
  });

  it('uses the default for an unnamed regulation and refuses when there is none', () => {
    expect(retainUntil({ years: {}, defaultYears: 10 }, 'GDPR', '2026-01-01T00:00:00Z')).toBe(
      '2036-01-01T00:00:00.000Z',
    );
    expect(() => retainUntil({ years: { SOX: 7 } }, 'HIPAA', '2026-01-01T00:00:00Z')).toThrow(
      'the retention policy has no period for regulation "HIPAA"',
    );
    expect(() => retainUntil(DEFAULT_RETENTION_POLICY, 'SOX', 'yesterday')).toThrow('"yesterday" is not an ISO date');
  });
});
