import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAvroCodec, RegistryUnavailableError, SchemaRejectedError } from '../../src/wire';
import { createCertificates, type TestCertificates } from '../support/certificates';

/**
 * The Avro codec against a real HTTPS server that, like a secured registry, trusts only a basic-auth user
 * and shows a certificate of its own CA. (The shared Apicurio of the integration clusters has no cheap basic
 * auth: its auth needs an OIDC server.)
 */
describe('the Avro codec on a registry with HTTPS and basic auth', () => {
  let certs: TestCertificates;
  let server: Server;
  let url: string;
  const seen: (string | undefined)[] = [];

  beforeAll(async () => {
    certs = createCertificates(mkdtempSync(join(tmpdir(), 'wal-registry-tls-')), 'registry');
    server = createServer({ cert: certs.cert, key: certs.key }, (request, response) => {
      seen.push(request.headers.authorization);
      if (request.headers.authorization !== `Basic ${Buffer.from('reg-user:reg-pass').toString('base64')}`) {
        response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 40101, message: 'Unauthorized' }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify({ schema: '"string"' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/apis/ccompat/v7`;
  }, 60_000);

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the basic-auth credentials and trusts the configured CA', async () => {
    const codec = createAvroCodec({ registryUrl: url, basicAuth: { username: 'reg-user', password: 'reg-pass' }, ca: certs.ca, retries: 0 });
    expect((await codec.schemaType(1)).typeName).toBe('string');
  });

  it('answers a refused password with an error that names the registry and the setting to check, without the password', async () => {
    const codec = createAvroCodec({ registryUrl: url, basicAuth: { username: 'reg-user', password: 'wrong-pass' }, ca: certs.ca, retries: 0 });
    const error = await codec.schemaType(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaRejectedError);
    expect((error as Error).message).toMatch(new RegExp(`^registry at ${url} refused the credentials fetching schema id 1 \\(HTTP 401\\): check the cluster's schemaRegistry.basicAuth`));
    expect((error as Error).message).not.toContain('wrong-pass');
  });

  it('refuses a registry whose certificate is not signed by a trusted CA', async () => {
    const codec = createAvroCodec({ registryUrl: url, basicAuth: { username: 'reg-user', password: 'reg-pass' }, retries: 0, requestTimeoutMs: 2000 });
    const error = await codec.schemaType(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect((error as Error).message).toMatch(/self[- ]signed certificate|unable to verify/);
  });
});
