/**
 * What a runtime cannot do, or does differently, by name, with the reason. The conformance suite reads
 * this table only: a case listed here either is skipped with this reason (`test(name, { skip })`) or
 * asserts the documented alternative behaviour instead (and fails if the runtime stops behaving that
 * way, so the table cannot go stale); nothing is skipped silently. The README carries the same table.
 */
import type { RuntimeName } from '../support/runtimes.ts';

export type LimitKey =
  | 'preserveHost'
  | 'identityUpstream'
  | 'injectsRequestHeaders'
  | 'doubleSlashTarget'
  | 'nonAsciiTarget'
  | 'headersWaitForBody'
  | 'lenientParsing'
  | 'malformed505'
  | 'connectClosed'
  | 'unknownMethod400'
  | 'unknownMethodClosed'
  | 'noPipelining'
  | 'fetchResendsIdempotent'
  | 'webSocketRefusalAs502'
  | 'webSocketClientCloseCodes'
  | 'webSocketOnly'
  | 'listenerOpenWhileTunnelsDrain'
  | 'reloadClosesWebSockets'
  | 'noHttp2'
  | 'noUpstreamInsecure'
  | 'noClientConnectionLimits'
  | 'getBody501'
  | 'unsolicited100'
  | 'drops304Length'
  | 'headContentLength'
  | 'longUrl'
  | 'expectContinueFirst';

