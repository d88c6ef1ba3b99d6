/**
 * The hub's log lines (pino): one JSON object a line with level, ISO time and `message`, the
 * caller's fields beside them, and keys that could carry secrets or personal data censored.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, REDACTED } from '../log.ts';

const capture = () => {
  const lines: string[] = [];
  const logger = createLogger((line) => lines.push(line));
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('log lines', () => {
  it('writes one JSON object a line, without its newline, with level, ISO time, message and the fields', () => {
    const { logger, lines, parsed } = capture();
    logger.info('contracts expired', { count: 2, contractIds: ['a', 'b'] });
    logger.warn('slow upstream', { source: 'MarketRegistry' });
    logger.error('audit store failed');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).not.toContain('\n');
    const [info, warn, error] = parsed();
    expect(info).toMatchObject({ level: 'info', message: 'contracts expired', count: 2, contractIds: ['a', 'b'] });
    expect(warn).toMatchObject({ level: 'warn', message: 'slow upstream', source: 'MarketRegistry' });
    expect(error).toMatchObject({ level: 'error', message: 'audit store failed' });
    expect(new Date(String(info!.time)).toISOString()).toBe(info!.time);
    // No pino extras (pid, hostname, numeric levels, msg): the same shape as before pino.
    expect(Object.keys(error!).sort()).toEqual(['level', 'message', 'time']);
  });

  it('censors fields that could carry a token, a secret or personal data, at the top level and one level down', () => {
    const { logger, lines, parsed } = capture();
    logger.warn('suspicious request', {
      requestId: 'req-12345678',
      authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.secret-token',
      idNumber: '341504198712193778',
      name: '李国',
      password: 'hunter2-password',
      apiKey: 'rsj-api-key-value',
      headers: { authorization: 'Bearer nested-token-value', accept: 'application/json' },
      subject: { idNumber: '341623199403200021' },
    });
    const [line] = parsed();
    expect(line).toMatchObject({
      requestId: 'req-12345678',
      authorization: REDACTED,
      idNumber: REDACTED,
      name: REDACTED,
      password: REDACTED,
      apiKey: REDACTED,
      headers: { authorization: REDACTED, accept: 'application/json' },
      subject: { idNumber: REDACTED },
    });
    for (const secret of ['secret-token', '341504198712193778', '李国', 'hunter2', 'rsj-api-key', 'nested-token', '341623199403200021']) {
      expect(lines[0]).not.toContain(secret);
    }
  });

  it('leaves the caller\'s object untouched while censoring its copy in the line', () => {
    const { logger } = capture();
    const fields = { token: 'keep-me-in-memory' };
    logger.info('x', fields);
    expect(fields.token).toBe('keep-me-in-memory');
  });

  it('writes to stderr by default, synchronously', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write);
    const stdout = vi.spyOn(process.stdout, 'write');
    createLogger().info('hub started', { port: 4000 });
    expect(written).toHaveLength(1);
    expect(written[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(written[0]!)).toMatchObject({ level: 'info', message: 'hub started', port: 4000 });
    expect(stdout).not.toHaveBeenCalled();
  });
});
