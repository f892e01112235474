import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { uniqueTopic } from '../support/clusters';
import { ordersNamespace, runWal, startWalApi } from '../support/wal-cli';

describe('wal write / wal produce / wal api on the real cluster', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-write-cli-'));
  const intake = uniqueTopic('cli-intake');
  const topology = path.join(dir, 'orders.yaml');

  beforeAll(async () => {
    await ordersNamespace(topology, intake);
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('wal write prints durable true as JSON and exits 0', async () => {
    const run = await runWal('write', ['-t', topology, '-n', 'orders', '--payload', '{"order":1}', '--delay', '30s', '--id', 'cli-1', '-H', 'tenant=acme']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ durable: 'true', id: 'cli-1', partition: 0, offset: expect.any(String) });
  });

  it('wal write exits 1 with durable false and the reason for an invalid request', async () => {
    const run = await runWal('write', ['-t', topology, '-n', 'orders', '--payload', 'x'.repeat(2000)]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ durable: 'false', message: expect.stringMatching(/over the 1024-byte limit/) });
  });

  it('wal produce bulk-writes an NDJSON file, reports progress on stderr and exits 1 when a line failed', async () => {
    const file = path.join(dir, 'data.ndjson');
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: `bulk-${i}`, payload: { i } }));
    lines.push(JSON.stringify({ payload: 'x', lifecycle: { delayMs: -1 } }));
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const run = await runWal('produce', ['-t', topology, '-n', 'orders', '-f', file, '--window', '100']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/wal produce: 301\/301 \(100%\), \d+ records\/s, 1 false, 0 unknown/);
    const summary = JSON.parse(run.stdout) as { total: number; durable: Record<string, number>; failures: Array<{ line: number; message: string }> };
    expect(summary).toMatchObject({ total: 301, durable: { true: 300, false: 1, unknown: 0 } });
    expect(summary.failures).toEqual([expect.objectContaining({ line: 301, message: expect.stringMatching(/lifecycle.delayMs/) })]);
  });

  it('wal api serves writes and stops gracefully on SIGTERM', async () => {
    const api = await startWalApi(['-t', topology, '--port', '0', '--host', '127.0.0.1']);
    let code: number | null;
    try {
      const response = await fetch(`${api.base}/v1/wal/write`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ namespace: 'orders', payload: { via: 'api' } }) });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ durable: 'true' });
    } finally {
      code = await api.stop();
    }
    expect(code).toBe(0);
    expect(api.stderr()).toMatch(/SIGTERM: finishing in-flight requests[\s\S]*stopped/);
  });
});
