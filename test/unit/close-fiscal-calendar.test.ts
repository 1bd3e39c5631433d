import {
  CalendarError,
  addDays,
  civilFromDay,
  dayFromCivil,
  isIsoDate,
  isLeapYear,
  toDay,
  toIso,
  weekdayOf,
} from '../../domain/close/civil-date';
import {
  type FiscalCalendar,
  checkFiscalCalendar,
  describeFiscalCalendar,
  describeYearEnd,
  fiscalPeriod,
  fiscalPeriodOf,
  fiscalYearOf,
  fiscalYearRange,
  parsePeriodKey,
  reconPeriodBounds,
  periodsOfYear,
  periodsPerYear,
  shiftPeriod,
  WEEK_PATTERNS,
  weeks5253Schema,
} from '../../domain/close/fiscal-calendar';

const DAY_MS = 86_400_000;

describe('civil dates', () => {
  it('agrees with the UTC calendar of the JavaScript engine on every day of two centuries', () => {
    for (let day = dayFromCivil(1900, 1, 1); day <= dayFromCivil(2100, 12, 31); day += 1) {
      const viaDate = new Date(day * DAY_MS).toISOString().slice(0, 10);
      if (toIso(day) !== viaDate) throw new Error(`day ${day}: ${toIso(day)} != ${viaDate}`);
    }
    expect(toDay('1970-01-01')).toBe(0);
    expect(civilFromDay(toDay('2000-02-29'))).toEqual({ year: 2000, month: 2, day: 29 });
  });

  it('knows the weekday of a date', () => {
    expect(weekdayOf('2026-10-31')).toBe('saturday');
    expect(weekdayOf('2026-11-26')).toBe('thursday');
    expect(weekdayOf('1969-12-31')).toBe('wednesday');
  });

  it('refuses anything that is not a real yyyy-mm-dd date', () => {
    for (const bad of [
      '2026-02-29',
      '2026-13-01',
      '2026-00-10',
      '2026-1-5',
      '2026-10-31T00:00:00Z',
      '31/10/2026',
      20261031,
    ])
      expect(isIsoDate(bad)).toBe(false);
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2100-02-29')).toBe(false);
    expect(() => toDay('2026-02-30', 'period end')).toThrow(
      /period end: expected an ISO date yyyy-mm-dd, got "2026-02-30"/,
    );
    expect(() => toDay('x')).toThrow(CalendarError);
  });

  it('knows the Gregorian leap years', () => {
    expect([1900, 2000, 2024, 2026, 2100].map(isLeapYear)).toEqual([false, true, true, false, false]);
  });

  it('adds calendar days across month, year and leap-day boundaries', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2023-02-28', 1)).toBe('2023-03-01');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2027-01-01', -1)).toBe('2026-12-31');
  });
});

