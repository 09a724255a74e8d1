import { describe, expect, it } from 'vitest';
import { findCycle, resolveDependencies, transitiveDependents, type GraphNode } from '../../src/domain/dependency-graph.js';

const node = (id: string, ...dependsOn: string[]): GraphNode => ({ id, dependsOn });

describe('resolveDependencies', () => {
  it('makes an omitted dependsOn the previous step and the first step depend on nothing', () => {
    expect(resolveDependencies([{ id: 'a' }, { id: 'b' }, { id: 'c' }])).toEqual([node('a'), node('b', 'a'), node('c', 'b')]);
  });

  it('keeps [] as no dependency and explicit lists as given', () => {
    expect(resolveDependencies([{ id: 'a' }, { id: 'b', dependsOn: [] }, { id: 'c', dependsOn: ['a', 'b'] }, { id: 'd', dependsOn: undefined }])).toEqual([
      node('a'),
      node('b'),
      node('c', 'a', 'b'),
      node('d', 'c'),
    ]);
  });

  it('lets the first step declare dependencies (validation rejects them later)', () => {
    expect(resolveDependencies([{ id: 'a', dependsOn: ['b'] }, { id: 'b' }])).toEqual([node('a', 'b'), node('b', 'a')]);
  });

  it('handles an empty list', () => {
    expect(resolveDependencies([])).toEqual([]);
  });
});

describe('findCycle', () => {
  it('is undefined for acyclic graphs: chain, diamond, disconnected, empty', () => {
    expect(findCycle([node('a'), node('b', 'a'), node('c', 'b')])).toBeUndefined();
    expect(findCycle([node('a'), node('b', 'a'), node('c', 'a'), node('d', 'b', 'c')])).toBeUndefined();
    expect(findCycle([node('a'), node('b'), node('c', 'a'), node('d', 'b')])).toBeUndefined();
    expect(findCycle([])).toBeUndefined();
  });

  it('finds a two-node cycle as a closed path', () => {
    expect(findCycle([node('a', 'b'), node('b', 'a')])).toEqual(['a', 'b', 'a']);
  });

  it('finds a self loop', () => {
    expect(findCycle([node('a', 'a')])).toEqual(['a', 'a']);
  });

  it('finds a three-node cycle in run order (each id runs before the next)', () => {
    // a needs c, b needs a, c needs b: a -> b -> c -> a.
    expect(findCycle([node('a', 'c'), node('b', 'a'), node('c', 'b')])).toEqual(['a', 'b', 'c', 'a']);
  });

  it('reports only the cycle, not the path that leads into it', () => {
    const cycle = findCycle([node('root'), node('x', 'root', 'y'), node('y', 'z'), node('z', 'y')]);
    expect(cycle).toBeDefined();
    expect(cycle![0]).toBe(cycle!.at(-1));
    expect(new Set(cycle)).toEqual(new Set(['y', 'z']));
  });

  it('finds a cycle in a component disconnected from the first nodes', () => {
    const cycle = findCycle([node('a'), node('b', 'a'), node('p', 'r'), node('q', 'p'), node('r', 'q')]);
    expect(cycle).toHaveLength(4);
    expect(new Set(cycle)).toEqual(new Set(['p', 'q', 'r']));
  });

  it('ignores dependencies on unknown ids', () => {
    expect(findCycle([node('a', 'ghost'), node('b', 'a')])).toBeUndefined();
  });

  it('handles a chain far longer than the 200-step limit', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => (i === 0 ? node('s0') : node(`s${i}`, `s${i - 1}`)));
    expect(findCycle(nodes)).toBeUndefined();
    nodes[0] = node('s0', 's999');
    expect(findCycle(nodes)).toHaveLength(1001);
  });
});

describe('transitiveDependents', () => {
  const chain = [node('a'), node('b', 'a'), node('c', 'b'), node('d', 'c')];
  const diamond = [node('top'), node('left', 'top'), node('right', 'top'), node('bottom', 'left', 'right'), node('after', 'bottom')];

  it('follows a chain to its end, roots excluded', () => {
    expect(transitiveDependents(chain, ['a'])).toEqual(['b', 'c', 'd']);
    expect(transitiveDependents(chain, ['c'])).toEqual(['d']);
    expect(transitiveDependents(chain, ['d'])).toEqual([]);
  });

  it('lists each diamond node once, in plan order', () => {
    expect(transitiveDependents(diamond, ['top'])).toEqual(['left', 'right', 'bottom', 'after']);
    expect(transitiveDependents(diamond, ['right'])).toEqual(['bottom', 'after']);
  });

  it('does not touch disconnected components', () => {
    const nodes = [...chain, node('x'), node('y', 'x')];
    expect(transitiveDependents(nodes, ['a'])).toEqual(['b', 'c', 'd']);
    expect(transitiveDependents(nodes, ['x'])).toEqual(['y']);
  });

  it('unions several roots and excludes a root that depends on another root', () => {
    expect(transitiveDependents(chain, ['b', 'a'])).toEqual(['c', 'd']);
    expect(transitiveDependents([...chain, node('x'), node('y', 'x')], ['c', 'x'])).toEqual(['d', 'y']);
  });

  it('is empty for an unknown root or no roots', () => {
    expect(transitiveDependents(chain, ['ghost'])).toEqual([]);
    expect(transitiveDependents(chain, [])).toEqual([]);
  });

  it('terminates on a cyclic graph', () => {
    expect(transitiveDependents([node('a', 'c'), node('b', 'a'), node('c', 'b')], ['a'])).toEqual(['b', 'c']);
  });
});
