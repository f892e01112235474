import net from 'node:net';

/** What one load run saw: answers that were durable, the others, and the latency of each durable one. */
export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly latenciesMs: Float64Array;
  readonly seconds: number;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

const HEAD_END = '\r\n\r\n';

/**
 * One keep-alive HTTP/1.1 connection that posts JSON and reads the answer, one request at a time.
 * Written on a bare socket rather than node:http's client, whose per-request cost (an agent, a
 * ClientRequest, a parser, events) took a third of the CPU `wal api` got, on the same two cores.
 * Answers with a Content-Length only (what fastify sends for JSON); anything else fails the request.
 */
class Connection {
  private socket?: net.Socket;
  private received = '';
  private waiting?: { resolve(answer: Answer): void; reject(error: Error): void };

  constructor(
    private readonly url: URL,
    private readonly timeoutMs: number,
  ) {}

  post(body: string): Promise<Answer> {
    const socket = (this.socket ??= this.open());
    return new Promise<Answer>((resolve, reject) => {
      this.waiting = { resolve, reject };
      socket.write(`POST ${this.url.pathname} HTTP/1.1\r\nhost: ${this.url.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.received = '';
    socket?.destroy();
  }

  private open(): net.Socket {
    const socket = net.connect({ host: this.url.hostname, port: Number(this.url.port), noDelay: true });
    socket.setEncoding('latin1');
    socket.setTimeout(this.timeoutMs, () => socket.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
    socket.on('data', (chunk: string) => this.read(chunk));
    const fail = (error?: Error): void => {
      // A socket closed on purpose after its last answer: the next request is on another one.
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.received = '';
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.reject(error ?? new Error('connection closed'));
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
    return socket;
  }

  private read(chunk: string): void {
    this.received += chunk;
    const headEnd = this.received.indexOf(HEAD_END);
    if (headEnd < 0) return;
    const head = this.received.slice(0, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) {
      this.socket?.destroy(new Error(`answer without content-length: ${head.slice(0, 200)}`));
      return;
    }
    const end = headEnd + HEAD_END.length + Number(length[1]);
    if (this.received.length < end) return;
    const body = this.received.slice(headEnd + HEAD_END.length, end);
    this.received = this.received.slice(end);
    if (/\r\nconnection: *close/i.test(head)) this.close();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve({ status: Number(head.slice(9, 12)), body });
  }
}

/**
 * `concurrency` keep-alive clients post back to back until `durationMs` is over. A write counts as
 * durable when answered HTTP 200 with `durable: "true"`; its latency is kept.
 */
export async function postLoad(url: URL, concurrency: number, durationMs: number, makeBody: () => string, timeoutMs = 15_000): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  const end = started + durationMs;
  const client = async (): Promise<void> => {
    const connection = new Connection(url, timeoutMs);
    try {
      while (performance.now() < end) {
        const body = makeBody();
        const t0 = performance.now();
        try {
          const answer = await connection.post(body);
          if (answer.status === 200 && answer.body.includes('"durable":"true"')) {
            ok += 1;
            latencies.push(performance.now() - t0);
          } else failed += 1;
        } catch {
          failed += 1;
        }
      }
    } finally {
      connection.close();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { ok, failed, latenciesMs: Float64Array.from(latencies), seconds: (performance.now() - started) / 1000 };
}
