import http, { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the server received, in arrival order. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Epoch ms when the body had arrived: tests measure retry gaps with it. */
  receivedAt: number;
}

export interface ScriptedResponse {
  status: number;
  body?: string;
  /** Wait this long before answering (to provoke a client timeout). */
  delayMs?: number;
}

/** Decides the answer to the n-th request (0-based, counted since the last `script`). */
export type Script = (request: ReceivedRequest, index: number) => ScriptedResponse;

/** Ready-made scripts. */
export const respond = {
  ok: (status = 200): Script => () => ({ status, body: 'ok' }),
  always: (status: number, body = `status ${status}`): Script => () => ({ status, body }),
  /** `times` answers of `status` (503 by default), then 200. */
  failTimes: (times: number, status = 503): Script => (_r, i) => (i < times ? { status, body: `failure ${i + 1} of ${times}` } : { status: 200 }),
  slow: (delayMs: number, status = 200): Script => () => ({ status, delayMs }),
};

export interface HttpTargetServer {
  /** http://127.0.0.1:<port>/hook */
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Most requests the server was handling at the same time. */
  maxInFlight(): number;
  /** Replace the behaviour; resets the request counter the script sees. */
  script(script: Script): void;
  close(): Promise<void>;
}

/** A real HTTP server on loopback whose answers a test scripts and which records what it got. */
export async function startHttpTargetServer(initial: Script = respond.ok()): Promise<HttpTargetServer> {
  const received: ReceivedRequest[] = [];
  let current = initial;
  let counter = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    res.once('close', () => inFlight--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), receivedAt: Date.now() };
      received.push(request);
      const answer = current(request, counter++);
      const send = (): void => {
        res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body ?? '');
      };
      if (answer.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) send();
        }, answer.delayMs);
        timers.add(timer);
      } else send();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    maxInFlight: () => maxInFlight,
    script(next: Script) {
      current = next;
      counter = 0;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
