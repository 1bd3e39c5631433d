// Closed days for business-day arithmetic: public holidays from date-holidays for a country/state/region, plus the
// company's own closed days. This is an activity, not domain code, because date-holidays is a large rule engine
// whose data changes between releases: a workflow must not evaluate it on replay, it must read the answer from
// history. The workflow asks once per close, for a range wide enough for every deadline (see coverage).
import { ApplicationFailure } from '@temporalio/common';
import Holidays from 'date-holidays';
import type { BusinessCalendar } from '../domain/close/business-days';
import { isIsoDate, toDay, toIso } from '../domain/close/civil-date';
import type { HolidayConfig, HolidayType } from '../domain/close/plan';

export interface ResolveClosedDaysInput {
  holidays: HolidayConfig;
  /** Inclusive ISO range. */
  from: string;
  to: string;
}

const MAX_RANGE_DAYS = 3 * 366;

function refuse(message: string): never {
  // A wrong country or range is a mistake in the plan: retrying cannot fix it.
  throw ApplicationFailure.nonRetryable(message, 'InvalidHolidayConfig');
}

function checkPlace(config: HolidayConfig): { country: string; state?: string; region?: string } {
  const lookup = new Holidays();
  const country = config.country?.toUpperCase() as string;
  const countries = lookup.getCountries('en');
  if (!countries[country]) refuse(`holidays.country: date-holidays knows no country ${JSON.stringify(config.country)}`);
  const state = config.state?.toUpperCase();
  if (config.region !== undefined && state === undefined)
    refuse(`holidays.region: a region (${JSON.stringify(config.region)}) needs its state`);
  if (state !== undefined) {
    const states = lookup.getStates(country, 'en') ?? {};
    if (!states[state])
      refuse(
        `holidays.state: ${country} has no state ${JSON.stringify(config.state)}` +
          (Object.keys(states).length ? ` (known: ${Object.keys(states).join(', ')})` : ''),
      );
  }
  const region = config.region?.toUpperCase();
  if (region !== undefined) {
    const regions = lookup.getRegions(country, state as string, 'en') ?? {};
    if (!regions[region])
      refuse(
        `holidays.region: ${country}-${state} has no region ${JSON.stringify(config.region)}` +
          (Object.keys(regions).length ? ` (known: ${Object.keys(regions).join(', ')})` : ''),
      );
  }
  return { country, state, region };
}

/**
 * The holidays of `types` (default public) between from and to: full-day holidays close their day(s), multi-day
 * ones each of their days; a holiday of part of a day ("Christmas Eve from 14:00") closes it only when
 * partialDays is 'closed'.
 */
export function publicHolidays(config: HolidayConfig, from: string, to: string): string[] {
  if (config.country === undefined) return [];
  const place = checkPlace(config);
  const hd = new Holidays(place);
  const types = new Set<HolidayType>(config.types ?? ['public']);
  const first = toDay(from);
  const last = toDay(to);
  const out = new Set<string>();
  // The year before too: a holiday that starts late in December can run into the range.
  for (let year = Number(from.slice(0, 4)) - 1; year <= Number(to.slice(0, 4)); year++) {
    for (const h of hd.getHolidays(year) ?? []) {
      if (!types.has(h.type)) continue;
      // `date` is the local wall-clock start "YYYY-MM-DD hh:mm:ss [offset]"; its date part is the local day.
      const startDay = toDay(h.date.slice(0, 10), `holiday ${h.name}`);
      const hours = (h.end.getTime() - h.start.getTime()) / 3_600_000;
      const fullDay = h.date.slice(11, 19) === '00:00:00';
      if (!fullDay && config.partialDays !== 'closed') continue;
      // Whole days, allowing for a 23- or 25-hour day at a daylight-saving change.
      const days = Math.max(1, fullDay ? Math.round(hours / 24) : Math.ceil(hours / 24));
      for (let d = startDay; d < startDay + days; d++) if (d >= first && d <= last) out.add(toIso(d));
    }
  }
  return [...out].sort();
}

/** Sorted, de-duplicated closed days (holidays and company days) between from and to inclusive. */
export function resolveClosedDays(input: ResolveClosedDaysInput): string[] {
  const { holidays, from, to } = input;
  if (!isIsoDate(from) || !isIsoDate(to)) refuse(`closed days: from and to are ISO dates, got ${from} and ${to}`);
  if (toDay(to) < toDay(from)) refuse(`closed days: from ${from} is after to ${to}`);
  if (toDay(to) - toDay(from) > MAX_RANGE_DAYS) refuse(`closed days: ${from} to ${to} is more than three years`);
  const days = new Set(publicHolidays(holidays, from, to));
  (holidays.closedDays ?? []).forEach((d, i) => {
    if (!isIsoDate(d)) refuse(`holidays.closedDays[${i}]: expected an ISO date yyyy-mm-dd, got ${JSON.stringify(d)}`);
    if (d >= from && d <= to) days.add(d);
  });
  return [...days].sort();
}

/** The business calendar a workflow needs for deadlines in [from, to]: weekend, closed days and their coverage. */
export function resolveBusinessCalendar(input: ResolveClosedDaysInput): BusinessCalendar {
  const cal: BusinessCalendar = {
    closedDays: resolveClosedDays(input),
    coverage: { from: input.from, to: input.to },
  };
  if (input.holidays.weekend) cal.weekend = input.holidays.weekend;
  return cal;
}

/**
 * Calendar activities. Pure computation over bundled data, so they are cheap and idempotent; the workflow can
 * give them a short start-to-close timeout and the default retry policy (only a bug or a crash fails them, and
 * bad configuration is refused as non-retryable).
 */
export function createCalendarActivities() {
  return {
    resolveClosedDays: async (input: ResolveClosedDaysInput): Promise<string[]> => resolveClosedDays(input),
    resolveBusinessCalendar: async (input: ResolveClosedDaysInput): Promise<BusinessCalendar> =>
      resolveBusinessCalendar(input),
  };
}
