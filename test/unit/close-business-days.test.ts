import {
  type BusinessCalendar,
  DEFAULT_WEEKEND,
  addBusinessDays,
  businessDayOnOrAfter,
  businessDayOnOrBefore,
  businessDaysBetween,
  isBusinessDay,
} from '../../domain/close/business-days';
import { addDays, weekdayOf } from '../../domain/close/civil-date';

const weekendsOnly: BusinessCalendar = {};
// US public holidays of late 2026 as date-holidays reports them (see test/activities/calendar.test.ts).
const us: BusinessCalendar = { closedDays: ['2026-11-26', '2026-12-25', '2027-01-01', '2026-11-11'] };

describe('business days', () => {
  it('skips Saturdays and Sundays by default', () => {
    expect(DEFAULT_WEEKEND).toEqual(['saturday', 'sunday']);
    expect(isBusinessDay('2026-10-30', weekendsOnly)).toBe(true); // Friday
    expect(isBusinessDay('2026-10-31', weekendsOnly)).toBe(false); // Saturday
    expect(isBusinessDay('2026-11-01', weekendsOnly)).toBe(false); // Sunday
    expect(addBusinessDays('2026-10-30', 1, weekendsOnly)).toBe('2026-11-02');
    expect(addBusinessDays('2026-10-31', 1, weekendsOnly)).toBe('2026-11-02');
  });

  it('skips closed days given as input', () => {
    expect(isBusinessDay('2026-11-26', us)).toBe(false);
    // Wednesday 25 November + 1 business day: Thursday is Thanksgiving, so Friday.
    expect(addBusinessDays('2026-11-25', 1, us)).toBe('2026-11-27');
    expect(addBusinessDays('2026-12-24', 1, us)).toBe('2026-12-28');
    expect(addBusinessDays('2026-12-31', 1, us)).toBe('2027-01-04');
  });

  it('counts backwards for a negative offset', () => {
    expect(addBusinessDays('2026-11-30', -1, us)).toBe('2026-11-27');
    expect(addBusinessDays('2026-11-30', -2, us)).toBe('2026-11-25');
    expect(addBusinessDays('2026-11-02', -1, weekendsOnly)).toBe('2026-10-30');
  });

  it('leaves the date alone for an offset of zero, and rolls it onto a business day only when asked', () => {
    expect(addBusinessDays('2026-10-31', 0, weekendsOnly)).toBe('2026-10-31');
    expect(businessDayOnOrBefore('2026-10-31', weekendsOnly)).toBe('2026-10-30');
    expect(businessDayOnOrAfter('2026-10-31', weekendsOnly)).toBe('2026-11-02');
    expect(businessDayOnOrAfter('2026-11-25', us)).toBe('2026-11-25');
    expect(businessDayOnOrBefore('2026-11-26', us)).toBe('2026-11-25');
  });

  it('supports other weekends, such as Friday and Saturday', () => {
    const gulf: BusinessCalendar = { weekend: ['friday', 'saturday'] };
    expect(isBusinessDay('2026-11-01', gulf)).toBe(true); // Sunday
    expect(addBusinessDays('2026-10-29', 1, gulf)).toBe('2026-11-01'); // Thursday -> Sunday
  });

  it('counts business days between two dates consistently with addBusinessDays', () => {
    expect(businessDaysBetween('2026-10-30', '2026-11-06', weekendsOnly)).toBe(5);
    expect(businessDaysBetween('2026-11-20', '2026-11-30', us)).toBe(5);
    expect(businessDaysBetween('2026-11-30', '2026-11-20', us)).toBe(-5);
    expect(businessDaysBetween('2026-10-31', '2026-10-31', us)).toBe(0);
    for (let n = -15; n <= 15; n++) {
      const target = addBusinessDays('2026-11-18', n, us);
      expect(businessDaysBetween('2026-11-18', target, us)).toBe(n);
    }
  });

  it('never lands on a weekend or a closed day, for any start and offset', () => {
    for (let start = 0; start < 60; start++) {
      const from = addDays('2026-11-01', start);
      for (const n of [-7, -3, -1, 1, 2, 5, 10]) {
        const d = addBusinessDays(from, n, us);
        expect(isBusinessDay(d, us)).toBe(true);
        expect(['saturday', 'sunday']).not.toContain(weekdayOf(d));
      }
    }
  });

  it('refuses to answer outside the range its closed days were resolved for', () => {
    const covered: BusinessCalendar = {
      closedDays: ['2026-11-26', '2026-12-25'],
      coverage: { from: '2026-10-01', to: '2026-12-31' },
    };
    expect(addBusinessDays('2026-12-30', 1, covered)).toBe('2026-12-31');
    // Without coverage, New Year's Day 2027 would silently count as a business day.
    expect(() => addBusinessDays('2026-12-31', 1, covered)).toThrow(
      /2027-01-01 is outside the range the closed days were resolved for \(2026-10-01 to 2026-12-31\)/,
    );
    expect(() => isBusinessDay('2026-09-30', covered)).toThrow(/outside the range/);
  });

  it('refuses malformed calendars and offsets', () => {
    expect(() => isBusinessDay('2026-11-02', { closedDays: ['2026-11-02', '26/12/2026'] })).toThrow(
      /closedDays\[1\]: expected an ISO date yyyy-mm-dd, got "26\/12\/2026"/,
    );
    expect(() =>
      isBusinessDay('2026-11-02', {
        weekend: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'],
      }),
    ).toThrow(/a week needs at least one business day/);
    expect(() => isBusinessDay('2026-11-02', { weekend: ['caturday' as 'sunday'] })).toThrow(
      /"caturday" is not a weekday/,
    );
    expect(() => isBusinessDay('2026-11-02', { coverage: { from: '2026-12-01', to: '2026-11-01' } })).toThrow(
      /coverage: from 2026-12-01 is after to 2026-11-01/,
    );
    expect(() => addBusinessDays('2026-11-02', 1.5, weekendsOnly)).toThrow(/whole number, got 1.5/);
  });
});
