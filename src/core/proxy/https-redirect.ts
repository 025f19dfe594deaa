/** The HTTP_REDIRECT_PORT listener's one answer: a 308 to the same host, path and query over HTTPS on PORT. */
import { checkHost } from './host.ts';
import { errorResponse } from './json-error.ts';

/**
 * The redirect for a plain-HTTP request (RFC 9110 §15.4.9: 308 keeps the method and body, unlike 301). The
 * Location keeps the client's own host name with the HTTPS port, and the request's path and query byte for
 * byte. A Host that is not a plain host name gets 400 rather than being copied into a Location header.
 */
export function httpsRedirect(host: string | null, target: string, httpsPort: number): Response {
  const checked = checkHost(host === null ? [] : [host], '1.1');
  if (!checked.ok || checked.host === undefined) {
    const reason = checked.ok ? 'the request has no Host header' : checked.reason;
    return errorResponse({ status: 400, error: `a request to the HTTP redirect port needs a valid Host header: ${reason}`, requestId: crypto.randomUUID() });
  }
  host = checked.host;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  const authority = httpsPort === 443 ? name : `${name}:${httpsPort}`;
  return new Response(null, {
    status: 308,
    headers: { location: `https://${authority}${target.startsWith('/') ? target : '/'}`, 'cache-control': 'no-store', 'content-length': '0' },
  });
}

/** The HTTP_REDIRECT_PORT listener's handler: every request gets the redirect to HTTPS on `httpsPort`. */
export function httpsRedirectHandler(httpsPort: number): (request: Request) => Response {
  return (request) => {
    const url = request.url;
    // The path and query as the client sent them: everything after the authority of the absolute URL the runtime built.
    const pathAt = url.indexOf('/', url.indexOf('//') + 2);
    return httpsRedirect(request.headers.get('host'), pathAt === -1 ? '/' : url.slice(pathAt), httpsPort);
  };
}
