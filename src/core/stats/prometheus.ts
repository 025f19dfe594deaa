/**
 * Prometheus series for the balancer, recorded into typed arrays and written in the text exposition format 0.0.4.
 *
 * Written by hand rather than with prom-client, although prom-client's Registry, Counter, Gauge and Histogram
 * do run on Node, Deno and Bun: (1) every prom-client recording call, even through a cached `labels()` child,
 * rebuilds a label-hash string and looks it up, so each request would allocate; here a request resolves its
 * server's series once (one Map lookup) and adds to preallocated Float64Arrays, with no sorting and no allocation
 * (see bench/metrics-recording.bench.ts for both); (2) prom-client's entry module loads its push gateway
 * (http, https, zlib) and default process metrics (perf_hooks, v8, fs) at import, which the core's
 * Web-standards-only rule forbids in spirit; (3) summing raw arrays across workers is simple, which
 * prom-client's cluster aggregator (node:cluster only) is not. The format itself is a few lines of text.
 */
import type { FailureKind, OutcomeSink, RequestOutcome, ServerIdentity } from './request-outcome.ts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** RFC 9110 §9.1 methods (case-sensitive); anything else counts as `other`, so a client cannot mint series. */
export const STANDARD_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
const METHOD_LABELS = [...STANDARD_METHODS, 'other'] as const;
const OTHER_METHOD = STANDARD_METHODS.length;
/** A switch rather than a Map: no hashing of a client-chosen string on the hot path. */
function methodIndex(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    case 'CONNECT':
      return 5;
    case 'OPTIONS':
      return 6;
    case 'TRACE':
      return 7;
    case 'PATCH':
      return 8;
    default:
      return OTHER_METHOD;
  }
}
const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const ERROR_KINDS = ['connect', 'timeout', 'reset', '5xx'] as const;
export type UpstreamErrorKind = (typeof ERROR_KINDS)[number];
const ERROR_INDEX: Record<FailureKind, number> = { connect: 0, timeout: 1, reset: 2 };
const FIVE_XX = 3;
const HEALTH_RESULTS = ['success', 'failure'] as const;
const QUEUE_REJECTIONS = ['full', 'timeout'] as const;
export type QueueRejection = (typeof QUEUE_REJECTIONS)[number];

/** 1 ms to 10 s, the 1-2.5-5 steps Prometheus client libraries use. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Requests Fairway answered itself (no healthy server, refused before selection) are counted under this server label. */
export const NO_SERVER_LABEL = 'none';

/** Label values are quoted strings: backslash, double quote and line feed must be escaped (exposition format 0.0.4). */
const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

class Histogram {
  /** Per-bucket counts, not cumulative; the +Inf bucket is `count`. */
  readonly buckets = new Float64Array(DURATION_BUCKETS_SECONDS.length);
  /** [sum, count] in a typed array: a double in a plain field may be boxed anew on every write. */
  readonly #totals = new Float64Array(2);

  get sum(): number {
    return this.#totals[0]!;
  }

  get count(): number {
    return this.#totals[1]!;
  }

  observe(seconds: number): void {
    this.#totals[0]! += seconds;
    this.#totals[1]!++;
    for (let i = 0; i < DURATION_BUCKETS_SECONDS.length; i++) {
      if (seconds <= DURATION_BUCKETS_SECONDS[i]!) {
        this.buckets[i]!++;
        return;
      }
    }
  }
}

const EJECTIONS = 0;
const BYTES_IN = 1;
const BYTES_OUT = 2;

/** Every counter of one server, allocated once when the server is first seen. */
class ServerSeries {
  /** Index: code class × method. */
  readonly requests = new Float64Array(CODE_CLASSES.length * METHOD_LABELS.length);
  readonly duration = new Histogram();
  readonly errors = new Float64Array(ERROR_KINDS.length);
  readonly healthChecks = new Float64Array(HEALTH_RESULTS.length);
  /** [ejections, bytes in, bytes out]. */
  readonly other = new Float64Array(3);
  /** `server="..."`, escaped once. */
  readonly label: string;

  constructor(url: string) {
    this.label = `server="${escapeLabel(url)}"`;
  }
}

/** Live values read at scrape time from the pool and the queue; nothing about them is recorded per request. */
export interface GaugeView {
  readonly servers: Iterable<{ readonly url: string; readonly inFlight: number; readonly healthy: boolean }>;
  readonly queueLength?: number;
}

export interface PrometheusOptions {
  /** With WORKERS>1, every series carries `worker="N"`, so that Prometheus' sum() across workers stays right. */
  readonly worker?: number | string;
  /** Process start, epoch milliseconds; defaults to now. */
  readonly startedAt?: number;
}

