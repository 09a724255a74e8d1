// The address policy for http steps and webhooks: literal private targets are
// 422 at submission; names that resolve to private addresses fail the attempt
// as a non-retryable validation error; listed hosts and CIDRs are allowed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let up: Upstream;
const port = () => new URL(up.url).port;
/** A resolver standing in for DNS: names of the test's choosing resolve to loopback. */
const resolve = async (hostname: string) => {
  if (hostname.endsWith('.internal.test') || hostname === 'rebind.example') return [{ address: '127.0.0.1', family: 4 }];
  if (hostname === 'metadata.test') return [{ address: '169.254.169.254', family: 4 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
};

beforeAll(async () => {
  up = await startUpstream();
  up.on('/x', () => ({ body: { reached: true } }));
});
afterAll(async () => up.close());

describe('address policy: nothing allowed', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { HTTP_ALLOWED_HOSTS: '' }, executor: { resolve } });
  });
  afterAll(async () => h.close());

  it.each(['http://127.0.0.1:80/x', 'http://10.1.2.3/x', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]:8080/x', 'http://localhost:3000/x', 'http://0.0.0.0/x', 'http://[::ffff:127.0.0.1]/x', 'http://192.168.1.1/x', 'http://[fd00::1]/x'])(
    'refuses the literal URL %s with 422 at submission',
    async (url) => {
      const res = await h.submit({ name: 'ssrf', steps: [{ id: 's', kind: 'http', request: { url } }] });
      expect(res.statusCode).toBe(422);
      const body = res.body as unknown as { errors: { path: string; message: string }[] };
      expect(body.errors[0]!.path).toBe('$.steps[0].request.url');
      expect(body.errors[0]!.message).toMatch(/HTTP_ALLOWED_HOSTS/);
    },
  );

  it('refuses literal private URLs in fallbacks, compensations and notify.url too', async () => {
    const fallback = await h.submit({ name: 'f', steps: [{ id: 's', kind: 'http', request: { url: 'https://api.example.com/' }, fallbacks: [{ id: 'b', kind: 'http', request: { url: 'http://10.0.0.1/' } }] }] });
    expect(fallback.statusCode).toBe(422);
    const comp = await h.submit({ name: 'c', steps: [{ id: 's', kind: 'noop', compensate: { kind: 'http', request: { url: 'http://127.0.0.1/undo' } } }] });
    expect(comp.statusCode).toBe(422);
    const notify = await h.submit({ name: 'n', notify: { url: 'http://169.254.169.254/hook' }, steps: [{ id: 's', kind: 'noop' }] });
    expect(notify.statusCode).toBe(422);
  });

  it('fails a step whose host name resolves to a private address: validation, not retryable, clear message, never connected', async () => {
    const before = up.requests.length;
    const res = await h.submit(
      { name: 'resolved', steps: [{ id: 's', kind: 'http', request: { url: `http://svc.internal.test:${port()}/x` }, retry: { maxAttempts: 3, baseDelayMs: 10 } }] },
      { waitMs: 10_000 },
    );
    expect(res.body.status).toBe('failed');
    expect(res.body.steps[0]).toMatchObject({ attempts: 1, error: { errorType: 'validation', retryable: false, code: 'ERR_ADDRESS_REFUSED' } });
    expect(String(res.body.steps[0]!.error!.message)).toMatch(/127\.0\.0\.1.*not public.*HTTP_ALLOWED_HOSTS/);
    expect(up.requests.length).toBe(before);
    const metadata = await h.submit({ name: 'meta', steps: [{ id: 's', kind: 'http', request: { url: 'http://metadata.test/latest' } }] }, { waitMs: 10_000 });
    expect(String(metadata.body.steps[0]!.error!.message)).toContain('169.254.169.254');
  });

  it('checks URLs built by expressions when the attempt runs', async () => {
    const res = await h.submit({ name: 'expr', input: { host: '127.0.0.1' }, steps: [{ id: 's', kind: 'http', request: { url: `{% "http://" & $input.host & ":${port()}/x" %}` } }] }, { waitMs: 10_000 });
    expect(res.body.steps[0]).toMatchObject({ status: 'failed', error: { errorType: 'validation', code: 'ERR_ADDRESS_REFUSED' } });
  });
});

describe('address policy: listed hosts and CIDRs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { HTTP_ALLOWED_HOSTS: 'svc.internal.test,127.0.0.0/8' }, executor: { resolve } });
  });
  afterAll(async () => h.close());

  it('allows a listed host name and a literal address in a listed CIDR', async () => {
    const byName = await h.submit({ name: 'named', steps: [{ id: 's', kind: 'http', request: { url: `http://svc.internal.test:${port()}/x` } }] }, { waitMs: 10_000 });
    expect(byName.body.status).toBe('completed');
    const byCidr = await h.submit({ name: 'cidr', steps: [{ id: 's', kind: 'http', request: { url: `http://127.0.0.1:${port()}/x` } }] }, { waitMs: 10_000 });
    expect(byCidr.body.status).toBe('completed');
    const viaCidr = await h.submit({ name: 'other-name', steps: [{ id: 's', kind: 'http', request: { url: `http://other.internal.test:${port()}/x` } }] }, { waitMs: 10_000 });
    expect(viaCidr.body.status).toBe('completed');
    expect((await h.submit({ name: 'still', steps: [{ id: 's', kind: 'http', request: { url: 'http://10.0.0.1/x' } }] })).statusCode).toBe(422);
  });
});
