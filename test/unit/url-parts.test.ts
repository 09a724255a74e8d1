// urlParts remembers what the executor reads off a URL; its answers must be
// those of a fresh parse, for each URL, however many distinct URLs pass.
import { describe, expect, it } from 'vitest';
import { urlParts } from '../../src/domain/url-parts.js';

function fresh(url: string) {
  try {
    const u = new URL(url);
    return { protocol: u.protocol, host: u.host, hostname: u.hostname, hasCredentials: u.username !== '' || u.password !== '' };
  } catch {
    return undefined;
  }
}

const SAMPLES = [
  'http://127.0.0.1:8080/op',
  'https://api.example.com/charge?x=1',
  'https://user:secret@api.example.com/',
  'https://:secret@api.example.com/',
  'http://[::1]:9000/x',
  'HTTP://EXAMPLE.com:80/',
  'file:///etc/passwd',
  'not a url',
  '',
  'http://',
  `https://${'a'.repeat(300)}.example.com/`,
];

describe('urlParts', () => {
  it('answers as a fresh parse, first and later times', () => {
    for (let round = 0; round < 2; round++) for (const url of SAMPLES) expect(urlParts(url), url).toEqual(fresh(url));
  });

  it('stays right once more distinct URLs have passed than it remembers', () => {
    for (let i = 0; i < 3000; i++) {
      const url = `https://h${i % 1500}.example.com:${1000 + i}/p`;
      expect(urlParts(url)).toEqual(fresh(url));
    }
    for (const url of SAMPLES) expect(urlParts(url), url).toEqual(fresh(url));
  });
});
