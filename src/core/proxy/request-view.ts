/** What selection reads about a request (hash key, sticky cookie, client address), over its headers as the client sent them. */
import type { RequestView } from '../selection/hash-key.ts';
import { plainAddress } from './forwarded-headers.ts';
import type { RequestHead } from './admission.ts';

/**
 * Header reads are remembered, so the view keeps answering what the client sent after the header rules have
 * rewritten `head.headers` for upstream (a retry chooses again with the same view; a hash on `Host` must not
 * change because PRESERVE_HOST=false removed it).
 *
 * The client address is the socket peer's, except with TRUST_PROXY=true: then it is the first (leftmost)
 * X-Forwarded-For address, the original client as HAProxy and nginx in front record it, so `HASH_KEY=ip`
 * keeps a user on one server behind them instead of hashing every request to the proxy's own address. Only a
 * trusted proxy's header is read; a client that forges the first address only chooses which server of the
 * pool it lands on, which any hash key allows.
 */
export function requestView(head: RequestHead, trustProxy: boolean): RequestView {
  return new HeadView(head, trustProxy);
}

/** A class rather than closures and a getter in an object literal: one object per request instead of four. */
class HeadView implements RequestView {
  readonly method: string;
  readonly target: string;
  readonly #head: RequestHead;
  readonly #trustProxy: boolean;
  // Made on the first read: most algorithms read no header at all.
  #seen: Map<string, string | null> | undefined = undefined;
  #address: string | undefined | null = null;

  constructor(head: RequestHead, trustProxy: boolean) {
    this.method = head.method;
    this.target = head.target;
    this.#head = head;
    this.#trustProxy = trustProxy;
  }

  header(name: string): string | null {
    const key = name.toLowerCase();
    const seen = this.#seen ??= new Map();
    let value = seen.get(key);
    if (value === undefined) {
      value = this.#head.headers.get(key);
      seen.set(key, value);
    }
    return value;
  }

  get clientAddress(): string | undefined {
    if (this.#address === null) this.#address = clientAddress((name) => this.header(name), this.#head.client.address, this.#trustProxy);
    return this.#address;
  }
}

function clientAddress(header: (name: string) => string | null, peer: string | undefined, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const first = (header('x-forwarded-for') ?? '').split(',', 1)[0]?.trim();
    if (first) return plainAddress(first);
  }
  return plainAddress(peer);
}
