import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM files (and their text) of a throwaway CA and a server certificate it signed, for 127.0.0.1 and localhost. */
export interface TestCertificates {
  readonly caFile: string;
  readonly ca: string;
  readonly certFile: string;
  readonly cert: string;
  /** Unencrypted PKCS#8 key of the server certificate. */
  readonly keyFile: string;
  readonly key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe', timeout: 30_000 });
}

/** Generates a CA and a server certificate with openssl into `dir` (a second of work). */
export function createCertificates(dir: string, name = 'server'): TestCertificates {
  writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-ca.key`, '-out', `${name}-ca.pem`, '-days', '2', '-subj', `/CN=wal test CA ${name}`], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost'], dir);
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${name}-ca.pem`, '-CAkey', `${name}-ca.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`],
    dir,
  );
  const file = (f: string) => join(dir, f);
  return {
    caFile: file(`${name}-ca.pem`),
    ca: readFileSync(file(`${name}-ca.pem`), 'utf8'),
    certFile: file(`${name}.pem`),
    cert: readFileSync(file(`${name}.pem`), 'utf8'),
    keyFile: file(`${name}.key`),
    key: readFileSync(file(`${name}.key`), 'utf8'),
  };
}
