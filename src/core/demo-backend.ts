/** The small built-in backends that demo mode balances over when BACKEND_SERVERS is unset. */

export function createDemoBackend(name: string): (request: Request) => Response {
  let served = 0;
  return (request) => {
    const url = new URL(request.url);
    if (url.pathname === '/health') return Response.json({ status: 'ok', backend: name });
    served++;
    return Response.json(
      {
        backend: name,
        message: `Hello from ${name}, one of Fairway's demo backends. Set BACKEND_SERVERS to balance over your own servers.`,
        method: request.method,
        path: url.pathname + url.search,
        served,
      },
      { headers: { 'x-demo-backend': name } },
    );
  };
}
