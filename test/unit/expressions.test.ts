import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EXPRESSION_LIMITS,
  ExpressionError,
  compileExpression,
  containsExpression,
  expressionBody,
  findExpressions,
  renderTemplate,
  type ExpressionBindings,
} from '../../src/domain/expressions.js';

const bindings: ExpressionBindings = {
  input: { amount: 100, tokens: ['eth', 'btc'] },
  steps: { quote: { output: { body: { id: 'q-7', price: 1.5 } } } },
  flow: { id: 'flow-1', name: 'swap', labels: { team: 'defi' } },
  step: { id: 'lend', attempt: 3 },
  error: { errorType: 'validation', message: 'slippage too high', httpStatus: 422 },
};

async function failure(promise: Promise<unknown>): Promise<ExpressionError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError);
    return error as ExpressionError;
  }
  throw new Error('expected an ExpressionError');
}

describe('expressionBody / findExpressions / containsExpression', () => {
  it('recognises only strings of the exact form {% ... %}', () => {
    expect(expressionBody('{% $input.a %}')).toBe(' $input.a ');
    expect(expressionBody('{%\n1\n%}')).toBe('\n1\n');
    for (const value of [' {% 1 %}', '{% 1 %} ', 'a {% 1 %}', '{% 1', '1 %}', '{ % 1 % }', 42, null, { a: '{% 1 %}' }]) {
      expect(expressionBody(value)).toBeUndefined();
    }
  });

  it('lists every expression with its JSON path', () => {
    const value = { a: '{% 1 %}', b: ['x', '{% 2 %}', { c: '{% 3 %}' }], d: 'plain' };
    expect([...findExpressions(value, '$.steps[0]')]).toEqual([
      { path: '$.steps[0].a', body: ' 1 ' },
      { path: '$.steps[0].b[1]', body: ' 2 ' },
      { path: '$.steps[0].b[2].c', body: ' 3 ' },
    ]);
    expect(containsExpression(value)).toBe(true);
    expect(containsExpression({ a: ['plain', 1, null, { b: '{ %x% }' }] })).toBe(false);
  });

  it('agrees with a plain recursive walk on generated values, paths and order included', () => {
    /** The reference: the path of every node formatted on the way down. */
    const reference = (value: unknown, path: string): { path: string; body: string }[] => {
      const body = expressionBody(value);
      if (body !== undefined) return [{ path, body }];
      if (Array.isArray(value)) return value.flatMap((item, i) => reference(item, `${path}[${i}]`));
      if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => reference(item, `${path}.${key}`));
      return [];
    };
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const generate = (depth: number): unknown => {
      const r = random();
      if (depth === 0 || r < 0.3) return [`{% ${Math.floor(random() * 9)} %}`, 'plain', 42, null, true, '{%%}', ' {% 1 %}'][Math.floor(random() * 7)];
      if (r < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => generate(depth - 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, (_, i) => [['a', 'b.c', 'd e', ''][i]!, generate(depth - 1)]));
    };
    for (let i = 0; i < 500; i++) {
      const value = generate(5);
      const expected = reference(value, '$.x');
      expect(findExpressions(value, '$.x')).toEqual(expected);
      expect(containsExpression(value)).toBe(expected.length > 0);
    }
  });
});

