import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError } from '../../src/namespaces';
import { adminHostOf, adminPortOf } from '../../src/cli/commands/start';

const root = path.resolve(__dirname, '../..');

describe('wal start --admin-port', () => {
  it('takes an integer 0..65535 from the flag, else from $WAL_ADMIN_PORT, else none', () => {
    expect(adminPortOf('9464', '1')).toBe(9464);
    expect(adminPortOf('0', undefined)).toBe(0);
    expect(adminPortOf(' 65535 ', undefined)).toBe(65535);
    expect(adminPortOf(undefined, '9465')).toBe(9465);
    expect(adminPortOf(undefined, undefined)).toBeUndefined();
    expect(adminPortOf(undefined, '')).toBeUndefined();
  });

  it('rejects anything else, naming the flag or the variable it came from', () => {
    for (const bad of ['abc', '', '-1', '65536', '94.64', '1e3', '0x10', '9464abc']) {
      expect(() => adminPortOf(bad, undefined)).toThrow(new ConfigError([`--admin-port "${bad}": expected a TCP port, an integer from 0 to 65535 (0 picks a free port)`]));
    }
    expect(() => adminPortOf(undefined, 'http')).toThrow(/^\$WAL_ADMIN_PORT "http": expected a TCP port/);
    // The flag wins over the variable, valid or not.
    expect(() => adminPortOf('abc', '9464')).toThrow(/^--admin-port "abc"/);
  });

  it('fails `wal start` before it connects anywhere, with one clear line and no NaN', () => {
    const run = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, ['-r', path.join(root, 'test/support/runtime-fixtures/register-ts.js'), path.join(root, 'src/cli/main.ts'), 'start', '--topology', 'no-such-file.yaml', ...args], {
        env: { ...process.env, WAL_ADMIN_PORT: '', ...env },
        encoding: 'utf8',
        timeout: 30_000,
      });
    const flag = run(['--admin-port', 'abc']);
    expect([flag.status, flag.stderr.trim()]).toEqual([1, 'wal: --admin-port "abc": expected a TCP port, an integer from 0 to 65535 (0 picks a free port)']);
    const env = run([], { WAL_ADMIN_PORT: '99999' });
    expect([env.status, env.stderr.trim()]).toEqual([1, 'wal: $WAL_ADMIN_PORT "99999": expected a TCP port, an integer from 0 to 65535 (0 picks a free port)']);
    expect(flag.stderr + env.stderr).not.toContain('NaN');
  }, 60_000);
});

describe('wal start --admin-host', () => {
  it('binds the flag, else $WAL_ADMIN_HOST, else every interface as before the option existed', () => {
    expect(adminHostOf('127.0.0.1', '10.0.0.1')).toBe('127.0.0.1');
    expect(adminHostOf(undefined, '::1')).toBe('::1');
    expect(adminHostOf(undefined, '')).toBe('0.0.0.0');
    expect(adminHostOf(undefined, undefined)).toBe('0.0.0.0');
    expect(() => adminHostOf(' ', undefined)).toThrow(/^--admin-host " ": expected an address to bind/);
  });
});
