import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { postLoad } from '../../bench/lib/http-load';

/** A server answering each posted body by its `answer` field, as wal api would answer a write. */
async function server(): Promise<{ url: URL; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const app = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const { answer } = JSON.parse(body) as { answer: string };
      // Content-Length, as fastify sends it for JSON.
      const send = (status: number, json: string, headers: Record<string, string> = {}) =>
        response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)), ...headers }).end(json);
      if (answer === 'durable') send(200, '{"durable":"true","id":"a"}');
      else if (answer === 'unknown') send(200, '{"durable":"unknown","id":"a"}');
      else if (answer === 'close') send(503, '{"durable":"false"}', { connection: 'close' });
      else send(503, '{"durable":"false"}');
    });
  });
  app.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const { port } = app.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/v1/wal/write`), connections: () => connections, close: () => new Promise((resolve) => app.close(() => resolve())) };
}

describe('bench http load generator', () => {
  it('counts HTTP 200 with durable "true" only, over one keep-alive connection per client unless the server closes it', async () => {
    const s = await server();
    try {
      const answers = ['durable', 'unknown', 'durable', 'refused', 'close', 'durable'];
      let i = 0;
      const result = await postLoad(s.url, 2, 300, () => JSON.stringify({ answer: answers[i++ % answers.length] }));
      const sent = result.ok + result.failed;
      expect(sent).toBeGreaterThan(answers.length);
      expect(result.ok).toBe(result.latenciesMs.length);
      // Half of the answers are durable, whichever client got which (the last two may be cut off).
      expect(Math.abs(result.ok - sent / 2)).toBeLessThanOrEqual(2);
      // Two clients, plus one new connection after each `connection: close`.
      expect(s.connections()).toBeGreaterThan(2);
      expect(s.connections()).toBeLessThanOrEqual(2 + Math.ceil(sent / answers.length) + 1);
    } finally {
      await s.close();
    }
  });
});