describe('calendar-month fiscal years', () => {
  it('defaults to January-December years whose periods are the calendar months', () => {
    const periods = periodsOfYear(2026);
    expect(periods).toHaveLength(12);
    expect(periods[1]).toMatchObject({ period: 2, start: '2026-02-01', end: '2026-02-28', days: 28, key: '2026-02' });
    expect(periods[9]).toMatchObject({
      key: '2026-10',
      fiscalKey: 'FY2026-P10',
      start: '2026-10-01',
      end: '2026-10-31',
    });
    expect(periods[9].weeks).toBeUndefined();
    expect(fiscalYearRange(2024)).toEqual({ fiscalYear: 2024, start: '2024-01-01', end: '2024-12-31', days: 366 });
  });

  it('starts the fiscal year in any month and names it after the year it ends in by default', () => {
    const cal: FiscalCalendar = { type: 'calendar_months', startMonth: 10 };
    expect(fiscalYearRange(2027, cal)).toMatchObject({ start: '2026-10-01', end: '2027-09-30', days: 365 });
    expect(fiscalPeriodOf('2026-10-15', cal)).toMatchObject({ fiscalYear: 2027, period: 1, key: '2026-10' });
    expect(fiscalPeriodOf('2027-09-30', cal)).toMatchObject({ fiscalYear: 2027, period: 12, key: '2027-09' });
    expect(fiscalPeriodOf('2026-09-30', cal)).toMatchObject({ fiscalYear: 2026, period: 12 });
    expect(fiscalPeriod(2027, 5, cal)).toMatchObject({ start: '2027-02-01', end: '2027-02-28' });
  });

  it('names a year after the year it starts in when asked', () => {
    const cal: FiscalCalendar = { type: 'calendar_months', startMonth: 4, yearLabel: 'start' };
    expect(fiscalYearRange(2026, cal)).toMatchObject({ start: '2026-04-01', end: '2027-03-31' });
    expect(fiscalYearOf('2027-01-15', cal)).toBe(2026);
    expect(fiscalYearOf('2027-04-01', cal)).toBe(2027);
    expect(parsePeriodKey('2027-03', cal)).toMatchObject({ fiscalYear: 2026, period: 12, fiscalKey: 'FY2026-P12' });
  });

  it('reads both kinds of period key', () => {
    const cal: FiscalCalendar = { type: 'calendar_months', startMonth: 7 };
    expect(parsePeriodKey('2026-10', cal)).toMatchObject({ fiscalYear: 2027, period: 4, start: '2026-10-01' });
    expect(parsePeriodKey('FY2027-P04', cal)).toEqual(parsePeriodKey('2026-10', cal));
    expect(parsePeriodKey('FY2027-P4', cal).key).toBe('2026-10');
    expect(() => parsePeriodKey('2026-13', cal)).toThrow(/month must be 01-12/);
    expect(() => parsePeriodKey('October 2026', cal)).toThrow(
      /"October 2026" is not a period key: write it as "2026-10" \(a calendar month\) or "FY2026-P10"/,
    );
    expect(() => parsePeriodKey('FY2026-P13', cal)).toThrow(/period must be 1-12/);
    expect(() => parsePeriodKey(202610 as unknown as string, cal)).toThrow(/a period key is a string/);
  });

  it('rolls periods forward and back across fiscal years', () => {
    const oct = parsePeriodKey('2026-10');
    expect(shiftPeriod(oct, 1).key).toBe('2026-11');
    expect(shiftPeriod(oct, 3).key).toBe('2027-01');
    expect(shiftPeriod(oct, -10).key).toBe('2025-12');
    expect(shiftPeriod(oct, 0)).toEqual(oct);
    expect(() => shiftPeriod(oct, 1.5)).toThrow(/whole number/);
  });
});

describe('4-4-5 calendars', () => {
  // Year ends on the last Saturday of December: 2025-12-27 and 2026-12-26, so FY2026 is 52 weeks from 2025-12-28.
  const cal: FiscalCalendar = {
    type: 'weeks_52_53',
    pattern: '4-4-5',
    yearEnd: { rule: 'last', weekday: 'saturday', month: 12 },
  };

  it('cuts a 52-week year into quarters of 4, 4 and 5 weeks', () => {
    expect(fiscalYearRange(2026, cal)).toEqual({
      fiscalYear: 2026,
      start: '2025-12-28',
      end: '2026-12-26',
      days: 364,
      weeks: 52,
    });
    const periods = periodsOfYear(2026, cal);
    expect(periods.map((p) => p.weeks)).toEqual([4, 4, 5, 4, 4, 5, 4, 4, 5, 4, 4, 5]);
    // 4 + 4 + 5 weeks from Sunday 28 December: the first quarter ends on day 91, Saturday 28 March.
    expect(periods[0]).toMatchObject({ start: '2025-12-28', end: '2026-01-24', days: 28 });
    expect(periods[2]).toMatchObject({ start: '2026-02-22', end: '2026-03-28', days: 35 });
    expect(periods[11]).toMatchObject({ end: '2026-12-26', key: 'FY2026-P12' });
    for (const p of periods) {
      expect(weekdayOf(p.start)).toBe('sunday');
      expect(weekdayOf(p.end)).toBe('saturday');
    }
    for (let i = 1; i < periods.length; i++) expect(periods[i].start).toBe(addDays(periods[i - 1].end, 1));
  });

  it('finds the fiscal period of any date, including days before 1 January that belong to the next year', () => {
    expect(fiscalPeriodOf('2025-12-28', cal)).toMatchObject({ fiscalYear: 2026, period: 1 });
    expect(fiscalPeriodOf('2025-12-27', cal)).toMatchObject({ fiscalYear: 2025, period: 12 });
    expect(fiscalPeriodOf('2026-03-28', cal)).toMatchObject({ period: 3 });
    expect(fiscalPeriodOf('2026-03-29', cal)).toMatchObject({ period: 4 });
    expect(fiscalPeriodOf('2026-12-27', cal)).toMatchObject({ fiscalYear: 2027, period: 1 });
  });

  it('refuses a calendar-month key, which does not name a 4-4-5 period', () => {
    expect(() => parsePeriodKey('2026-10', cal)).toThrow(
      /a 4-4-5 calendar's periods are not calendar months: write it as "FY2026-P10"/,
    );
    expect(parsePeriodKey('FY2026-P10', cal)).toMatchObject({ start: '2026-09-27', end: '2026-10-24' });
  });

  it('has 4-5-4 and 5-4-4 variants', () => {
    const w454 = periodsOfYear(2026, { ...cal, pattern: '4-5-4' }).map((p) => p.weeks);
    const w544 = periodsOfYear(2026, { ...cal, pattern: '5-4-4' }).map((p) => p.weeks);
    expect(w454.slice(0, 3)).toEqual([4, 5, 4]);
    expect(w544.slice(0, 3)).toEqual([5, 4, 4]);
    expect(periodsPerYear({ ...cal, pattern: '13x4' })).toBe(13);
    for (const pattern of Object.keys(WEEK_PATTERNS) as (keyof typeof WEEK_PATTERNS)[]) {
      expect(weeks5253Schema.safeParse({ ...cal, pattern }).success).toBe(true);
      expect(WEEK_PATTERNS[pattern].reduce((a, b) => a + b, 0)).toBe(52);
    }
    expect(periodsPerYear()).toBe(12);
  });
});

