// Admin on loopback (:15000), Prometheus (:15090/stats/prometheus) and readiness (:15021/healthz/ready).
// Off the hot path, so node:http is fine here. The admin port binds a loopback address only, answers no browser
// (admin-guard.ts), changes state only on POST, and redacts secrets from /config_dump (redact.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { AdminError, adminRefusal, isLoopbackAddress } from "./admin-guard.js";
import { redact } from "./redact.js";

/** What the admin servers expose: the engine's, or the agent's (which adds /hot_restart). */
export interface AdminTarget {
  readonly ready: boolean;
  /** Why it is not ready, for the readiness body. */
  readonly notReady?: string | undefined;
  statsText(): string | Promise<string>;
  configDump(): unknown;
  prometheus(): Promise<string>;
  drainListeners(): void;
  quit(): void;
  /** Extra POST endpoints, by path; they answer with text. An AdminError's status is the answer's. */
  readonly posts?: Record<string, (query: URLSearchParams) => Promise<string>>;
}

const PROM_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A port number (0 picks a free port), or false to not start that server. */
export type PortOption = number | false;

export interface AdminServers {
  ports: { admin: number; stats: number; ready: number };
  close(): Promise<void>;
}

interface AdminOptions {
  adminPort?: PortOption;
  adminAddress?: string;
  statsPort?: PortOption;
  readyPort?: PortOption;
  bindAddress?: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function send(res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8"): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function serve(
  port: PortOption | undefined,
  dflt: number,
  host: string,
  handler: Handler,
): Promise<Server | undefined> {
  if (port === false) return Promise.resolve(undefined);
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: port ?? dflt }, () => resolve(server));
  });
}

function portOf(s: Server | undefined): number {
  const a = s?.address();
  return a && typeof a === "object" ? a.port : 0;
}

function failed(res: ServerResponse): (err: unknown) => void {
  return (err) =>
    send(res, err instanceof AdminError ? err.status : 500, `${err instanceof Error ? err.message : String(err)}\n`);
}

/** The endpoints that change state: POST only, like Envoy's admin. */
function mutations(engine: AdminTarget): Record<string, (query: URLSearchParams) => Promise<string>> {
  return {
    "/drain_listeners": () => {
      engine.drainListeners();
      return Promise.resolve("OK\n");
    },
    "/quitquitquit": () => {
      setImmediate(() => engine.quit()); // after the answer is written
      return Promise.resolve("OK\n");
    },
    ...engine.posts,
  };
}

export async function startAdmin(engine: AdminTarget, o: AdminOptions): Promise<AdminServers> {
  const bind = o.bindAddress ?? "0.0.0.0";
  const adminAddress = o.adminAddress ?? "127.0.0.1";
  if (o.adminPort !== false && !isLoopbackAddress(adminAddress)) {
    throw new Error(
      `admin address ${adminAddress} is not a loopback address: the admin port must never be reachable from the network`,
    );
  }
  const posts = mutations(engine);
  const admin = await serve(o.adminPort, 15000, adminAddress, (req, res) => {
    const refused = adminRefusal(req.headers);
    if (refused) return send(res, 403, `${refused}\n`);
    const url = new URL(req.url ?? "/", "http://admin");
    const post = posts[url.pathname];
    if (post) {
      if (req.method !== "POST") return send(res, 405, "use POST\n");
      post(url.searchParams).then((text) => send(res, 200, text), failed(res));
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "use GET\n");
    switch (url.pathname) {
      case "/ready":
        return send(res, engine.ready ? 200 : 503, engine.ready ? "LIVE\n" : "PRE_INITIALIZING\n");
      case "/stats":
        Promise.resolve(engine.statsText()).then((t) => send(res, 200, t), failed(res));
        return;
      case "/config_dump":
        Promise.resolve(engine.configDump()).then(
          (d) => send(res, 200, `${JSON.stringify(redact(d), null, 2)}\n`, "application/json"),
          failed(res),
        );
        return;
      default:
        return send(res, 404, `admin: GET /ready /stats /config_dump; POST ${Object.keys(posts).join(" ")}\n`);
    }
  });
  const stats = await serve(o.statsPort, 15090, bind, (req, res) => {
    if ((req.url ?? "").split("?")[0] !== "/stats/prometheus") return send(res, 404, "not found\n");
    engine.prometheus().then(
      (text) => send(res, 200, text, PROM_TYPE),
      (err: unknown) => send(res, 500, `${String(err)}\n`),
    );
  });
  const ready = await serve(o.readyPort, 15021, bind, (req, res) => {
    if ((req.url ?? "").split("?")[0] !== "/healthz/ready") return send(res, 404, "not found\n");
    send(
      res,
      engine.ready ? 200 : 503,
      engine.ready ? "ready\n" : `not ready${engine.notReady ? `: ${engine.notReady}` : ""}\n`,
    );
  });
  const servers = [admin, stats, ready].filter((s): s is Server => s !== undefined);
  return {
    ports: { admin: portOf(admin), stats: portOf(stats), ready: portOf(ready) },
    close: () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      ).then(() => undefined),
  };
}
