// Small HTTP servers: Prometheus /metrics, and /healthz + /readyz. Each closes gracefully.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export type Routes = Record<string, () => Promise<{ status: number; body: string; type?: string }>>;

export function parseAddress(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  const host = i > 0 ? addr.slice(0, i).replace(/^\[|\]$/g, "") : "0.0.0.0";
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid address "${addr}": want host:port`);
  return { host, port };
}

export async function serve(addr: string, routes: Routes): Promise<Server> {
  const { host, port } = parseAddress(addr);
  const server = createServer((req, res) => {
    const route = routes[(req.url ?? "/").split("?")[0] as string];
    if (!route) {
      res.writeHead(404).end("not found\n");
      return;
    }
    route().then(
      ({ status, body, type }) =>
        res.writeHead(status, { "content-type": type ?? "text/plain; charset=utf-8" }).end(body),
      (err: unknown) => res.writeHead(500).end(`${String(err)}\n`),
    );
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  return server;
}

export const boundPort = (s: Server) => (s.address() as AddressInfo).port;

export const metricsRoutes = (registry: Registry): Routes => ({
  "/metrics": async () => ({ status: 200, body: await registry.metrics(), type: registry.contentType }),
});

export const healthRoutes = (ready: () => string | undefined): Routes => ({
  "/healthz": async () => ({ status: 200, body: "ok\n" }),
  "/readyz": async () => {
    const why = ready();
    return why ? { status: 503, body: `${why}\n` } : { status: 200, body: "ok\n" };
  },
});

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