describe('52/53-week years', () => {
  // A retail calendar: the year ends on the last Saturday of January and is named after the year it starts in.
  const retail: FiscalCalendar = {
    type: 'weeks_52_53',
    pattern: '4-5-4',
    yearEnd: { rule: 'last', weekday: 'saturday', month: 1 },
    yearLabel: 'start',
  };

  it('gives a year 53 weeks exactly when its end rule slips a week', () => {
    // Last Saturdays of January: 2025-01-25 and 2026-01-31, 371 days apart; the years around them are 364 days.
    const weeks = Array.from({ length: 10 }, (_, i) => fiscalYearRange(2021 + i, retail).weeks);
    const fy2025 = fiscalYearRange(2025, retail);
    expect(fy2025).toMatchObject({ start: '2025-01-26', end: '2026-01-31', weeks: 53, days: 371 });
    expect(weeks.filter((w) => w === 53)).toHaveLength(1);
    for (let y = 2021; y <= 2030; y++) {
      const r = fiscalYearRange(y, retail);
      expect(weekdayOf(r.end)).toBe('saturday');
      expect(r.end.slice(5, 7)).toBe('01');
      expect(toDay(addDays(r.end, 7)) > toDay(`${r.end.slice(0, 4)}-01-31`)).toBe(true);
      expect(r.weeks).toBe(r.days / 7);
    }
  });

  it('puts the 53rd week in the last period by default, or where configured', () => {
    expect(periodsOfYear(2025, retail).map((p) => p.weeks)).toEqual([4, 5, 4, 4, 5, 4, 4, 5, 4, 4, 5, 5]);
    expect(periodsOfYear(2024, retail).map((p) => p.weeks)).toEqual([4, 5, 4, 4, 5, 4, 4, 5, 4, 4, 5, 4]);
    const inP3 = periodsOfYear(2025, { ...retail, week53Period: 3 }).map((p) => p.weeks);
    expect(inP3).toEqual([4, 5, 5, 4, 5, 4, 4, 5, 4, 4, 5, 4]);
    expect(periodsOfYear(2025, retail)[11]).toMatchObject({ end: '2026-01-31', days: 35 });
  });

  it('follows the NRF rule (the Saturday nearest the end of January): fiscal 2023 had 53 weeks, ending 3 February 2024', () => {
    const nrf: FiscalCalendar = { ...retail, yearEnd: { rule: 'nearest', weekday: 'saturday', month: 1 } };
    expect(fiscalYearRange(2023, nrf)).toMatchObject({ start: '2023-01-29', end: '2024-02-03', weeks: 53 });
    expect(fiscalYearRange(2024, nrf)).toMatchObject({ start: '2024-02-04', end: '2025-02-01', weeks: 52 });
    expect(fiscalPeriodOf('2024-02-02', nrf)).toMatchObject({ fiscalYear: 2023, period: 12, weeks: 5 });
    expect(fiscalPeriodOf('2024-02-04', nrf)).toMatchObject({ fiscalYear: 2024, period: 1 });
    expect(describeYearEnd({ rule: 'nearest', weekday: 'saturday', month: 1 })).toBe(
      'the Saturday nearest the end of January',
    );
  });

  it('ends a nearest-weekday year in the next calendar year when that is nearer, and still names it by its month', () => {
    // 31 December 2021 was a Friday: the nearest Saturday is 1 January 2022, which ends fiscal 2021.
    const cal: FiscalCalendar = {
      type: 'weeks_52_53',
      pattern: '13x4',
      yearEnd: { rule: 'nearest', weekday: 'saturday', month: 12 },
    };
    expect(fiscalYearRange(2021, cal)).toMatchObject({ end: '2022-01-01' });
    expect(fiscalYearOf('2022-01-01', cal)).toBe(2021);
    expect(fiscalYearOf('2022-01-02', cal)).toBe(2022);
    const periods = periodsOfYear(2021, cal);
    expect(periods).toHaveLength(13);
    expect(periods.reduce((n, p) => n + (p.weeks ?? 0), 0)).toBe(fiscalYearRange(2021, cal).weeks);
  });

  it('states its rules in words', () => {
    expect(describeFiscalCalendar(retail)).toBe(
      '52/53-week years in 4-5-4 periods ending the last Saturday of January, 53rd week in period 12, ' +
        'named after the calendar year it starts in',
    );
    expect(describeFiscalCalendar({ type: 'calendar_months', startMonth: 7 })).toBe(
      'calendar months, fiscal year starting in July, named after the calendar year it ends in',
    );
  });
});

