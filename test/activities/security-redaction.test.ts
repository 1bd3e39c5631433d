import { Writable } from 'node:stream';
import { createLogger, redactPaths, redactedFieldNames, scrubText } from '../../activities/security/redaction';
import { parseSecurityPolicy } from '../../domain/security/policy';
import { seedPolicy } from '../unit/security-fixture';

const IBAN = 'DE89370400440532013000';
const CARD = '4111111111111111';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { stream, output: () => lines.join('') };
}

describe('log redaction', () => {
  it('builds redact paths for restricted fields in snake and camel case at several depths', () => {
    const paths = redactPaths(seedPolicy(), { depth: 2 });
    expect(paths).toEqual(
      expect.arrayContaining([
        'account_number',
        '*.account_number',
        '*.*.account_number',
        'accountNumber',
        '*.*.accountNumber',
      ]),
    );
    // balances are internal and vendor ids internal: not redacted at the default minimum
    expect(paths.some((p) => p.includes('balance') || p.includes('vendor'))).toBe(false);
    expect(redactedFieldNames(seedPolicy(), 'internal')).toEqual(expect.arrayContaining(['balance', 'vendor_id']));
  });

  it('never writes a restricted value logged through it, however it is logged', () => {
    const { stream, output } = capture();
    const log = createLogger(seedPolicy(), { destination: stream });
    log.info({ account_number: IBAN }, 'top level');
    log.info({ exception: { accountNumber: IBAN } }, 'one level down');
    log.info({ a: { b: { c: { d: { e: { f: { account_number: IBAN } } } } } } }, 'deeper than the paths reach');
    log.info({ rows: [{ account_number: IBAN }, { account_number: IBAN }] }, 'in an array');
    log.info(`interpolated into the message: ${IBAN}`);
    log.info('as a format argument: %s', IBAN);
    log.info({ note: `grouped in a string: DE89 3704 0044 0532 0130 00` }, 'free text');
    log.error(new Error(`payment to ${IBAN} bounced`), 'error object');
    log.error({ err: new Error(`card ${CARD} declined`) }, 'error under err');
    log.child({ account_number: IBAN }).info('child binding');
    log.info({ card: Number(CARD) }, 'card number as a number');
    const out = output();
    expect(out.split('\n').filter(Boolean)).toHaveLength(11);
    expect(out).not.toContain(IBAN);
    expect(out).not.toContain('DE89 3704 0044 0532 0130 00');
    expect(out).not.toContain(CARD);
    expect(out).toContain('[REDACTED]');
  });

  it('still writes what is not restricted', () => {
    const { stream, output } = capture();
    const log = createLogger(seedPolicy(), { destination: stream });
    log.info({ closeId: 'close:ACME:2026-10', balance: '1250000.00', account_number: IBAN }, 'reconciled 42 items');
    const line = JSON.parse(output()) as Record<string, unknown>;
    expect(line).toMatchObject({
      closeId: 'close:ACME:2026-10',
      balance: '1250000.00',
      account_number: '[REDACTED]',
      msg: 'reconciled 42 items',
    });
  });

  it('redacts confidential fields too when asked to', () => {
    const policy = parseSecurityPolicy({ fields: { 'vendors.tax_id': 'confidential' } });
    const loose = capture();
    createLogger(policy, { destination: loose.stream }).info({ tax_id: 'DE123456789' });
    expect(loose.output()).toContain('DE123456789');
    const strict = capture();
    createLogger(policy, { destination: strict.stream, minimum: 'confidential' }).info({ tax_id: 'DE123456789' });
    expect(strict.output()).not.toContain('DE123456789');
  });

  it('scrubs only checksum-valid IBANs and card numbers from free text', () => {
    expect(scrubText(`to ${IBAN} now`)).toBe('to [REDACTED] now');
    expect(scrubText('close:ACME:2026-10 totals 1250000.00 over 42 items')).toBe(
      'close:ACME:2026-10 totals 1250000.00 over 42 items',
    );
    // one digit off: fails the IBAN check and the Luhn check, so it is left alone
    expect(scrubText('DE89370400440532013001')).toBe('DE89370400440532013001');
    expect(scrubText('4111111111111112')).toBe('4111111111111112');
    expect(scrubText('4111 1111 1111 1111')).toBe('[REDACTED]');
  });
});
