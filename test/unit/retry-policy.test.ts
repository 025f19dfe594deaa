/** Retry decisions (what, which methods, bodies, limits), the retry budget, and replayable request bodies. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatusList } from '../../src/core/config/status-list.ts';
import { BodyLengthError, planRequestBody, readBodyUpTo } from '../../src/core/proxy/replayable-body.ts';
import { RetryBudget, RetryPolicy, type RetryQuestion, retryRule } from '../../src/core/proxy/retry-policy.ts';
import type { AttemptFailure } from '../../src/core/upstream/attempt-outcome.ts';

const statuses = (text: string) => {
  const parsed = parseStatusList(text);
  assert.ok(parsed.ok);
  return parsed.list;
};
const OPTIONS = { retries: 2, retryOnStatus: [], deadlineMs: 30_000 };
const failure = (f: AttemptFailure) => ({ kind: 'failure', failure: f }) as const;
const ask = (overrides: Partial<RetryQuestion> = {}): RetryQuestion => ({
  method: 'GET',
  outcome: failure('reset'),
  tries: 1,
  responseStarted: false,
  bodyReplayable: true,
  elapsedMs: 10,
  otherServerAvailable: true,
  ...overrides,
});

describe('which failures are retried', () => {
  test('refused, connect timeout, reset before the head and upstream timeout are retried for GET', () => {
    for (const f of ['connect_refused', 'connect_timeout', 'reset', 'upstream_timeout'] as const) {
      assert.equal(retryRule(ask({ outcome: failure(f) }), OPTIONS), undefined, f);
    }
  });

  test('client faults and requests Fairway could not send are never retried', () => {
    for (const f of ['client_fault', 'not_sent'] as const) assert.equal(retryRule(ask({ outcome: failure(f) }), OPTIONS), 'not_retryable', f);
  });

  test('nothing is retried once a response byte reached the client', () => {
    assert.equal(retryRule(ask({ responseStarted: true, outcome: failure('connect_refused') }), OPTIONS), 'response_started');
  });

  test('answers are final unless RETRY_ON_STATUS lists them, and then only for idempotent methods', () => {
    assert.equal(retryRule(ask({ outcome: { kind: 'response', status: 503 } }), OPTIONS), 'not_a_failure');
    const withStatus = { ...OPTIONS, retryOnStatus: statuses('502,503,504') };
    assert.equal(retryRule(ask({ outcome: { kind: 'response', status: 503 } }), withStatus), undefined);
    assert.equal(retryRule(ask({ outcome: { kind: 'response', status: 500 } }), withStatus), 'not_a_failure');
    assert.equal(retryRule(ask({ method: 'POST', outcome: { kind: 'response', status: 503 } }), withStatus), 'method_not_idempotent');
  });
});

describe('which methods are retried', () => {
  test('GET, HEAD, OPTIONS, PUT and DELETE are retried after a reset; POST, PATCH and lower-case get are not', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) assert.equal(retryRule(ask({ method }), OPTIONS), undefined, method);
    for (const method of ['POST', 'PATCH', 'get', 'LOCK']) assert.equal(retryRule(ask({ method }), OPTIONS), 'method_not_idempotent', method);
  });

  test('any method is retried when the request certainly never reached the server (refused, connect timeout)', () => {
    assert.equal(retryRule(ask({ method: 'POST', outcome: failure('connect_refused') }), OPTIONS), undefined);
    assert.equal(retryRule(ask({ method: 'PATCH', outcome: failure('connect_timeout') }), OPTIONS), undefined);
    assert.equal(retryRule(ask({ method: 'POST', outcome: failure('upstream_timeout') }), OPTIONS), 'method_not_idempotent');
  });

  test('a body that streamed cannot be replayed, even when the request never reached the server', () => {
    assert.equal(retryRule(ask({ method: 'POST', outcome: failure('connect_refused'), bodyReplayable: false }), OPTIONS), 'body_not_replayable');
  });
});

describe('limits', () => {
  test('RETRIES=2 allows a second and a third try, not a fourth', () => {
    assert.equal(retryRule(ask({ tries: 2 }), OPTIONS), undefined);
    assert.equal(retryRule(ask({ tries: 3 }), OPTIONS), 'retries_exhausted');
    assert.equal(retryRule(ask({ tries: 1 }), { ...OPTIONS, retries: 0 }), 'retries_exhausted');
  });

  test('no try starts once the overall deadline has passed; 0 means no overall deadline', () => {
    assert.equal(retryRule(ask({ elapsedMs: 30_000 }), OPTIONS), 'deadline_passed');
    assert.equal(retryRule(ask({ elapsedMs: 10_000_000 }), { ...OPTIONS, deadlineMs: 0 }), undefined);
  });

  test('a retry needs a server this request has not tried', () => {
    assert.equal(retryRule(ask({ otherServerAvailable: false }), OPTIONS), 'no_other_server');
  });

  test('the budget allows 20% of requests in flight as retries in flight, never fewer than the floor of 10', () => {
    const budget = new RetryBudget(20);
    assert.equal(budget.limit(0), 10);
    assert.equal(budget.limit(54), 10);
    assert.equal(budget.limit(100), 20);
    const tokens = Array.from({ length: 10 }, () => budget.tryAcquire(10));
    assert.ok(tokens.every((t) => t !== undefined));
    assert.equal(budget.tryAcquire(10), undefined, 'an eleventh retry fitted a budget of 10');
    tokens[0]!.release();
    tokens[0]!.release();
    assert.equal(budget.active, 9, 'a double release freed two places');
    assert.notEqual(budget.tryAcquire(10), undefined);
  });

  test('RetryPolicy.decide applies the rules first and spends budget only on a yes', () => {
    const policy = new RetryPolicy({ ...OPTIONS, budgetPercent: 20, budgetFloor: 1 });
    assert.deepEqual(policy.decide(ask({ method: 'POST' }), 1), { retry: false, reason: 'method_not_idempotent' });
    assert.equal(policy.budget.active, 0);
    const yes = policy.decide(ask(), 1);
    assert.equal(yes.retry, true);
    assert.deepEqual(policy.decide(ask(), 1), { retry: false, reason: 'budget_exhausted' });
    if (yes.retry) yes.token.release();
    assert.equal(policy.decide(ask(), 1).retry, true);
  });
});

const streamOf = (...chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });

describe('replayable request bodies', () => {
  test('a declared length up to RETRY_BUFFER_BYTES is buffered; larger, unlengthed or odd lengths stream', () => {
    assert.deepEqual(planRequestBody(false, null, 65_536), { kind: 'none' });
    assert.deepEqual(planRequestBody(true, '0', 65_536), { kind: 'none' });
    assert.deepEqual(planRequestBody(true, '65536', 65_536), { kind: 'buffer', length: 65_536 });
    assert.deepEqual(planRequestBody(true, '65537', 65_536), { kind: 'stream' });
    assert.deepEqual(planRequestBody(true, null, 65_536), { kind: 'stream' });
    assert.deepEqual(planRequestBody(true, '5, 5', 65_536), { kind: 'stream' });
  });

  test('readBodyUpTo joins the chunks into one array of the declared length', async () => {
    const body = await readBodyUpTo(streamOf('hel', 'lo ', 'world'), 11);
    assert.equal(new TextDecoder().decode(body), 'hello world');
    assert.equal(body.byteLength, 11);
  });

  test('readBodyUpTo stops and cancels the stream at the first byte beyond the declared length', async () => {
    let cancelled = false;
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(4));
      },
      cancel() {
        cancelled = true;
      },
    });
    await assert.rejects(readBodyUpTo(endless, 10), BodyLengthError);
    assert.equal(cancelled, true);
    assert.ok(pulls <= 4, `read ${pulls} chunks of an over-long body`);
  });

  test('readBodyUpTo rejects a body that ends before its declared length', async () => {
    await assert.rejects(readBodyUpTo(streamOf('abc'), 5), (error: unknown) => error instanceof BodyLengthError && error.received === 3);
  });
});
