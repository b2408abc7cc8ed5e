// Admin on loopback (:15000), Prometheus (:15090/stats/prometheus) and readiness (:15021/healthz/ready).
// Off the hot path, so node:http is fine here.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Engine } from "./engine.js";

/** A port number (0: any free port), or false to not start that server. */
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

function serve(port: PortOption | undefined, dflt: number, host: string, handler: Handler): Promise<Server | undefined> {
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

export async function startAdmin(engine: Engine, o: AdminOptions): Promise<AdminServers> {
  const bind = o.bindAddress ?? "0.0.0.0";
  const admin = await serve(o.adminPort, 15000, o.adminAddress ?? "127.0.0.1", (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    switch (path) {
      case "/ready":
        return send(res, engine.ready ? 200 : 503, engine.ready ? "LIVE\n" : "PRE_INITIALIZING\n");
      case "/stats":
        return send(res, 200, engine.statsText());
      case "/config_dump":
        return send(res, 200, `${JSON.stringify(engine.configDump(), null, 2)}\n`, "application/json");
      case "/drain_listeners":
        if (req.method !== "POST") return send(res, 405, "use POST\n");
        engine.drainListeners();
        return send(res, 200, "OK\n");
      case "/quitquitquit":
        if (req.method !== "POST") return send(res, 405, "use POST\n");
        send(res, 200, "OK\n");
        return engine.quit();
      default:
        return send(res, 404, "admin: /ready /stats /config_dump /drain_listeners /quitquitquit\n");
    }
  });
  const stats = await serve(o.statsPort, 15090, bind, (req, res) => {
    if ((req.url ?? "").split("?")[0] !== "/stats/prometheus") return send(res, 404, "not found\n");
    engine.stats.registry.metrics().then(
      (text) => send(res, 200, text, engine.stats.registry.contentType),
      (err: unknown) => send(res, 500, `${String(err)}\n`),
    );
  });
  const ready = await serve(o.readyPort, 15021, bind, (req, res) => {
    if ((req.url ?? "").split("?")[0] !== "/healthz/ready") return send(res, 404, "not found\n");
    send(res, engine.ready ? 200 : 503, engine.ready ? "ready\n" : "not ready\n");
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
