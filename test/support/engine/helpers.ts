// Test helpers for e2e tests: real backends on loopback, Envoy resources, and an HTTP client.
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import type { ClientHttp2Stream } from "node:http2";
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { Engine, type EngineOptions } from "../../../proxy/engine/engine.js";
import type { Resources } from "../../../proxy/engine/config/types.js";

export interface Backend {
  name: string;
  port: number;
  hits: number;
  close(): Promise<void>;
}

export type BackendHandler = (req: IncomingMessage, res: ServerResponse, body: string, b: Backend) => void;

/** Echoes {name, method, url, headers, body} as JSON, unless a handler answers. */
export async function backend(name: string, handler?: BackendHandler): Promise<Backend> {
  const b: Backend = { name, port: 0, hits: 0, close: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      b.hits++;
      const body = Buffer.concat(chunks).toString();
      if (handler) return handler(req, res, body, b);
      const out = JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { "content-type": "application/json", "x-backend": name });
      res.end(out);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  b.port = (server.address() as AddressInfo).port;
  b.close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return b;
}

export function cluster(name: string, ports: number[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: ports.map((p) => ({
            endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: p } } },
          })),
        },
      ],
    },
    ...extra,
  };
}

const T = "type.googleapis.com/envoy.extensions.filters";
export const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": `${T}.http.router.v3.Router` } };

export function listener(routes: unknown[], httpFilters: unknown[] = [ROUTER], name = "http"): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": `${T}.network.http_connection_manager.v3.HttpConnectionManager`,
              stat_prefix: name,
              rds: { route_config_name: "routes" },
              http_filters: httpFilters,
            },
          },
        ],
      },
    ],
  };
}

/**
 * A DownstreamTlsContext transport socket with one certificate (PEM), ALPN h2 and http/1.1; with `clientCa`, client
 * certificates are verified against it without one being required (Istio's OPTIONAL_MUTUAL).
 */
export function tlsTransport(cert: string, key: string, clientCa?: string): Record<string, unknown> {
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { inline_string: cert }, private_key: { inline_string: key } }],
        alpn_protocols: ["h2", "http/1.1"],
        ...(clientCa ? { validation_context: { trusted_ca: { inline_string: clientCa } } } : {}),
      },
      ...(clientCa ? { require_client_certificate: false } : {}),
    },
  };
}

export function routeConfig(routes: unknown[], domains = ["*"]): Record<string, unknown> {
  return { name: "routes", virtual_hosts: [{ name: "vh", domains, routes }] };
}

export function resources(routes: unknown[], clusters: unknown[], httpFilters?: unknown[], version = "1"): Resources {
  return { version, listeners: [listener(routes, httpFilters)], routes: [routeConfig(routes)], clusters };
}

/** resources() with more fields (upgrade_configs, use_remote_address, …) on the listener's HCM. */
export function withHcm(
  routes: unknown[],
  clusters: unknown[],
  hcm: Record<string, unknown>,
  httpFilters?: unknown[],
): Resources {
  const l = listener(routes, httpFilters) as {
    filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[];
  };
  Object.assign(l.filter_chains[0]!.filters[0]!.typed_config, hcm);
  return { version: "1", listeners: [l], routes: [routeConfig(routes)], clusters };
}

/** The same resources with every listener's HCM set to codec_type HTTP2 (HTTP/2 only, prior knowledge). */
export function http2Only(res: Resources): Resources {
  const listeners = (res.listeners as Record<string, unknown>[]).map((l) => structuredClone(l));
  for (const l of listeners)
    for (const chain of l.filter_chains as { filters: { typed_config: Record<string, unknown> }[] }[])
      chain.filters[0]!.typed_config.codec_type = "HTTP2";
  return { ...res, listeners };
}

