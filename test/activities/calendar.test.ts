import { ApplicationFailure } from '@temporalio/common';
import {
  createCalendarActivities,
  publicHolidays,
  resolveBusinessCalendar,
  resolveClosedDays,
} from '../../activities/calendar';
import { addBusinessDays, isBusinessDay } from '../../domain/close/business-days';
import { resolveDeadlineDate } from '../../domain/close/deadline';
import type { HolidayConfig } from '../../domain/close/plan';

const YEAR_2026 = { from: '2026-01-01', to: '2026-12-31' };

function closed(holidays: HolidayConfig, range = YEAR_2026): string[] {
  return resolveClosedDays({ holidays, ...range });
}

function refusal(fn: () => unknown): ApplicationFailure {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApplicationFailure) return e;
    throw e;
  }
  throw new Error('nothing was refused');
}

describe('closed days from date-holidays', () => {
  it('knows the US federal holidays of 2026, including observed days, and only public ones by default', () => {
    const us = closed({ country: 'US' });
    expect(us).toEqual(expect.arrayContaining(['2026-01-01', '2026-05-25', '2026-09-07', '2026-11-26', '2026-12-25']));
    // Independence Day is a Saturday in 2026; the federal holiday is observed on Friday 3 July.
    expect(us).toContain('2026-07-03');
    // Observances (Valentine's Day, the day after Thanksgiving) and optional days (Christmas Eve) stay business days.
    expect(us).not.toContain('2026-02-14');
    expect(us).not.toContain('2026-11-27');
    expect(us).not.toContain('2026-12-24');
  });

  it('adds other holiday types when configured', () => {
    expect(closed({ country: 'US', types: ['public', 'optional'] })).toContain('2026-12-24');
  });

  it("follows a German state's own holidays: Bavaria has Epiphany and Corpus Christi, Germany as a whole does not", () => {
    const by = closed({ country: 'DE', state: 'BY' });
    const de = closed({ country: 'DE' });
    expect(by).toEqual(expect.arrayContaining(['2026-01-06', '2026-06-04', '2026-11-01', '2026-10-03']));
    expect(de).toContain('2026-10-03');
    expect(de).not.toContain('2026-01-06');
    expect(de).not.toContain('2026-06-04');
    // Region codes narrow further: Augsburg keeps its Peace Festival on 8 August.
    expect(closed({ country: 'DE', state: 'BY', region: 'A' })).toContain('2026-08-08');
    expect(by).not.toContain('2026-08-08');
  });

  it('tells England from Scotland', () => {
    const eng = closed({ country: 'GB', state: 'ENG' });
    const sct = closed({ country: 'GB', state: 'SCT' });
    // Boxing Day 2026 is a Saturday; its substitute is Monday 28 December in both.
    expect(eng).toEqual(expect.arrayContaining(['2026-12-25', '2026-12-26', '2026-12-28', '2026-08-31', '2026-04-06']));
    expect(sct).toEqual(expect.arrayContaining(['2026-01-02', '2026-08-03', '2026-11-30', '2026-12-28']));
    expect(eng).not.toContain('2026-01-02');
    expect(sct).not.toContain('2026-04-06');
  });

  it('accepts lower-case codes', () => {
    expect(closed({ country: 'de', state: 'by' })).toEqual(closed({ country: 'DE', state: 'BY' }));
  });

  it('leaves days with a holiday of only some hours open unless told to close them', () => {
    const range = { from: '2026-12-20', to: '2026-12-31' };
    // German banks close from 14:00 on Christmas Eve and New Year's Eve.
    expect(closed({ country: 'DE', types: ['public', 'bank'] }, range)).toEqual(['2026-12-25', '2026-12-26']);
    expect(closed({ country: 'DE', types: ['public', 'bank'], partialDays: 'closed' }, range)).toEqual([
      '2026-12-24',
      '2026-12-25',
      '2026-12-26',
      '2026-12-31',
    ]);
  });

  it('closes every day of a holiday that lasts several days', () => {
    // Eid al-Fitr 2026 in the United Arab Emirates: three days from 20 March.
    expect(closed({ country: 'AE' }, { from: '2026-03-15', to: '2026-03-25' })).toEqual([
      '2026-03-20',
      '2026-03-21',
      '2026-03-22',
    ]);
  });

  it('merges company closed days, sorted and without duplicates, within the range', () => {
    const days = closed(
      { country: 'US', closedDays: ['2026-12-24', '2026-11-27', '2026-11-26', '2027-01-04'] },
      { from: '2026-11-01', to: '2026-12-31' },
    );
    expect(days).toEqual(['2026-11-11', '2026-11-26', '2026-11-27', '2026-12-24', '2026-12-25']);
    expect(closed({ closedDays: ['2026-08-14'] })).toEqual(['2026-08-14']);
  });

  it('spans the turn of the year', () => {
    expect(closed({ country: 'US' }, { from: '2026-12-20', to: '2027-01-10' })).toEqual(['2026-12-25', '2027-01-01']);
  });

  it('refuses a place date-holidays does not know, as a non-retryable failure naming the field', () => {
    const country = refusal(() => closed({ country: 'XX' }));
    expect(country.type).toBe('InvalidHolidayConfig');
    expect(country.nonRetryable).toBe(true);
    expect(country.message).toBe('holidays.country: date-holidays knows no country "XX"');
    expect(refusal(() => closed({ country: 'DE', state: 'QQ' })).message).toMatch(
      /^holidays.state: DE has no state "QQ" \(known: .*BY.*\)$/,
    );
    expect(refusal(() => closed({ country: 'DE', state: 'BY', region: 'ZZ' })).message).toMatch(
      /^holidays.region: DE-BY has no region "ZZ" \(known: .*A.*\)$/,
    );
    expect(refusal(() => closed({ country: 'DE', region: 'A' })).message).toBe(
      'holidays.region: a region ("A") needs its state',
    );
    expect(refusal(() => closed({ country: 'MC', state: 'X' })).message).toBe('holidays.state: MC has no state "X"');
  });

  it('refuses a bad range or a bad closed day', () => {
    expect(refusal(() => closed({ country: 'US' }, { from: '2026-12-31', to: '2026-01-01' })).message).toBe(
      'closed days: from 2026-12-31 is after to 2026-01-01',
    );
    expect(refusal(() => closed({ country: 'US' }, { from: '2026-01-01', to: '2030-01-01' })).message).toMatch(
      /more than three years/,
    );
    expect(refusal(() => closed({ country: 'US' }, { from: '2026-1-1', to: '2026-12-31' })).message).toMatch(
      /from and to are ISO dates/,
    );
    expect(refusal(() => closed({ closedDays: ['2026-02-30'] })).message).toBe(
      'holidays.closedDays[0]: expected an ISO date yyyy-mm-dd, got "2026-02-30"',
    );
  });
});

