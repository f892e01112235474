import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ApiKeysError,
  findApiKey,
  hashApiKey,
  isLoopback,
  keysFileEntry,
  listenRefusal,
  loadApiKeys,
  mayWrite,
  mintApiKey,
  parseApiKeys,
  presentedKey,
  requestIdOf,
} from '../../src/api';

function keysDoc(...entries: string[]): string {
  return ['keys:', ...entries].join('\n');
}

describe('API keys', () => {
  const ci = mintApiKey();
  const admin = mintApiKey();
  const doc = keysDoc(
    `  - { id: ci, hash: "${ci.hash}", namespaces: [orders, billing], roles: [write], rateLimit: { max: 5, timeWindow: 1m } }`,
    `  - { id: ops, hash: "${admin.hash}", namespaces: ["*"], roles: [write, admin] }`,
  );

  it('mints a 256-bit key with a wal_ prefix and the sha-256 of it as its hash', () => {
    expect(ci.key).toMatch(/^wal_[A-Za-z0-9_-]{43}$/);
    expect(ci.hash).toBe(`sha256:${hashApiKey(ci.key).toString('hex')}`);
    expect(mintApiKey().key).not.toBe(ci.key);
  });

  it('parses ids, hashes, namespaces, roles and rate limits (durations as in topology files)', () => {
    const parsed = parseApiKeys(doc, 'keys.yaml');
    expect(parsed.keys.map((k) => [k.id, k.namespaces, k.roles, k.rateLimit])).toEqual([
      ['ci', ['orders', 'billing'], ['write'], { max: 5, timeWindowMs: 60_000 }],
      ['ops', ['*'], ['write', 'admin'], undefined],
    ]);
    expect(parseApiKeys(`rateLimit: { max: 10, timeWindow: 1s }\n${doc}`, 'keys.yaml').defaultRateLimit).toEqual({ max: 10, timeWindowMs: 1000 });
  });

  it.each([
    ['a plain key instead of a hash', keysDoc('  - { id: ci, hash: "wal_abc", namespaces: [orders], roles: [write] }'), /keys.0.hash: expected "sha256:"/],
    ['an unknown role', keysDoc(`  - { id: ci, hash: "${ci.hash}", namespaces: [orders], roles: [root] }`), /keys.0.roles.0/],
    ['no namespaces', keysDoc(`  - { id: ci, hash: "${ci.hash}", namespaces: [], roles: [write] }`), /keys.0.namespaces/],
    ['an unknown field (a typo)', keysDoc(`  - { id: ci, hash: "${ci.hash}", namespace: [orders], roles: [write] }`), /keys.0/],
    ['an id listed twice', keysDoc(`  - { id: ci, hash: "${ci.hash}", namespaces: [a], roles: [write] }`, `  - { id: ci, hash: "${admin.hash}", namespaces: [b], roles: [write] }`), /'ci' is listed twice/],
    ['a bad time window', keysDoc(`  - { id: ci, hash: "${ci.hash}", namespaces: [a], roles: [write], rateLimit: { max: 1, timeWindow: soon } }`), /rateLimit.timeWindow "soon"/],
    ['text that is not YAML', 'keys: [', /not YAML or JSON/],
  ])('refuses %s, naming the source and the field', (_what, text, message) => {
    expect(() => parseApiKeys(text, 'keys.yaml')).toThrow(ApiKeysError);
    expect(() => parseApiKeys(text, 'keys.yaml')).toThrow(message);
    expect(() => parseApiKeys(text, 'keys.yaml')).toThrow(/^keys.yaml: /);
  });

  it('finds the key whose hash matches, and nothing for an unknown key or a hash sent as the key', () => {
    const { keys } = parseApiKeys(doc, 'keys.yaml');
    expect(findApiKey(keys, ci.key)?.id).toBe('ci');
    expect(findApiKey(keys, admin.key)?.id).toBe('ops');
    expect(findApiKey(keys, mintApiKey().key)).toBeUndefined();
    expect(findApiKey(keys, ci.hash)).toBeUndefined();
    expect(findApiKey(keys, '')).toBeUndefined();
  });

  it("lets a key write its namespaces, or every one with '*'", () => {
    const [ciKey, opsKey] = parseApiKeys(doc, 'keys.yaml').keys;
    expect([mayWrite(ciKey, 'orders'), mayWrite(ciKey, 'billing'), mayWrite(ciKey, 'payments')]).toEqual([true, true, false]);
    expect(mayWrite(opsKey, 'payments')).toBe(true);
  });

  it('loads --keys-file, else $WAL_API_KEYS_FILE, plus inline $WAL_API_KEYS; undefined when none is given', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-keys-'));
    try {
      const file = path.join(dir, 'keys.yaml');
      fs.writeFileSync(file, keysDoc(`  - { id: ci, hash: "${ci.hash}", namespaces: [orders], roles: [write] }`));
      const inline = JSON.stringify({ keys: [{ id: 'ops', hash: admin.hash, namespaces: ['*'], roles: ['admin'] }] });
      expect(loadApiKeys(undefined, {})).toBeUndefined();
      expect(loadApiKeys(file, {})?.keys.map((k) => k.id)).toEqual(['ci']);
      expect(loadApiKeys(undefined, { WAL_API_KEYS_FILE: file, WAL_API_KEYS: inline })?.keys.map((k) => k.id)).toEqual(['ci', 'ops']);
      expect(() => loadApiKeys(path.join(dir, 'missing.yaml'), {})).toThrow(/keys file .*missing.yaml: ENOENT/);
      expect(() => loadApiKeys(file, { WAL_API_KEYS: fs.readFileSync(file, 'utf8') })).toThrow(/key id 'ci' is in both/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints a keys-file line that parses back to the same key', () => {
    const line = keysFileEntry({ id: 'ci', hash: ci.hash, namespaces: ['orders'], roles: ['write'], rateLimit: { max: 100, timeWindow: '1m' } });
    expect(line).not.toContain(ci.key);
    const [key] = parseApiKeys(keysDoc(line), 'line').keys;
    expect(key).toMatchObject({ id: 'ci', namespaces: ['orders'], roles: ['write'], rateLimit: { max: 100, timeWindowMs: 60_000 } });
    expect(findApiKey([key], ci.key)?.id).toBe('ci');
  });
});

describe('HTTP API authentication helpers', () => {
  it('reads the key from Authorization: Bearer, else X-API-Key', () => {
    expect(presentedKey({ authorization: 'Bearer wal_abc' })).toBe('wal_abc');
    expect(presentedKey({ authorization: 'bearer   wal_abc ' })).toBe('wal_abc');
    expect(presentedKey({ 'x-api-key': 'wal_def' })).toBe('wal_def');
    expect(presentedKey({ authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': 'wal_def' })).toBe('wal_def');
    expect(presentedKey({ authorization: 'Basic dXNlcjpwYXNz' })).toBeUndefined();
    expect(presentedKey({ 'x-api-key': '  ' })).toBeUndefined();
    expect(presentedKey({})).toBeUndefined();
  });

  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['api.example.com', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopback(host)).toBe(loopback);
  });

  it('refuses a keyless non-loopback address unless --insecure; keys or loopback are always fine', () => {
    const keys = parseApiKeys(keysDoc(`  - { id: ci, hash: "${mintApiKey().hash}", namespaces: [orders], roles: [write] }`), 'k');
    expect(listenRefusal('0.0.0.0', undefined, false)).toMatch(/refusing to listen on 0.0.0.0 without API keys.*--insecure/);
    expect(listenRefusal('0.0.0.0', undefined, true)).toBeUndefined();
    expect(listenRefusal('0.0.0.0', keys, false)).toBeUndefined();
    expect(listenRefusal('127.0.0.1', undefined, false)).toBeUndefined();
  });

  it('keeps a sane x-request-id and replaces anything else (it goes into log lines) with a UUID', () => {
    expect(requestIdOf({ headers: { 'x-request-id': 'req-42.a:b' } })).toBe('req-42.a:b');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(requestIdOf({ headers: {} })).toMatch(uuid);
    expect(requestIdOf({ headers: { 'x-request-id': 'a\nforged log line' } })).toMatch(uuid);
    expect(requestIdOf({ headers: { 'x-request-id': 'x'.repeat(129) } })).toMatch(uuid);
  });
});
