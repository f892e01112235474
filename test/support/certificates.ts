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

/** A key and a certificate for `subject`, signed by the CA `<ca>-ca.pem` / `<ca>-ca.key` in `dir`. */
function signed(dir: string, ca: string, name: string, subject: string, extensions: string): { certFile: string; cert: string; keyFile: string; key: string } {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}-ca.pem`, '-CAkey', `${ca}-ca.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
  const [certFile, keyFile] = [join(dir, `${name}.pem`), join(dir, `${name}.key`)];
  return { certFile, cert: readFileSync(certFile, 'utf8'), keyFile, key: readFileSync(keyFile, 'utf8') };
}

/** Generates a CA and a server certificate with openssl into `dir` (a second of work). */
export function createCertificates(dir: string, name = 'server'): TestCertificates {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-ca.key`, '-out', `${name}-ca.pem`, '-days', '2', '-subj', `/CN=wal test CA ${name}`], dir);
  const caFile = join(dir, `${name}-ca.pem`);
  return { caFile, ca: readFileSync(caFile, 'utf8'), ...signed(dir, name, name, '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n') };
}

/** A client certificate (and key) for mutual TLS, signed by the CA that createCertificates(dir, ca) made. */
export function createClientCertificate(dir: string, ca: string, client: string): { certFile: string; cert: string; keyFile: string; key: string } {
  return signed(dir, ca, client, `/CN=${client}`, 'extendedKeyUsage=clientAuth\n');
}
