import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import type { ClusterConfig, ClusterTls, RegistryAccess } from '../kafka/cluster';
import type { Path } from './issues';
import type { RawCluster } from './schema';

/**
 * The secured part of a cluster entry: `file:` references read (relative to the file that names them),
 * PEM checked for what it should hold, registry credentials taken out of the URL. Values are never put
 * into a problem text, so a ConfigError can be printed and logged as it is.
 */

type Report = (path: Path, problem: string) => void;

const CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PRIVATE_KEY = /-----BEGIN (?:[A-Z]+ )?(?:ENCRYPTED )?PRIVATE KEY-----/;

export type ClusterSecurity = Pick<ClusterConfig, 'schemaRegistryUrl' | 'schemaRegistry' | 'ssl' | 'sasl'>;

/** A secret's text: as given (env already interpolated), or read from `file:<path>` (one trailing newline dropped). */
export function readSecret(value: string, file: string, path: Path, report: Report): string | undefined {
  if (!value.startsWith('file:')) return value;
  const target = resolvePath(dirname(file), value.slice('file:'.length));
  try {
    return readFileSync(target, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    report(path, `names file ${target}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    return undefined;
  }
}

type SecretReader = (path: Path, value: string, pem?: { pattern: RegExp; what: string }) => string | undefined;

/** Reads an inline, `file:` (relative to `file`) or `${ENV}` secret, checking PEM for what it should hold. */
function secretReader(file: string, report: Report): SecretReader {
  return (path, value, pem) => {
    let text = value;
    if (value.startsWith('file:')) {
      const target = resolvePath(dirname(file), value.slice('file:'.length));
      try {
        text = readFileSync(target, 'utf8');
      } catch (error) {
        report(path, `names file ${target}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
        return undefined;
      }
      if (!pem) text = text.replace(/\r?\n$/, '');
    }
    if (pem && !pem.pattern.test(text)) {
      report(path, `must be PEM holding ${pem.what} (inline, file:<path> or \${ENV})`);
      return undefined;
    }
    return text;
  };
}

export function resolveClusterSecurity(raw: RawCluster, file: string, report: Report): ClusterSecurity {
  const read = secretReader(file, report);

  const ssl = resolveTls(raw.ssl, report, read);
  const sasl = raw.sasl && { mechanism: raw.sasl.mechanism, username: raw.sasl.username, password: read(['sasl', 'password'], raw.sasl.password) ?? '' };

  const registryField: Path = raw.schemaRegistry ? ['schemaRegistry', 'url'] : ['schemaRegistryUrl'];
  const url = new URL(raw.schemaRegistry?.url ?? raw.schemaRegistryUrl ?? '');
  let registryUrl = raw.schemaRegistry?.url ?? raw.schemaRegistryUrl ?? '';
  let basicAuth: RegistryAccess['basicAuth'];
  if (url.username !== '') {
    // Credentials in the URL would end up in every registry error message: move them to basic auth.
    if (raw.schemaRegistry?.basicAuth !== undefined) report(registryField, 'holds credentials and schemaRegistry.basicAuth is set too: keep one');
    basicAuth = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
    url.username = '';
    url.password = '';
    registryUrl = url.toString().replace(/\/+$/, '');
  }
  const auth = raw.schemaRegistry?.basicAuth;
  if (typeof auth === 'string') {
    const colon = auth.indexOf(':');
    basicAuth = { username: auth.slice(0, colon), password: read(['schemaRegistry', 'basicAuth'], auth.slice(colon + 1)) ?? '' };
  } else if (auth) {
    basicAuth = { username: auth.username, password: read(['schemaRegistry', 'basicAuth', 'password'], auth.password) ?? '' };
  }
  const registryCa = raw.schemaRegistry?.ca;
  const ca = registryCa === undefined ? undefined : read(['schemaRegistry', 'ca'], registryCa, { pattern: CERTIFICATE, what: 'a CA certificate' });
  const schemaRegistry: RegistryAccess | undefined =
    basicAuth || ca !== undefined ? { ...(basicAuth ? { basicAuth } : {}), ...(ca !== undefined ? { ca } : {}) } : undefined;

  return {
    schemaRegistryUrl: registryUrl,
    ...(schemaRegistry ? { schemaRegistry } : {}),
    ...(ssl ? { ssl } : {}),
    ...(sasl ? { sasl } : {}),
  };
}

/**
 * A target's `ssl` (same shape as a cluster's), its problems reported under `at` (e.g. targets.<t>.ssl's
 * parent path), its files read relative to `file`.
 */
export function resolveTargetTls(raw: RawCluster['ssl'], file: string, at: Path, report: Report): ClusterTls | undefined {
  const under: Report = (path, problem) => report([...at, ...path], problem);
  return resolveTls(raw, under, secretReader(file, under));
}

function resolveTls(raw: RawCluster['ssl'], report: Report, read: SecretReader): ClusterTls | undefined {
  if (raw === undefined || raw === false) return undefined;
  if (raw === true) return { rejectUnauthorized: true };
  if ((raw.cert === undefined) !== (raw.key === undefined)) report(['ssl', raw.cert === undefined ? 'cert' : 'key'], 'is required when ssl.' + (raw.cert === undefined ? 'key' : 'cert') + ' is set (a client certificate needs its key)');
  const field = (name: 'ca' | 'cert' | 'key', pattern: RegExp, what: string) => {
    const value = raw[name];
    const text = value === undefined ? undefined : read(['ssl', name], value, { pattern, what });
    return text === undefined ? {} : { [name]: text };
  };
  const passphrase = raw.passphrase === undefined ? undefined : read(['ssl', 'passphrase'], raw.passphrase);
  return {
    ...field('ca', CERTIFICATE, 'a CA certificate'),
    ...field('cert', CERTIFICATE, 'a certificate'),
    ...field('key', PRIVATE_KEY, 'a private key'),
    ...(passphrase !== undefined ? { passphrase } : {}),
    rejectUnauthorized: raw.rejectUnauthorized,
  };
}