export const RUNTIME_LIMITS: Readonly<Record<RuntimeName, Readonly<Partial<Record<LimitKey, string>>>>> = {
  node20: {
    connectClosed:
      "node:http hands a CONNECT request to a 'connect' listener and, as there is none, closes the connection without an answer; the request never reaches Fairway",
    unknownMethod400: "Node's parser does not know the method TRACK and answers 400 itself; the request never reaches Fairway",
    longUrl: "Node answers 431 itself to a request head over its maxHeaderSize (16 KiB), before any handler runs, so a very long URL never gets Fairway's 414",
    unsolicited100:
      "undici (Node's upstream client, 7.x) refuses an unsolicited 100 Continue from a server as a bad response, so Fairway answers 502 there; 102 and 103 are skipped",
  },
  node26: {
    connectClosed:
      "node:http hands a CONNECT request to a 'connect' listener and, as there is none, closes the connection without an answer; the request never reaches Fairway",
    unknownMethod400: "Node's parser does not know the method TRACK and answers 400 itself; the request never reaches Fairway",
    longUrl: "Node answers 431 itself to a request head over its maxHeaderSize (16 KiB), before any handler runs, so a very long URL never gets Fairway's 414",
    unsolicited100:
      "undici (Node's upstream client, 7.x) refuses an unsolicited 100 Continue from a server as a bad response, so Fairway answers 502 there; 102 and 103 are skipped",
  },
  deno: {
    preserveHost:
      "Deno's fetch ignores a Host header (a forbidden request header), so PRESERVE_HOST=true still sends the server's own host; the client's Host arrives only as X-Forwarded-Host",
    identityUpstream:
      "Deno's fetch decodes every compressed body unless the request asks for Accept-Encoding: identity, so on Deno Fairway asks servers for identity (the client's Accept-Encoding does not reach the server); a server that compresses anyway is passed through byte for byte",
    injectsRequestHeaders:
      "Deno's fetch adds User-Agent: Deno/<version>, Accept: */*, Accept-Language: * and Accept-Encoding: gzip,br upstream when the client sent none",
    nonAsciiTarget: "Deno's server accepts raw UTF-8 bytes in the target and percent-encodes them (WHATWG URL)",
    lenientParsing: "Deno's server accepts an HTTP/1.1 request without Host and bare-LF line endings, and the proxy forwards them",
    webSocketRefusalAs502:
      "Deno's and Bun's WebSocket clients report a refused handshake only as an error, with no status, headers or body: the client gets a 502 whose reason names the server's status",
    webSocketClientCloseCodes:
      "Deno's WebSocket client sends the server only close codes 1000 and 3000-4999 (WHATWG close()): a client's 1001, 1008 or 1011 reaches the server as 1000",
    webSocketOnly:
      'the message relay carries WebSocket only (Deno.upgradeWebSocket, server.upgrade); another Upgrade protocol is forwarded as a plain request, without the upgrade',
    reloadClosesWebSockets:
      "Deno.serve cannot change its certificate, so SIGHUP starts a new listener and shuts the old one down, and Deno's server.shutdown() sends 1001 to every WebSocket of the old listener at once (clients reconnect, to the new certificate); HTTP requests in flight finish",
    listenerOpenWhileTunnelsDrain:
      "Deno's server.shutdown() sends 1001 to every upgraded WebSocket at once, and nothing else stops Deno.serve accepting: while tunnels are open during the drain, the listener stays open and answers every new request with 503 and Connection: close, then shuts down once the last tunnel has ended",
    noUpstreamInsecure:
      "Deno's HTTP client has no option to skip certificate checks: UPSTREAM_TLS_INSECURE=true stops the start, pointing to Deno's --unsafely-ignore-certificate-errors flag",
    longUrl: "Deno's server answers 400 itself to a request head too large for it, before any handler runs, so a very long URL never gets Fairway's 414",
    expectContinueFirst:
      "Deno's server answers Expect: 100-continue with 100 Continue before the handler runs, so a body over MAX_REQUEST_BODY_BYTES is uploaded before the 413",
    drops304Length: 'Deno drops the Content-Length of a 304 response, which RFC 9110 §8.6 allows it to keep; the 304 is otherwise passed on with its headers',
    noClientConnectionLimits:
      'Deno.serve has no timeout options and gives no handle on a connection before its request head is complete or between requests, so CLIENT_HEADER_TIMEOUT_MS and CLIENT_KEEPALIVE_TIMEOUT_MS do not apply: an unfinished head or an idle keep-alive connection stays open (CLIENT_BODY_TIMEOUT_MS and UPSTREAM_READ_TIMEOUT_MS do apply)',
    getBody501: "Deno's fetch cannot send a body with GET or HEAD, so such a request gets 501 instead of having its body dropped",
  },
  bun: {
    longUrl: "Bun's server answers 431 itself to a request head too large for it, before any handler runs, so a very long URL never gets Fairway's 414",
    expectContinueFirst:
      "Bun's server answers Expect: 100-continue with 100 Continue before the handler runs, so a body over MAX_REQUEST_BODY_BYTES is uploaded before the 413",
    headContentLength: 'Bun.serve adds content-length: 0 to a HEAD response that had no Content-Length, whatever body the handler gives it',
    noClientConnectionLimits:
      "Bun.serve's idleTimeout (whole seconds, at most 255) never closes an idle keep-alive connection or an unfinished request head (Bun 1.4.5, measured), and Bun gives no handle on a connection before its request head is complete, so CLIENT_HEADER_TIMEOUT_MS and CLIENT_KEEPALIVE_TIMEOUT_MS do not apply: such connections stay open (CLIENT_BODY_TIMEOUT_MS and UPSTREAM_READ_TIMEOUT_MS do apply)",
    getBody501: "Bun's fetch cannot send a body with GET or HEAD, so such a request gets 501 instead of having its body dropped",
    injectsRequestHeaders: "Bun's fetch adds User-Agent: Bun/<version> and Accept: */* upstream when the client sent none",
    doubleSlashTarget: "Bun's server collapses leading slashes of the target, so `//host/path` is forwarded as `/host/path`",
    nonAsciiTarget: "Bun's server accepts raw UTF-8 bytes in the target and percent-encodes them (WHATWG URL)",
    malformed505:
      'Bun answers 505 HTTP Version Not Supported (not 400) to a request line it cannot split, such as a space inside the target or bare-LF line endings',
    unknownMethodClosed: "Bun's parser does not know the method TRACK and closes the connection without an answer; the request never reaches Fairway",
    noPipelining:
      "Bun.serve closes the connection, answering nothing, when a second request arrives on it while the handler for the first is still awaiting (uWS's HTTP_RESPONSE_PENDING check, Bun 1.4.5); the first request may already have reached the server",
    headersWaitForBody:
      "Bun.serve holds back the end of a streamed response's head until the first body chunk (it picks Content-Length or chunked then), so headers alone never reach the client",
    webSocketRefusalAs502:
      "Deno's and Bun's WebSocket clients report a refused handshake only as an error, with no status, headers or body: the client gets a 502 whose reason names the server's status",
    webSocketOnly:
      'the message relay carries WebSocket only (Deno.upgradeWebSocket, server.upgrade); another Upgrade protocol is forwarded as a plain request, without the upgrade',
    noHttp2: 'Bun.serve offers no ALPN protocol with TLS, so clients speak HTTP/1.1 to it, never h2',
    fetchResendsIdempotent:
      "Bun's fetch (1.4.5) resends a GET, HEAD, PUT, DELETE or OPTIONS with a buffered body itself, on a new connection to the same server, when a reused kept-alive connection closes before the response head, even after the server read the whole request; Fairway does not see it (no retry logged or counted, outside RETRIES and RETRY_BUDGET_PERCENT). Never a POST or PATCH, nor a streamed body (one over RETRY_BUFFER_BYTES or without a length)",
  },
};

/** The documented limitation or difference of `runtime` for `key`, or undefined when it has none. */
export function limit(runtime: { name: RuntimeName }, key: LimitKey): string | undefined {
  return RUNTIME_LIMITS[runtime.name][key];
}
