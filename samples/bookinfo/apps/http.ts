// What every Bookinfo app shares: a tiny node:http server, and calls to other services through the app's own
// sidecar (plain HTTP to its outbound listener, the service named by the Host header), carrying the trace
// headers and `end-user` along, as Istio's sample does.
import { createServer, request, type IncomingMessage, type Server } from "node:http";

/** Headers an app copies from its request onto the calls it makes (Istio's Bookinfo list). */
export const PROPAGATED = [
  "x-request-id",
  "traceparent",
  "tracestate",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
  "b3",
  "x-ot-span-context",
  "end-user",
  "user-agent",
];

export type Headers = Record<string, string>;

export function propagated(req: IncomingMessage): Headers {
  const out: Headers = {};
  for (const name of PROPAGATED) {
    const v = req.headers[name];
    if (typeof v === "string") out[name] = v;
  }
  return out;
}

export interface Reply {
  status: number;
  body: string;
  type?: string;
}

export interface Upstream {
  status: number;
  body: string;
}

/** Calls service through proxy (HOST:PORT), or, with proxy "direct" (in a pod, where the sidecar captures traffic), at service:9080. */
export function call(
  proxy: string,
  service: string,
  path: string,
  headers: Headers,
  timeoutMs = 3000,
): Promise<Upstream> {
  const [host, port] = proxy === "direct" ? [service, "9080"] : proxy.split(":");
  return new Promise((resolve) => {
    const req = request(
      {
        host,
        port: Number(port),
        path,
        method: "GET",
        headers: { ...headers, host: `${service}:9080` },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", () => resolve({ status: 0, body: "" }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.end();
  });
}

export type Handler = (req: IncomingMessage, url: URL) => Promise<Reply> | Reply;

export function serve(handler: Handler, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://app");
    Promise.resolve(handler(req, url)).then(
      (r) => {
        res.writeHead(r.status, {
          "content-type": r.type ?? "application/json",
          "content-length": Buffer.byteLength(r.body),
        });
        res.end(r.body);
      },
      (err: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(String(err));
      },
    );
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => resolve(server));
  });
}

export const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value) });
