import {
  DEFAULT_SOURCE_RETRY_WINDOW_MS,
  SOURCE_RETRY_MAX_DELAY_MS,
  nextSourceAttemptMs,
  parseRetryWindow,
  retryWindowMs,
  sourceGaveUpMessage,
  sourceWaitReason,
  windowText,
} from '../../domain/source-wait';

describe('waiting for a source that is down', () => {
  it('doubles the wait from 5 s per failed attempt up to two minutes', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 30].map((n) => nextSourceAttemptMs(n, 0, 0, DEFAULT_SOURCE_RETRY_WINDOW_MS));
    expect(waits).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 120_000, 120_000, SOURCE_RETRY_MAX_DELAY_MS]);
  });

  it('never waits past the window, and gives up once the window from the first failure is spent', () => {
    expect(nextSourceAttemptMs(6, 0, 14 * 60_000 + 30_000, 15 * 60_000)).toBe(30_000);
    expect(nextSourceAttemptMs(7, 0, 15 * 60_000, 15 * 60_000)).toBeUndefined();
    expect(nextSourceAttemptMs(1, 1_000, 10_000, 5_000)).toBeUndefined();
  });

  it('takes the window a failure carries, or 15 minutes when it carries none or nonsense', () => {
    expect(retryWindowMs(60_000)).toBe(60_000);
    expect(retryWindowMs(undefined)).toBe(DEFAULT_SOURCE_RETRY_WINDOW_MS);
    expect(retryWindowMs(-5)).toBe(DEFAULT_SOURCE_RETRY_WINDOW_MS);
    expect(retryWindowMs(1.5)).toBe(DEFAULT_SOURCE_RETRY_WINDOW_MS);
    expect(retryWindowMs('10m')).toBe(DEFAULT_SOURCE_RETRY_WINDOW_MS);
  });

  it('reads a window written as a duration and refuses a zero or malformed one, naming the setting', () => {
    expect(parseRetryWindow('1h30m', 'x')).toBe(90 * 60_000);
    expect(() => parseRetryWindow('0m', 'FINFLOW_SOURCE_RETRY_WINDOW')).toThrow(
      /FINFLOW_SOURCE_RETRY_WINDOW: the retry window must be longer than zero/,
    );
    expect(() => parseRetryWindow('15 minutes', 'source retry_window')).toThrow(
      /^source retry_window: expected a duration/,
    );
  });

  it('says a window in hours, minutes and seconds', () => {
    expect(windowText(15 * 60_000)).toBe('15m');
    expect(windowText(5_400_000 + 5_000)).toBe('1h30m5s');
    expect(windowText(400)).toBe('400ms');
  });

  it('names the source, the error, the attempts and the next attempt while waiting, and the window when giving up', () => {
    const w = {
      side: 'b' as const,
      source: 'mysql:erp',
      error: 'connect ECONNREFUSED 127.0.0.1:3306',
      attempts: 1,
      since: '2026-10-31T10:00:00.000Z',
      nextAttemptAt: '2026-10-31T10:00:05.000Z',
      windowMs: 900_000,
    };
    expect(sourceWaitReason(w)).toBe(
      'waiting for source mysql:erp (side b): connect ECONNREFUSED 127.0.0.1:3306; 1 attempt since ' +
        '2026-10-31T10:00:00.000Z, next attempt at 2026-10-31T10:00:05.000Z, gives up after 15m',
    );
    expect(sourceWaitReason({ ...w, attempts: 3 })).toContain('; 3 attempts since');
    expect(sourceGaveUpMessage({ ...w, attempts: 9 })).toBe(
      'source mysql:erp (side b) unavailable for 15m since 2026-10-31T10:00:00.000Z (9 attempts): ' +
        'connect ECONNREFUSED 127.0.0.1:3306',
    );
  });
});
