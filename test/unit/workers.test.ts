/** Unit tests for the WORKERS helpers (src/core/workers/) and the supervisor with a fake launcher. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer } from '../../src/core/balancer.ts';
import { Supervisor, type WorkerExit, type WorkerLauncher, type WorkerProcess } from '../../src/core/workers/supervisor.ts';
import { LineSplitter } from '../../src/core/workers/line-splitter.ts';
import { readyLine } from '../../src/core/workers/ready-line.ts';
import { nextCrashCount, RESTART_MAX_MS, restartDelayMs, STABLE_AFTER_MS } from '../../src/core/workers/restart-backoff.ts';
import { resolveWorkerCount } from '../../src/core/workers/worker-count.ts';
import { parseWorkerId, WORKER_ID_VAR, workerIdentity } from '../../src/core/workers/worker-identity.ts';
import { workerRecord } from '../../src/core/workers/worker-log-record.ts';
import { parseWorkerLine } from '../../src/core/workers/worker-output.ts';
import { FakeUpstream, testConfig } from './fakes.ts';

describe('resolveWorkerCount', () => {
  test('a number is taken as it is', () => {
    assert.equal(resolveWorkerCount(1, 8), 1);
    assert.equal(resolveWorkerCount(3, 1), 3);
  });

  test('auto is one per logical CPU, at least 1 and at most 64', () => {
    assert.equal(resolveWorkerCount('auto', 2), 2);
    assert.equal(resolveWorkerCount('auto', 128), 64);
    assert.equal(resolveWorkerCount('auto', undefined), 1);
    assert.equal(resolveWorkerCount('auto', 0), 1);
    assert.equal(resolveWorkerCount('auto', Number.NaN), 1);
  });
});

describe('parseWorkerId', () => {
  test('unset or empty: not a worker', () => {
    assert.deepEqual(parseWorkerId(undefined), { ok: true, id: undefined });
    assert.deepEqual(parseWorkerId(''), { ok: true, id: undefined });
  });

  test('1 to 64 is a worker id', () => {
    assert.deepEqual(parseWorkerId('1'), { ok: true, id: 1 });
    assert.deepEqual(parseWorkerId('64'), { ok: true, id: 64 });
  });

  test('anything else is refused, naming the variable and the value', () => {
    for (const raw of ['0', '65', 'x', '1.5', ' 1']) {
      const result = parseWorkerId(raw);
      assert.equal(result.ok, false, raw);
      if (!result.ok) {
        assert.ok(result.message.includes(WORKER_ID_VAR), result.message);
        assert.ok(result.message.includes(JSON.stringify(raw)), result.message);
      }
    }
  });
});

describe('workerIdentity', () => {
  test('one process covers the whole of Fairway', () => {
    assert.deepEqual(workerIdentity(1, 1), { id: 1, count: 1, scope: 'whole process' });
  });

  test('with workers, the numbers cover this worker only', () => {
    assert.deepEqual(workerIdentity(2, 2), {
      id: 2,
      count: 2,
      scope: 'this worker only: each of the 2 workers keeps its own counts; connections are spread over them by the kernel',
    });
    assert.match(workerIdentity(1, 4, 'the supervisor, in turn').scope, /each of the 4 workers .* by the supervisor, in turn$/);
  });

  test('/lb/stats carries it, and defaults to the whole process', async () => {
    const servers = [{ url: 'http://127.0.0.1:1', weight: 1 }];
    const client = new FakeUpstream(() => new Response('ok'));
    const single = createBalancer(testConfig({ servers }), servers, client);
    assert.deepEqual(single.stats().worker, { id: 1, count: 1, scope: 'whole process' });
    const worker = createBalancer(testConfig({ servers }), servers, client, workerIdentity(2, 3));
    const body = (await (await worker.admin.fetch(new Request('http://fairway.invalid/lb/stats'))).json()) as {
      worker: unknown;
      totals: unknown;
      servers: unknown[];
    };
    assert.deepEqual(body.worker, workerIdentity(2, 3));
    assert.ok(body.totals && body.servers.length === 1, 'the rest of the document is unchanged');
  });
});

describe('worker output lines', () => {
  test('the readiness line round-trips and is not a log record', () => {
    assert.deepEqual(parseWorkerLine(readyLine(41234)), { kind: 'ready', port: 41234 });
    assert.ok(!readyLine(1).startsWith('{'));
  });

  test('a malformed readiness line is plain text', () => {
    const line = '@fairway-worker-ready {"port":"x"}';
    assert.deepEqual(parseWorkerLine(line), { kind: 'text', text: line });
  });

  test('a LogTape JSON line is a record; other JSON and plain text are text', () => {
    const record = {
      '@timestamp': '2026-01-02T03:04:05.678Z',
      level: 'WARN',
      message: 'Server "x" is unhealthy',
      logger: 'fairway.health',
      properties: { event: 'server_unhealthy' },
    };
    assert.deepEqual(parseWorkerLine(JSON.stringify(record)), { kind: 'record', record });
    assert.deepEqual(parseWorkerLine('{"a":1}'), { kind: 'text', text: '{"a":1}' });
    assert.deepEqual(parseWorkerLine('{not json'), { kind: 'text', text: '{not json' });
    assert.deepEqual(parseWorkerLine('Deno warning'), { kind: 'text', text: 'Deno warning' });
  });

  test('workerRecord keeps category, level, timestamp, message and properties, and adds the worker id', () => {
    const record = workerRecord(
      {
        '@timestamp': '2026-01-02T03:04:05.678Z',
        level: 'WARN',
        message: 'hello',
        logger: 'fairway.main',
        properties: { event: 'demo', n: 1 },
      },
      2,
    );
    assert.deepEqual(record, {
      category: ['fairway', 'main'],
      level: 'warning',
      timestamp: Date.parse('2026-01-02T03:04:05.678Z'),
      message: ['hello'],
      rawMessage: 'hello',
      properties: { event: 'demo', n: 1, worker: 2 },
    });
    for (const [json, level] of [['DEBUG', 'debug'], ['INFO', 'info'], ['ERROR', 'error'], ['FATAL', 'fatal'], ['TRACE', 'trace']]) {
      assert.equal(workerRecord({ '@timestamp': 'x', level: json!, message: '', logger: 'a' }, 1).level, level);
    }
    assert.deepEqual(workerRecord({ '@timestamp': 'x', level: 'INFO', message: '', logger: 'a' }, 1).properties, { worker: 1 });
  });
});

describe('LineSplitter', () => {
  test('joins lines split across chunks and keeps a partial line until it ends', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('ab'), []);
    assert.deepEqual(s.push('c\nde'), ['abc']);
    assert.deepEqual(s.push('f\r\n\ng'), ['def', '']);
    assert.deepEqual(s.end(), ['g']);
    assert.deepEqual(s.end(), []);
  });

  test('decodes UTF-8 split inside a character', () => {
    const bytes = new TextEncoder().encode('héllo ✓\n');
    const s = new LineSplitter();
    const out: string[] = [];
    for (const b of bytes) out.push(...s.push(new Uint8Array([b])));
    assert.deepEqual(out, ['héllo ✓']);
  });
});

describe('restart backoff', () => {
  test('doubles from 100 ms and never exceeds the cap', () => {
    assert.deepEqual([1, 2, 3, 4].map(restartDelayMs), [100, 200, 400, 800]);
    assert.equal(restartDelayMs(100), RESTART_MAX_MS);
    assert.equal(restartDelayMs(0), 100);
  });

  test('a worker that ran long enough starts the count over', () => {
    assert.equal(nextCrashCount(0, 10), 1);
    assert.equal(nextCrashCount(3, 10), 4);
    assert.equal(nextCrashCount(7, STABLE_AFTER_MS), 1);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The supervisor, driven through a fake launcher.

class FakeWorker implements WorkerProcess {
  readonly pid: number;
  readonly id: number;
  readonly env: Record<string, string>;
  readonly exited: Promise<WorkerExit>;
  stops = 0;
  kills = 0;
  #exit!: (exit: WorkerExit) => void;
  readonly #output: (chunk: Uint8Array | string) => void;
  /** Whether SIGTERM makes it exit (a stuck worker ignores it). */
  exitOnStop = true;

  constructor(pid: number, id: number, env: Record<string, string>, output: (chunk: Uint8Array | string) => void) {
    this.pid = pid;
    this.id = id;
    this.env = env;
    this.#output = output;
    this.exited = new Promise((resolve) => (this.#exit = resolve));
  }
  write(text: string): void {
    this.#output(text);
  }
  ready(port = 8080): void {
    this.write(readyLine(port) + '\n');
  }
  exit(exit: WorkerExit = { code: 1, signal: null }): void {
    this.#exit(exit);
  }
  stop(): void {
    this.stops++;
    if (this.exitOnStop) this.exit({ code: 0, signal: null });
  }
  kill(): void {
    this.kills++;
    this.exit({ code: null, signal: 'SIGKILL' });
  }
}

class FakeLauncher implements WorkerLauncher {
  readonly spreadBy = 'the kernel';
  readonly launched: FakeWorker[] = [];
  onLaunch: (w: FakeWorker) => void = () => {};
  #pid = 1000;
  reservePort(_hostname: string, port: number): Promise<number> {
    return Promise.resolve(port === 0 ? 40000 : port);
  }
  launch(worker: { id: number; env: Record<string, string>; onOutput(chunk: Uint8Array | string): void }): WorkerProcess {
    const w = new FakeWorker(++this.#pid, worker.id, worker.env, worker.onOutput);
    this.launched.push(w);
    queueMicrotask(() => this.onLaunch(w));
    return w;
  }
  /** The latest process started for worker `id`. */
  latest(id: number): FakeWorker {
    return this.launched.filter((w) => w.id === id).at(-1)!;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('Supervisor', () => {
  test('starts every worker with its id and resolves only once all of them report ready', async () => {
    const launcher = new FakeLauncher();
    const supervisor = new Supervisor({ count: 3, env: { PORT: '8080', X: 'y' }, launcher });
    let resolved = false;
    const started = supervisor.start().then((r) => ((resolved = true), r));
    await until(() => launcher.launched.length === 3, 'three launches');
    assert.deepEqual(launcher.launched.map((w) => w.env[WORKER_ID_VAR]), ['1', '2', '3']);
    assert.ok(launcher.launched.every((w) => w.env.X === 'y' && w.env.PORT === '8080'));
    launcher.latest(1).ready();
    // A readiness line split across two chunks still counts.
    const line = readyLine(8080) + '\n';
    launcher.latest(2).write(line.slice(0, 10));
    launcher.latest(2).write(line.slice(10));
    await sleep(20);
    assert.equal(resolved, false, 'not ready while worker 3 is not');
    launcher.latest(3).ready();
    assert.deepEqual(await started, { ok: true });
    assert.deepEqual(supervisor.pids, launcher.launched.map((w) => w.pid));
    await supervisor.stop();
    assert.ok(launcher.launched.every((w) => w.stops === 1));
  });

  test('a worker that exits before it listens fails the start and the others are stopped', async () => {
    const launcher = new FakeLauncher();
    const supervisor = new Supervisor({ count: 2, env: {}, launcher });
    launcher.onLaunch = (w) => (w.id === 1 ? w.ready() : w.exit({ code: 1, signal: null }));
    const result = await supervisor.start();
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.message, /worker 2 exited \(code 1\) before it was listening/);
    assert.equal(launcher.latest(1).stops, 1);
    assert.equal(launcher.launched.length, 2, 'no restart during startup');
  });

  test('a worker that does not report in time fails the start', async () => {
    const launcher = new FakeLauncher();
    const supervisor = new Supervisor({ count: 1, env: {}, launcher, startTimeoutMs: 50 });
    const result = await supervisor.start();
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.message, /within 50 ms/);
    assert.equal(launcher.latest(1).stops, 1);
  });

  test('a worker that dies after startup is restarted with the same id, after a delay', async () => {
    const launcher = new FakeLauncher();
    launcher.onLaunch = (w) => w.ready();
    const supervisor = new Supervisor({ count: 2, env: {}, launcher });
    assert.deepEqual(await supervisor.start(), { ok: true });
    const crashed = launcher.latest(2);
    const at = Date.now();
    crashed.exit({ code: null, signal: 'SIGKILL' });
    await until(() => launcher.launched.length === 3, 'a restart');
    assert.ok(Date.now() - at >= 90, `restarted after ${Date.now() - at} ms`);
    const restarted = launcher.latest(2);
    assert.notEqual(restarted.pid, crashed.pid);
    assert.equal(restarted.env[WORKER_ID_VAR], '2');
    await until(() => supervisor.pids.includes(restarted.pid), 'the new pid listed');
    assert.ok(!supervisor.pids.includes(crashed.pid));
    await supervisor.stop();
  });

  test('stop() prevents pending restarts and kills workers that outlast the grace period', async () => {
    const launcher = new FakeLauncher();
    launcher.onLaunch = (w) => w.ready();
    const supervisor = new Supervisor({ count: 2, env: {}, launcher, stopGraceMs: 50 });
    assert.deepEqual(await supervisor.start(), { ok: true });
    launcher.latest(1).exit();
    await sleep(10); // the restart is now pending
    launcher.latest(2).exitOnStop = false;
    await supervisor.stop();
    await sleep(150);
    assert.equal(launcher.launched.length, 2, 'no restart after stop');
    assert.equal(launcher.latest(2).stops, 1);
    assert.equal(launcher.latest(2).kills, 1);
    assert.equal(await supervisor.stop(), undefined, 'idempotent');
  });
});