describe('calendar validation', () => {
  it('refuses a configuration that does not make sense, naming the field', () => {
    const bad = { type: 'weeks_52_53', pattern: '4-4-5', yearEnd: { rule: 'last', weekday: 'saturday', month: 13 } };
    expect(() => checkFiscalCalendar(bad as FiscalCalendar)).toThrow(/yearEnd\.month: a month is 1-12/);
    const late53 = { ...bad, yearEnd: { rule: 'last', weekday: 'saturday', month: 12 }, week53Period: 13 };
    expect(() => periodsOfYear(2026, late53 as FiscalCalendar)).toThrow(
      /week53Period: week53Period 13 is past the last period of a 4-4-5 year \(12\)/,
    );
    expect(() => checkFiscalCalendar({ type: 'lunar' } as unknown as FiscalCalendar)).toThrow(
      /type is 'calendar_months' or 'weeks_52_53'/,
    );
  });

  it('refuses something that is not a calendar at all', () => {
    expect(() => checkFiscalCalendar('monthly' as unknown as FiscalCalendar)).toThrow(
      /invalid fiscal calendar: \(root\): /,
    );
  });

  it('uses January-December calendar months wherever no calendar is given', () => {
    expect(fiscalYearOf('2026-05-05')).toBe(2026);
    expect(fiscalPeriodOf('2026-05-05')).toMatchObject({ period: 5, key: '2026-05' });
    expect(describeFiscalCalendar({ type: 'calendar_months' })).toBe(
      'calendar months, fiscal year starting in January, named after the calendar year it ends in',
    );
    expect(fiscalYearRange(2026, { type: 'calendar_months', yearLabel: 'start' })).toMatchObject({
      start: '2026-01-01',
      end: '2026-12-31',
    });
  });

  it('refuses fiscal years and periods out of range', () => {
    expect(() => fiscalYearRange(0)).toThrow(/fiscal year must be a whole number 1-9998, got 0/);
    expect(() => fiscalYearRange(2026.5)).toThrow(/fiscal year/);
    expect(() => fiscalPeriod(2026, 0)).toThrow(/period must be 1-12 in this calendar, got 0/);
  });
});

describe('the period bounds a close gives its reconciliations', () => {
  const cal: FiscalCalendar = {
    type: 'weeks_52_53',
    pattern: '4-4-5',
    yearEnd: { rule: 'last', weekday: 'saturday', month: 12 },
  };

  it("gives a fiscal period's first and last day, the last being the as-of date", () => {
    expect(reconPeriodBounds('FY2026-P3', cal)).toEqual({
      asOf: '2026-03-28',
      periodStart: '2026-02-22',
      periodEnd: '2026-03-28',
    });
    expect(reconPeriodBounds('FY2026-P10')).toEqual({
      asOf: '2026-10-31',
      periodStart: '2026-10-01',
      periodEnd: '2026-10-31',
    });
  });

  it('gives nothing for a calendar month, which a reconciliation works out itself', () => {
    expect(reconPeriodBounds('2026-10')).toBeUndefined();
  });

  it('refuses a key the calendar does not have', () => {
    expect(() => reconPeriodBounds('FY2026-P13', cal)).toThrow(CalendarError);
  });
});
