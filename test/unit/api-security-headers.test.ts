import { helmetHeaders } from '../../src/api/security-headers';

describe('security headers', () => {
  it("are helmet's, taken once: CSP, HSTS, nosniff, frame options, and none of the server's own", () => {
    const headers = new Map(helmetHeaders());
    expect(headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('x-frame-options')).toBe('SAMEORIGIN');
    for (const own of ['content-type', 'content-length', 'date', 'connection']) expect(headers.has(own)).toBe(false);
  });
});
