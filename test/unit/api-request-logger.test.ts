import { Writable } from 'node:stream';
import { lazyChildLogger } from '../../src/api/request-logger';
import { createLogger } from '../../src/observability/logger';

function capturedLogger(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ component: 'http' }, { level }, sink);
  return { logger, lines };
}

describe('request logger', () => {
  it('makes no pino child until a line is written at an enabled level, then writes it with the bindings', async () => {
    const { logger, lines } = capturedLogger('warn');
    const child = jest.spyOn(logger, 'child');
    const log = lazyChildLogger(logger, { requestId: 'r-1' });
    log.info('below the level');
    log.debug({ id: 'x' }, 'below the level');
    expect(child).not.toHaveBeenCalled();
    expect(log.level).toBe('warn');

    log.warn({ namespace: 'orders', id: 'x' }, 'not durable');
    log.error('failed');
    await new Promise((r) => setImmediate(r));
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines).toEqual([
      expect.objectContaining({ requestId: 'r-1', component: 'http', namespace: 'orders', id: 'x', msg: 'not durable', level: 40 }),
      expect.objectContaining({ requestId: 'r-1', msg: 'failed', level: 50 }),
    ]);
  });

  it('masks secrets in its bindings as the root logger does', async () => {
    const { logger, lines } = capturedLogger('info');
    lazyChildLogger(logger, { requestId: 'r-2' }).child({ cluster: { password: 'hunter2' } }).info('connected');
    await new Promise((r) => setImmediate(r));
    expect(JSON.stringify(lines)).not.toContain('hunter2');
    expect(lines[0]).toMatchObject({ requestId: 'r-2', msg: 'connected' });
  });
});