describe('compileExpression', () => {
  it('throws ExpressionError carrying the path on a syntax error', () => {
    let caught: unknown;
    try {
      compileExpression('$input.amount +', 'request.body.amount');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ExpressionError);
    expect((caught as ExpressionError).path).toBe('request.body.amount');
    expect((caught as ExpressionError).message).toMatch(/^invalid expression: /);
  });

  it.each(['$contains($input.s, /(?<=a)b/)', '$input.items[$match(name, /(a)\\1/)]', '($f := function($x) { $replace($x, /(?!x)y/, "") }; $f("y"))'])(
    'refuses at compile time a regex literal RE2 cannot run: %s',
    (body) => {
      expect(() => compileExpression(body, 'p')).toThrow(ExpressionError);
      expect(() => compileExpression(body, 'p')).toThrow(/^invalid expression: regex \//);
    },
  );

  it('returns the cached compilation for the same body and limits', () => {
    expect(compileExpression('1 + 1')).toBe(compileExpression('1 + 1'));
    expect(compileExpression('1 + 1')).not.toBe(compileExpression('1 + 1', '', { ...DEFAULT_EXPRESSION_LIMITS, timeoutMs: 55 }));
  });
});

describe('renderTemplate', () => {
  it('binds $input, $steps, $flow, $step and $error', async () => {
    const template = {
      amount: '{% $input.amount * 2 %}',
      quoteId: '{% $steps.quote.output.body.id %}',
      flow: '{% $flow.id & "/" & $flow.name & "/" & $flow.labels.team %}',
      attempt: '{% $step.attempt %}',
      stepId: '{% $step.id %}',
      error: '{% $error.errorType & ":" & $string($error.httpStatus) %}',
    };
    expect(await renderTemplate(template, bindings)).toEqual({
      amount: 200,
      quoteId: 'q-7',
      flow: 'flow-1/swap/defi',
      attempt: 3,
      stepId: 'lend',
      error: 'validation:422',
    });
  });

  it('evaluates the expression context as $input too', async () => {
    expect(await renderTemplate('{% amount + 1 %}', bindings)).toBe(101);
  });

  it('renders inside nested objects and arrays and leaves other values untouched', async () => {
    const template = {
      method: 'POST',
      headers: { 'x-flow': '{% $flow.id %}', 'x-fixed': 'a {% b %}' },
      body: { list: [1, '{% $input.tokens[1] %}', [true, '{% $step.attempt + 1 %}'], null], percent: '100%}', brace: '{%' },
    };
    expect(await renderTemplate(template, bindings)).toEqual({
      method: 'POST',
      headers: { 'x-flow': 'flow-1', 'x-fixed': 'a {% b %}' },
      body: { list: [1, 'btc', [true, 4], null], percent: '100%}', brace: '{%' },
    });
  });

  it('returns expression-free values as they are', async () => {
    const template = { a: ['x', { b: 2 }] };
    expect(await renderTemplate(template, bindings)).toBe(template);
  });

  it('does not mutate the template', async () => {
    const template = { a: '{% $input.amount %}', b: ['{% 1 %}'] };
    await renderTemplate(template, bindings);
    expect(template).toEqual({ a: '{% $input.amount %}', b: ['{% 1 %}'] });
  });

  it('normalises JSONata results to plain JSON', async () => {
    expect(await renderTemplate('{% $input.missing %}', bindings)).toBeNull();
    expect(await renderTemplate({ s: '{% $input.amount[] %}', m: '{% $map([1, 2], function($v) { $v * 2 }) %}' }, bindings)).toEqual({ s: [100], m: [2, 4] });
    const out = await renderTemplate({ gone: '{% $input.missing %}', kept: 1 }, bindings);
    expect(out).toEqual({ kept: 1 });
  });

  it('throws ExpressionError with the path of the failing expression', async () => {
    const error = await failure(renderTemplate({ body: { items: ['ok', { n: '{% 1 + "a" %}' }] } }, bindings, 'request'));
    expect(error.path).toBe('request.body.items[1].n');
    expect(error.message).toMatch(/^expression failed: T2002/);
  });

  it("leaves JSONata's $error() callable when no $error is bound", async () => {
    const { error: _bound, ...withoutError } = bindings;
    const error = await failure(renderTemplate({ x: '{% $error("custom failure") %}' }, withoutError, 'out'));
    expect(error.path).toBe('out.x');
    expect(error.message).toContain('custom failure');
  });

  it('builds paths from the root when no base path is given', async () => {
    const error = await failure(renderTemplate({ a: { b: '{% $nope(1) %}' } }, bindings));
    expect(error.path).toBe('a.b');
  });

  it('stops non-terminating (tail) recursion well within a second', () => {
    // Run in a child process: without a working time bound this loop never
    // yields to the event loop, so an in-process test would hang, not fail.
    const script = `
      const { renderTemplate, ExpressionError } = await import(process.argv[1]);
      const bindings = { input: {}, steps: {}, flow: { id: 'f', name: 'n', labels: {} }, step: { id: 's', attempt: 1 } };
      const started = Date.now();
      try {
        await renderTemplate({ x: '{% ($f := function($x) { $f($x + 1) }; $f(0)) %}' }, bindings, 'body');
        console.log(JSON.stringify({ resolved: true }));
      } catch (e) {
        console.log(JSON.stringify({ expressionError: e instanceof ExpressionError, path: e.path, message: e.message, ms: Date.now() - started }));
      }`;
    const source = fileURLToPath(new URL('../../src/domain/expressions.ts', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, source], { encoding: 'utf8', timeout: 15_000 });
    expect(child.signal, 'the evaluation hung and was killed').toBeNull();
    expect(child.status, child.stderr).toBe(0);
    const result = JSON.parse(child.stdout.trim()) as { expressionError?: boolean; path?: string; message?: string; ms?: number };
    expect(result).toMatchObject({ expressionError: true, path: 'body.x' });
    expect(result.message).toMatch(/D1012|timeout/i);
    expect(result.ms).toBeLessThan(1000);
  });

  it('stops deep non-tail recursion by stack depth', async () => {
    const started = Date.now();
    const error = await failure(renderTemplate('{% ($f := function($x) { $x = 0 ? 0 : 1 + $f($x - 1) }; $f(100000)) %}', bindings));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error.message).toMatch(/D1011|stack/i);
  });

  it('bounds sequence length', async () => {
    const limits = { ...DEFAULT_EXPRESSION_LIMITS, sequenceLength: 10 };
    expect(await renderTemplate('{% $count([1..10]) %}', bindings, '', limits)).toBe(10);
    const error = await failure(renderTemplate('{% $count([1..11]) %}', bindings, 'seq', limits));
    expect(error.message).toMatch(/D2015/);
  });

  it('rejects results larger than limits.resultBytes', async () => {
    const limits = { ...DEFAULT_EXPRESSION_LIMITS, resultBytes: 1000 };
    expect(await renderTemplate({ s: '{% $pad("", 900) %}' }, bindings, 'p', limits)).toEqual({ s: ' '.repeat(900) });
    const error = await failure(renderTemplate({ s: '{% $pad("", 2000) %}' }, bindings, 'p', limits));
    expect(error.path).toBe('p');
    expect(error.message).toContain('1000 bytes');
  });

  it('runs regex literals on RE2', async () => {
    expect(await renderTemplate('{% $contains("aaa", /a+/) %}', bindings)).toBe(true);
    expect(await renderTemplate('{% $contains("bbb", /a+/) %}', bindings)).toBe(false);
    expect(await renderTemplate('{% $replace("a1b22", /[0-9]+/, "#") %}', bindings)).toBe('a#b#');
    // A backreference is valid JavaScript but not RE2: only RE2 rejects it.
    const error = await failure(renderTemplate('{% $contains("aa", /(a)\\1/) %}', bindings, 'r'));
    expect(error.path).toBe('r');
  });

  it('matches a catastrophic-backtracking regex in linear time', async () => {
    const started = Date.now();
    // 27 a's and a '!' take JavaScript's backtracking engine several seconds.
    const input = { ...bindings, input: { s: `${'a'.repeat(27)}!` } };
    expect(await renderTemplate('{% $contains($input.s, /^(a+)+$/) %}', input)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
