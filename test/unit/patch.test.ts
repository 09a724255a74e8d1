import { describe, expect, it } from 'vitest';
import { applyPatch } from '../../src/domain/patch.js';

const step = () => ({
  kind: 'http',
  timeoutMs: 5000,
  request: { method: 'POST', url: 'https://api.example/q', headers: { a: '1' }, body: { amount: 100, route: ['x', 'y'] } },
});

describe('applyPatch', () => {
  it('sets nested dotted paths and keeps siblings', () => {
    const out = applyPatch(step(), { 'request.body.amount': 50, 'request.headers.b': '2', timeoutMs: 100 });
    expect(out).toEqual({
      kind: 'http',
      timeoutMs: 100,
      request: { method: 'POST', url: 'https://api.example/q', headers: { a: '1', b: '2' }, body: { amount: 50, route: ['x', 'y'] } },
    });
  });

  it('creates missing intermediate objects', () => {
    expect(applyPatch({ kind: 'task' }, { 'task.input.deep.er': true })).toEqual({ kind: 'task', task: { input: { deep: { er: true } } } });
  });

  it('replaces non-object intermediates (scalars, null, arrays) by objects', () => {
    const out = applyPatch({ a: 1, b: null, c: [1, 2] } as Record<string, unknown>, { 'a.x': 1, 'b.y': 2, 'c.z': 3 });
    expect(out).toEqual({ a: { x: 1 }, b: { y: 2 }, c: { z: 3 } });
  });

  it('replaces whole values, objects included', () => {
    expect(applyPatch(step(), { 'request.body': { only: true } }).request.body).toEqual({ only: true });
  });

  it('applies paths in order, later ones over earlier ones', () => {
    expect(applyPatch({}, { 'a.b': 1, a: 2 })).toEqual({ a: 2 });
    expect(applyPatch({}, { a: 2, 'a.b': 1 })).toEqual({ a: { b: 1 } });
  });

  it('never mutates the target or the patch values', () => {
    const target = step();
    const before = structuredClone(target);
    const value = { nested: [1, { n: 2 }] };
    const out = applyPatch(target, { 'request.body.amount': 1, 'request.body.extra': value, 'request.new.x': 1 });
    expect(target).toEqual(before);
    expect(out.request.body).not.toBe(target.request.body);
    expect(out.request.body.route).not.toBe(target.request.body.route);
    value.nested.push(3);
    expect((out.request.body as Record<string, unknown>).extra).toEqual({ nested: [1, { n: 2 }] });
  });

  it('returns an equal copy for an empty patch', () => {
    const target = step();
    const out = applyPatch(target, {});
    expect(out).toEqual(target);
    expect(out).not.toBe(target);
  });

  it.each(['__proto__.polluted', 'request.__proto__.polluted', 'constructor.prototype.polluted', 'request.constructor.polluted', 'prototype.polluted'])(
    'ignores the forbidden path %s',
    (path) => {
      const target = step();
      const out = applyPatch(target, { [path]: 'yes', 'request.body.amount': 7 });
      expect(out.request.body.amount).toBe(7);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
      expect(JSON.stringify(out)).not.toContain('polluted');
      expect(Object.getPrototypeOf(out.request)).toBe(Object.prototype);
    },
  );

  it('ignores paths with empty segments', () => {
    expect(applyPatch({ a: { b: 1 } }, { 'a..b': 2, '': 3, 'a.': 4, '.a': 5 })).toEqual({ a: { b: 1 } });
  });
});