export class PrometheusMetrics implements OutcomeSink {
  readonly #servers = new Map<string, ServerSeries>();
  /**
   * Servers removed from the pool. A request or health probe still open at the removal ends after it (the pool removes
   * a server when its in-flight count reaches 0, before that request's outcome is recorded), and must not bring the
   * removed server's series back. By identity: a server added again under the same URL is a new object.
   */
  readonly #removed = new WeakSet<ServerIdentity>();
  readonly #noServer = new ServerSeries(NO_SERVER_LABEL);
  readonly #queueWait = new Histogram();
  readonly #queueRejections = new Float64Array(QUEUE_REJECTIONS.length);
  #retries = 0;
  /** `worker="N",` or ''; prefixed to every label set. */
  readonly #worker: string;
  readonly #startedAtSeconds: number;

  constructor(options: PrometheusOptions = {}) {
    this.#worker = options.worker === undefined ? '' : `worker="${escapeLabel(String(options.worker))}"`;
    this.#startedAtSeconds = (options.startedAt ?? Date.now()) / 1000;
  }

  #series(url: string): ServerSeries {
    let series = this.#servers.get(url);
    if (series === undefined) {
      series = new ServerSeries(url);
      this.#servers.set(url, series);
    }
    return series;
  }

  /** Registers a server so its zero-valued series appear before its first request (e.g. when added to the pool). */
  addServer(server: ServerIdentity): void {
    this.#removed.delete(server);
    this.#series(server.url);
  }

  /** Drops a removed server's series, so a pool that changes over time does not grow the scrape without bound. */
  removeServer(server: ServerIdentity): void {
    this.#servers.delete(server.url);
    this.#removed.add(server);
  }

  /** Once per request, from the lifecycle's single exit (through `recorder`). */
  record(o: RequestOutcome): void {
    if (o.attempts > 1) this.#retries += o.attempts - 1;
    const series = o.server === undefined ? this.#noServer : this.#seriesOf(o.server);
    if (series === undefined) return;
    const status = o.status;
    const codeClass = status >= 100 && status < 600 ? ((status / 100) | 0) - 1 : 4;
    series.requests[codeClass * METHOD_LABELS.length + methodIndex(o.method)]!++;
    series.duration.observe(o.totalMs / 1000);
    series.other[BYTES_IN]! += o.bytesIn;
    series.other[BYTES_OUT]! += o.bytesOut;
    if (o.failure !== undefined) series.errors[ERROR_INDEX[o.failure]]!++;
    else if (o.server !== undefined && !o.abandoned && status >= 500) series.errors[FIVE_XX]!++;
  }

  /** A server's series, made on first use; none for a server already removed from the pool. */
  #seriesOf(server: ServerIdentity): ServerSeries | undefined {
    if (this.#removed.has(server)) return undefined;
    return this.#servers.get(server.url) ?? this.#series(server.url);
  }

  recordHealthCheck(server: ServerIdentity, ok: boolean): void {
    const series = this.#seriesOf(server);
    if (series !== undefined) series.healthChecks[ok ? 0 : 1]!++;
  }

  /** Outlier ejection took the server out of rotation (fed by the resilience module). */
  recordEjection(server: ServerIdentity): void {
    const series = this.#seriesOf(server);
    if (series !== undefined) series.other[EJECTIONS]!++;
  }

  /** A request waited `ms` in the admission queue before it was served (fed by the queue, once it exists). */
  recordQueueWait(ms: number): void {
    this.#queueWait.observe(ms / 1000);
  }

  recordQueueRejection(reason: QueueRejection): void {
    this.#queueRejections[QUEUE_REJECTIONS.indexOf(reason)]!++;
  }

  /** The text exposition format 0.0.4, served at GET /lb/metrics with `PROMETHEUS_CONTENT_TYPE`. */
  render(view: GaugeView): string {
    const out: string[] = [];
    const w = this.#worker;
    /** `{worker="1",a="b"}`, `{a="b"}`, `{worker="1"}` or ''. */
    const labels = (...sets: string[]): string => {
      const all = [w, ...sets].filter((s) => s !== '').join(',');
      return all === '' ? '' : `{${all}}`;
    };
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const sample = (name: string, labelText: string, value: number) => out.push(`${name}${labelText} ${formatNumber(value)}`);
    const all = [...this.#servers.values()];
    const withNoServer = [...all, this.#noServer];

    family('fairway_requests_total', 'counter', 'Requests answered, by server, status class and method (non-standard methods count as other).');
    for (const s of withNoServer) {
      for (let c = 0; c < CODE_CLASSES.length; c++) {
        for (let m = 0; m < METHOD_LABELS.length; m++) {
          const n = s.requests[c * METHOD_LABELS.length + m]!;
          if (n > 0) sample('fairway_requests_total', labels(s.label, `code_class="${CODE_CLASSES[c]}"`, `method="${METHOD_LABELS[m]}"`), n);
        }
      }
    }

    family('fairway_request_duration_seconds', 'histogram', 'Time from request start until the response ended, by server.');
    for (const s of withNoServer) writeHistogram(out, 'fairway_request_duration_seconds', (le) => labels(s.label, le), s.duration);

    family('fairway_upstream_in_flight', 'gauge', 'Requests whose exchange with the server has not ended yet.');
    for (const s of view.servers) sample('fairway_upstream_in_flight', labels(`server="${escapeLabel(s.url)}"`), s.inFlight);

    family('fairway_upstream_up', 'gauge', '1 while the server is healthy and in rotation, else 0.');
    for (const s of view.servers) sample('fairway_upstream_up', labels(`server="${escapeLabel(s.url)}"`), s.healthy ? 1 : 0);

    family('fairway_upstream_errors_total', 'counter', 'Forwarding failures (connect, timeout, reset) and 5xx answers, by server.');
    for (const s of all) {
      for (let k = 0; k < ERROR_KINDS.length; k++) sample('fairway_upstream_errors_total', labels(s.label, `kind="${ERROR_KINDS[k]}"`), s.errors[k]!);
    }

    family('fairway_health_checks_total', 'counter', 'Active health probes, by server and result.');
    for (const s of all) {
      for (let r = 0; r < HEALTH_RESULTS.length; r++) {
        sample('fairway_health_checks_total', labels(s.label, `result="${HEALTH_RESULTS[r]}"`), s.healthChecks[r]!);
      }
    }

    family('fairway_upstream_received_bytes_total', 'counter', 'Request body bytes read from clients, by server.');
    for (const s of withNoServer) sample('fairway_upstream_received_bytes_total', labels(s.label), s.other[BYTES_IN]!);
    family('fairway_upstream_sent_bytes_total', 'counter', 'Response bytes sent to clients, by server.');
    for (const s of withNoServer) sample('fairway_upstream_sent_bytes_total', labels(s.label), s.other[BYTES_OUT]!);

    family('fairway_retries_total', 'counter', 'Forwarding attempts beyond the first.');
    sample('fairway_retries_total', labels(), this.#retries);

    family('fairway_ejections_total', 'counter', 'Times outlier detection took a server out of rotation.');
    for (const s of all) sample('fairway_ejections_total', labels(s.label), s.other[EJECTIONS]!);

    family('fairway_queue_length', 'gauge', 'Requests waiting for admission.');
    sample('fairway_queue_length', labels(), view.queueLength ?? 0);
    family('fairway_queue_wait_seconds', 'histogram', 'Time requests waited for admission.');
    writeHistogram(out, 'fairway_queue_wait_seconds', (le) => labels(le), this.#queueWait);
    family('fairway_queue_rejected_total', 'counter', 'Requests refused by the admission queue, by reason.');
    for (let r = 0; r < QUEUE_REJECTIONS.length; r++) {
      sample('fairway_queue_rejected_total', labels(`reason="${QUEUE_REJECTIONS[r]}"`), this.#queueRejections[r]!);
    }

    family('fairway_process_start_time_seconds', 'gauge', 'Start time of the process since the Unix epoch, in seconds.');
    sample('fairway_process_start_time_seconds', labels(), this.#startedAtSeconds);
    return `${out.join('\n')}\n`;
  }
}

function writeHistogram(out: string[], name: string, labels: (le: string) => string, h: Histogram): void {
  let cumulative = 0;
  for (let i = 0; i < DURATION_BUCKETS_SECONDS.length; i++) {
    cumulative += h.buckets[i]!;
    out.push(`${name}_bucket${labels(`le="${DURATION_BUCKETS_SECONDS[i]}"`)} ${cumulative}`);
  }
  out.push(`${name}_bucket${labels('le="+Inf"')} ${h.count}`);
  out.push(`${name}_sum${labels('')} ${formatNumber(h.sum)}`);
  out.push(`${name}_count${labels('')} ${h.count}`);
}

/** Go's ParseFloat (Prometheus' reader) accepts JavaScript's number text, exponents included; only the infinities differ. */
function formatNumber(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}
