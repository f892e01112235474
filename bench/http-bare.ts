/**
 * The HTTP-alone baseline of the http bench, run as its own process like `wal api`: a fastify route
 * that parses the same JSON body and answers `durable: "true"` without validation, Kafka or Avro.
 * Prints `listening on <address>`; stops on SIGTERM.
 */
import Fastify from 'fastify';

async function main(): Promise<void> {
  const app = Fastify();
  app.post<{ Body: { id?: string } }>('/v1/wal/write', async (request) => ({ durable: 'true', id: request.body.id ?? '' }));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stderr.write(`http-bare: listening on ${address}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();
