import { describe, expect, it } from 'vitest';
import { createAddressPolicy, isPublicAddress } from '../../src/domain/address-policy.js';

describe('address policy', () => {
  it('refuses literal loopback, private and metadata addresses and localhost names; allows public ones and other names', () => {
    const policy = createAddressPolicy([]);
    for (const host of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '[::1]', '[::ffff:127.0.0.1]', 'localhost', 'api.localhost']) {
      expect(policy.literalRefusal(host), host).toBeDefined();
    }
    for (const host of ['93.184.216.34', '[2606:4700::1111]', 'example.com']) expect(policy.literalRefusal(host), host).toBeUndefined();
  });

  it('allows listed hosts and CIDRs, and keeps refusing what is not listed', () => {
    const policy = createAddressPolicy([
      { kind: 'host', host: 'localhost' },
      { kind: 'cidr', address: '127.0.0.0', prefix: 8, family: 4 },
    ]);
    expect(policy.literalRefusal('localhost')).toBeUndefined();
    expect(policy.literalRefusal('127.0.0.1')).toBeUndefined();
    expect(policy.literalRefusal('10.0.0.1')).toBeDefined();
    expect(policy.refusal('svc.internal', '192.168.1.1')).toBeDefined();
  });

  it('answers the same way on every ask, also after more distinct hosts than it remembers', () => {
    const policy = createAddressPolicy([{ kind: 'cidr', address: '10.0.0.0', prefix: 24, family: 4 }]);
    const expected = (i: number) => (i % 3 === 0 ? undefined : 'refused');
    const hostOf = (i: number) => (i % 3 === 0 ? `10.0.0.${i % 256}` : `127.0.${(i >> 8) & 255}.${i & 255}`);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3000; i++) {
        const answer = policy.literalRefusal(hostOf(i));
        expect(answer === undefined ? undefined : 'refused', hostOf(i)).toBe(expected(i));
      }
    }
  });

  it('answers names longer than DNS allows without keeping them', () => {
    const policy = createAddressPolicy([]);
    const long = `${'a'.repeat(300)}.localhost`;
    expect(policy.literalRefusal(long)).toBeDefined();
    expect(policy.literalRefusal(long)).toBeDefined();
    expect(policy.literalRefusal(`${'a'.repeat(300)}.example.com`)).toBeUndefined();
  });

  it('isPublicAddress looks through IPv4-mapped and NAT64 addresses', () => {
    expect(isPublicAddress('::ffff:10.0.0.1')).toBe(false);
    expect(isPublicAddress('64:ff9b::7f00:1')).toBe(false);
    expect(isPublicAddress('::ffff:8.8.8.8')).toBe(true);
  });
});