describe('business calendar for a close', () => {
  it('moves BD+3 of the December 2026 close past New Year, and refuses to guess beyond its range', () => {
    const cal = resolveBusinessCalendar({ holidays: { country: 'US' }, from: '2026-12-01', to: '2027-01-31' });
    expect(cal.coverage).toEqual({ from: '2026-12-01', to: '2027-01-31' });
    expect(resolveDeadlineDate('BD+3', '2026-12-31', cal)).toBe('2027-01-06');
    const short = resolveBusinessCalendar({ holidays: { country: 'US' }, from: '2026-12-01', to: '2026-12-31' });
    expect(() => addBusinessDays('2026-12-31', 3, short)).toThrow(/outside the range/);
  });

  it('carries a non-standard weekend through', () => {
    const cal = resolveBusinessCalendar({
      holidays: { country: 'AE', weekend: ['saturday', 'sunday'] },
      from: '2026-03-01',
      to: '2026-03-31',
    });
    expect(cal.weekend).toEqual(['saturday', 'sunday']);
    expect(isBusinessDay('2026-03-20', cal)).toBe(false);
    const gulf = resolveBusinessCalendar({
      holidays: { country: 'AE', weekend: ['friday', 'saturday'] },
      ...YEAR_2026,
    });
    expect(isBusinessDay('2026-01-04', gulf)).toBe(true); // a Sunday
  });

  it('is offered as activities with the same answers', async () => {
    const acts = createCalendarActivities();
    const input = { holidays: { country: 'US' }, from: '2026-11-01', to: '2026-11-30' };
    await expect(acts.resolveClosedDays(input)).resolves.toEqual(['2026-11-11', '2026-11-26']);
    await expect(acts.resolveBusinessCalendar(input)).resolves.toEqual({
      closedDays: ['2026-11-11', '2026-11-26'],
      coverage: { from: '2026-11-01', to: '2026-11-30' },
    });
    expect(publicHolidays({}, '2026-01-01', '2026-12-31')).toEqual([]);
  });
});