/** An engine on loopback with ephemeral admin ports, started, `res` applied. */
/** A port free on 127.0.0.1 right now (for config that names its own listening port, as a Gateway's servers). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function testEngine(res: Resources, opts: EngineOptions = {}): Promise<Engine> {
  const engine = new Engine({
    adminPort: 0,
    statsPort: 0,
    readyPort: 0,
    bindAddress: "127.0.0.1",
    drainTimeoutMs: 200,
    ...opts,
  });
  await engine.start();
  await engine.apply(res);
  return engine;
}

export async function startEngine(res: Resources, opts: EngineOptions = {}): Promise<{ engine: Engine; port: number }> {
  const engine = await testEngine(res, opts);
  return { engine, port: engine.listenerPort("http") };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Over TLS: the served certificate's subject CN, and whether the request went on a connection opened before. */
  tls?: { cn: string | undefined; reused: boolean };
}

export const keepAlive = new Agent({ keepAlive: true, maxSockets: 32 });

/** Over TLS: the server name to ask for (also the Host), the CA to trust, and a client certificate when given. */
export interface TlsClient {
  servername: string;
  ca: string;
  cert?: string;
  key?: string;
  /** The newest protocol version the client offers (to show a server's minimum). */
  maxVersion?: "TLSv1.2" | "TLSv1.3";
}

export function get(
  port: number,
  path = "/",
  headers: Record<string, string> = {},
  opts: { method?: string; body?: string; agent?: Agent | false; tls?: TlsClient } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const options = {
      host: "127.0.0.1",
      port,
      path,
      method: opts.method ?? "GET",
      headers: opts.tls ? { host: opts.tls.servername, ...headers } : headers,
      agent: opts.agent === undefined ? (opts.tls ? false : keepAlive) : opts.agent,
    };
    const req = (opts.tls ? httpsRequest : httpRequest)(opts.tls ? { ...options, ...opts.tls } : options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      const subject = opts.tls ? (res.socket as TLSSocket).getPeerCertificate().subject?.CN : undefined;
      const cn = Array.isArray(subject) ? subject.join() : subject;
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          ...(opts.tls ? { tls: { cn, reused: req.reusedSocket } } : {}),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** n requests, `concurrency` at a time. */
/**
 * An HTTP/1.1 GET over TLS offering `alpn` (a mesh client's `istio-peer-exchange`, `istio`): the ALPN agreed (false:
 * none) and the status line; or the failure.
 */
export function alpnGet(port: number, alpn: string[], tls: { servername?: string; ca: string }): Promise<string> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: "127.0.0.1", port, ALPNProtocols: alpn, ...tls });
    const host = tls.servername ?? "localhost";
    s.on("secureConnect", () => s.write(`GET / HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`));
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString()));
    s.on("end", () => resolve(`${String(s.alpnProtocol)} ${got.split("\r\n")[0] ?? ""}`));
    s.on("error", (e) => resolve(`error: ${e.message}`));
  });
}

export async function many(n: number, concurrency: number, one: (i: number) => Promise<Reply>): Promise<Reply[]> {
  const out: Reply[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

export function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

/** An HTTP/2 client stream's response: its status and its body as text. */
export function h2response(req: ClientHttp2Stream): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let data = "";
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", (d: Buffer) => (data += d.toString()));
    req.on("end", () => resolve({ status, body: data }));
    req.on("error", reject);
  });
}

/** Waits for a condition on state the test can't subscribe to; bounded (2 s unless told), checked every few ms. */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  for (let i = 0; i < ms / 5 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`condition not met within ${ms / 1000} s`);
}

/**
 * Backends and engines for one describe block, stopped (in reverse) after it: call at describe level.
 * `up` starts a backend; `engineFor` an engine on resources(...args); `start` one on given resources.
 */
export function engineHarness(): {
  up(name: string, handler?: BackendHandler): Promise<Backend>;
  engineFor(...args: Parameters<typeof resources>): Promise<{ engine: Engine; port: number }>;
  start(res: Resources): Promise<{ engine: Engine; port: number }>;
} {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
  });
  const start = async (res: Resources) => {
    const e = await startEngine(res);
    closers.push(() => e.engine.stop());
    return e;
  };
  return {
    start,
    async up(name, handler) {
      const b = await backend(name, handler);
      closers.push(() => b.close());
      return b;
    },
    engineFor: (...args) => start(resources(...args)),
  };
}
