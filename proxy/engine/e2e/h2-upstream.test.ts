// HTTP/2 upstreams on Weft's own client (h2/client.ts) as the proxy's clients see them: a node:http2 backend (h2c
// and h2 over TLS by ALPN), and a server spoken frame by frame that answers as no real one would: a bad :status, a
// CR/LF in a field, a huge header block, a content-length that lies, REFUSED_STREAM, GOAWAY mid-flight, no SETTINGS
// at all, a window it tracks itself. A malformed response is a 502; what the upstream refused is sent again.
import {
  connect as h2connect,
  createSecureServer,
  createServer as createH2Server,
  type Http2Server,
  type Http2SecureServer,
  type IncomingHttpHeaders,
} from "node:http2";
import { connect as tcpConnect, createServer as createTcpServer, type AddressInfo } from "node:net";
import { cluster, get, many, resources, startEngine, until } from "../../../test/support/engine/helpers.js";
import { frame } from "../../../hack/bench/h2-call.js";
import { rawH2Server, type RawConnection, type RawServer } from "../../../test/support/engine/h2-server.js";
import { selfSigned } from "../../../test/support/engine/certs.js";
import type { Engine } from "../engine.js";
import type { TLSSocket } from "node:tls";

const H2 = { http2_protocol_options: {} };
const UTLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
const BIG = 3 * 1024 * 1024;
/** The response the backpressure test streams: far more than the proxy's windows and the sockets' buffers. */
const HUGE = 48 * 1024 * 1024;

/** How the frame-level server answers, by the path after /raw/. */
const raw: Record<string, (c: RawConnection, id: number) => void> = {
  hello: (c, id) => {
    c.headers(id, [":status", "200", "content-type", "text/plain"], false);
    c.data(id, ok, true);
  },
  "bad-status": (c, id) => c.headers(id, [":status", "20x"], true),
  crlf: (c, id) => c.headers(id, [":status", "200", "x-evil", "a\r\nset-cookie: b"], true),
  nul: (c, id) => c.headers(id, [":status", "200", "x-evil", "a\0b"], true),
  upper: (c, id) => c.headers(id, [":status", "200", "X-Upper", "a"], true),
  length: (c, id) => c.headers(id, [":status", "200", "content-length", "10"], true),
  "length-data": (c, id) => {
    c.headers(id, [":status", "200", "content-length", "10"], false);
    c.data(id, Buffer.from("12345"), true);
  },
  interim: (c, id) => {
    c.headers(id, [":status", "103", "link", "</a>; rel=preload"], false);
    c.headers(id, [":status", "200"], false);
    c.data(id, ok, true);
  },
  huge: (c, id) => {
    // HEADERS and CONTINUATIONs past twice the header limit, never ending: the connection is closed.
    c.write(frame(1, 0, id, Buffer.alloc(16384, 0x41)));
    for (let i = 0; i < 10; i++) c.write(frame(9, 0, id, Buffer.alloc(16384, 0x41)));
  },
  close: (c) => c.socket.destroy(),
  "close-after-head": (c, id) => {
    c.headers(id, [":status", "200", "content-length", "10"], false);
    c.data(id, Buffer.from("12345"), false);
    setImmediate(() => c.socket.destroy());
  },
  "grpc-fail": (c, id) =>
    c.headers(
      id,
      [":status", "200", "content-type", "application/grpc", "grpc-status", "5", "grpc-message", "nope"],
      true,
    ),
  "grpc-ok": (c, id) => {
    c.headers(id, [":status", "200", "content-type", "application/grpc"], false);
    c.data(id, Buffer.from([0, 0, 0, 0, 2, 0x68, 0x69]), false);
    c.headers(id, ["grpc-status", "0", "x-trailer", "t1"], true);
  },
};
const ok = Buffer.from("ok");
let refusedOnce = 0;
const goawayStreams: { c: RawConnection; id: number }[] = [];
let goawaySent = false;
let held: { c: RawConnection; id: number } | undefined;

function answer(c: RawConnection, id: number, fields: Map<string, string>): void {
  const name = (fields.get(":path") ?? "").replace(/^\/raw\//, "");
  if (name === "refused" && refusedOnce++ === 0) return c.rst(id, 7);
  if (name === "goaway" && !goawaySent) {
    // Three requests in flight on one connection: GOAWAY names the first; the other two were never processed.
    goawayStreams.push({ c, id });
    if (goawayStreams.length < 3) return;
    const [first] = goawayStreams;
    goawaySent = true;
    first!.c.goaway(first!.id);
    return raw.hello!(first!.c, first!.id);
  }
  if (name === "hold" && !held) {
    held = { c, id };
    return c.goaway(id); // draining, this stream still to answer
  }
  if (name === "huge-body") return streamHuge(c, id);
  (raw[name] ?? raw.hello!)(c, id);
}

/** HUGE bytes of body, sent as the client's windows allow. */
let hugeSent = 0;
function streamHuge(c: RawConnection, id: number): void {
  c.headers(id, [":status", "200", "content-length", String(HUGE)], false);
  const pump = () => {
    while (hugeSent < HUGE && c.room(id) > 0) {
      const n = Math.min(16384, c.room(id), HUGE - hugeSent);
      hugeSent += n;
      c.connWindow -= n;
      c.windows.set(id, (c.windows.get(id) ?? 0) - n);
      c.data(id, Buffer.alloc(n, 0x62), hugeSent === HUGE);
    }
  };
  c.onWindow = pump;
  pump();
}

describe("HTTP/2 upstreams on Weft's client", () => {
  let engine: Engine;
  let port: number;
  let h2: Http2Server;
  let tls: Http2SecureServer;
  let frames: RawServer;
  let silent: RawServer;
  /** Servers that take one stream per connection (SETTINGS_MAX_CONCURRENT_STREAMS 1). */
  let one: RawServer;
  let queue: RawServer;
  let idle: RawServer;
  let capped: RawServer;
  const holding: { c: RawConnection; id: number }[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  let closedPort: number;
  const seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    h2 = createH2Server((req, res) => {
      seen.push(req.headers);
      const parts: Buffer[] = [];
      req.on("data", (d: Buffer) => parts.push(d));
      req.on("end", () => {
        const body = Buffer.concat(parts);
        if (req.url === "/h2/big") return res.end(Buffer.alloc(BIG, 0x61));
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            method: req.method,
            path: req.url,
            authority: req.headers[":authority"],
            size: body.length,
          }),
        );
      });
    });
    const pair = await selfSigned();
    tls = createSecureServer({ cert: pair.cert, key: pair.key }, (req, res) =>
      res.end(`${req.httpVersion} ${(req.socket as TLSSocket).alpnProtocol} ${req.headers[":scheme"]}`),
    );
    const h2Port = await listen(h2);
    const tlsPort = await listen(tls);
    frames = await rawH2Server((c, id, fields) => answer(c, id, fields));
    silent = await rawH2Server(() => undefined, { sendSettings: false });
    const gone = createTcpServer();
    closedPort = await listen(gone);
    idle = await rawH2Server((c, id) => raw.hello!(c, id));
    capped = await rawH2Server((c, id) => raw.hello!(c, id));
    const single: [number, number][] = [[3, 1]];
    one = await rawH2Server(
      (c, id, fields) => {
        if (!fields.get(":path")?.includes("hold")) return raw.hello!(c, id);
        // Answered only once two are held: they must be on two connections, the limit being one stream each.
        holding.push({ c, id });
        if (holding.length === 2) for (const h of holding.splice(0)) raw.hello!(h.c, h.id);
      },
      { settings: single },
    );
    queue = await rawH2Server(
      (c, id) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        setImmediate(() => {
          inFlight--;
          raw.hello!(c, id);
        });
      },
      { settings: single },
    );
    await new Promise((r) => gone.close(r));
    const tlsSocket = {
      transport_socket: {
        name: "envoy.transport_sockets.tls",
        typed_config: {
          "@type": UTLS,
          common_tls_context: { validation_context: { trusted_ca: { inline_string: pair.cert } } },
        },
      },
    };
    ({ engine, port } = await startEngine(
      resources(
        [
          ...["h2", "raw", "silent", "closed", "tls", "one", "queue", "idle", "capped"].map((c) => ({
            match: { prefix: `/${c}` },
            route: { cluster: c },
          })),
        ],
        [
          cluster("h2", [h2Port], H2),
          cluster("raw", [frames.port], H2),
          cluster("silent", [silent.port], { ...H2, connect_timeout: "0.25s" }),
          cluster("closed", [closedPort], H2),
          cluster("tls", [tlsPort], { ...H2, ...tlsSocket }),
          cluster("one", [one.port], H2),
          cluster("idle", [idle.port], { ...H2, common_http_protocol_options: { idle_timeout: "0.2s" } }),
          cluster("capped", [capped.port], { ...H2, common_http_protocol_options: { max_requests_per_connection: 2 } }),
          cluster("queue", [queue.port], { ...H2, circuit_breakers: { thresholds: [{ max_connections: 1 }] } }),
        ],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await frames.close();
    await silent.close();
    await one.close();
    await queue.close();
    await idle.close();
    await capped.close();
    h2.close();
    tls.close();
  });

  const stat = (c: string, name: string) =>
    Number(new RegExp(`^cluster\\.${c}\\.${name}: (\\d+)$`, "m").exec(engine.statsText())?.[1]);

  it("carries requests to a node:http2 backend: fields, bodies both ways, many streams on one connection", async () => {
    const r = await get(
      port,
      "/h2/echo?q=1",
      { "X-Mixed-Case": "v", "keep-alive": "timeout=5" },
      { method: "POST", body: "x".repeat(100_000) },
    );
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({
      method: "POST",
      path: "/h2/echo?q=1",
      authority: `127.0.0.1:${port}`,
      size: 100_000,
    });
    const h = seen.at(-1)!;
    expect(h["x-mixed-case"]).toBe("v");
    expect(h["keep-alive"]).toBeUndefined();
    expect(h.host).toBeUndefined();
    const big = await get(port, "/h2/big");
    expect(big.body.length).toBe(BIG);
    const all = await many(60, 30, (i) => get(port, `/h2/m${i}`));
    expect(all.every((m, i) => JSON.parse(m.body).path === `/h2/m${i}`)).toBe(true);
    expect(stat("h2", "upstream_cx_total")).toBe(1);
  });

  it("speaks h2 over TLS, chosen by ALPN", async () => {
    const r = await get(port, "/tls");
    expect(r).toMatchObject({ status: 200, body: "2.0 h2 https" });
  });

  it("answers 502 for a malformed response: a bad :status, CR/LF or NUL in a value, an upper-case name, a lying content-length", async () => {
    for (const path of ["bad-status", "crlf", "nul", "upper", "length"]) {
      const r = await get(port, `/raw/${path}`);
      expect([path, r.status]).toEqual([path, 502]);
      expect(r.headers["x-evil"]).toBeUndefined();
    }
    // Found wrong once the head has gone on: the client's response is cut short, never passed as complete.
    await expect(get(port, "/raw/length-data")).rejects.toThrow();
    // The connection stays: each was a stream error.
    expect((await get(port, "/raw/hello")).body).toBe("ok");
    expect(frames.connections.length).toBe(1);
  });

  it("skips interim responses, and closes a connection whose header block grows past the limit (502)", async () => {
    expect(await get(port, "/raw/interim")).toMatchObject({ status: 200, body: "ok" });
    expect((await get(port, "/raw/huge")).status).toBe(502);
    expect((await get(port, "/raw/hello")).body).toBe("ok"); // on a new connection
  });

  it("fails the requests of a connection that closes: 503 before the response, cut short after its head", async () => {
    expect((await get(port, "/raw/close")).status).toBe(503);
    await expect(get(port, "/raw/close-after-head")).rejects.toThrow();
    expect((await get(port, "/raw/hello")).body).toBe("ok");
  });

  it("sends again a request the upstream refused (REFUSED_STREAM), with no retry policy", async () => {
    expect(await get(port, "/raw/refused")).toMatchObject({ status: 200, body: "ok" });
    expect(refusedOnce).toBe(2);
  });

  it("GOAWAY mid-flight: streams above its last stream id go to a new connection", async () => {
    const before = frames.connections.length;
    const rs = await Promise.all([1, 2, 3].map(() => get(port, "/raw/goaway")));
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(frames.connections.length).toBe(before + 1);
  });

  it("a connection that got GOAWAY takes no new request: nothing queues behind it", async () => {
    const pending = get(port, "/raw/hold");
    await until(() => held !== undefined);
    expect(await get(port, "/raw/hello")).toMatchObject({ status: 200, body: "ok" });
    raw.hello!(held!.c, held!.id);
    expect(await pending).toMatchObject({ status: 200, body: "ok" });
  });

  it("a connection at the upstream's stream limit: another opens (Envoy's pool), or within max_connections the request waits", async () => {
    expect((await get(port, "/one/hello")).body).toBe("ok"); // its SETTINGS known
    const rs = await Promise.all([get(port, "/one/hold"), get(port, "/one/hold")]);
    expect(rs.map((r) => r.body)).toEqual(["ok", "ok"]);
    expect(one.connections.length).toBe(2);
    expect(stat("one", "upstream_cx_overflow")).toBe(0);
    expect((await get(port, "/queue/hello")).body).toBe("ok");
    const queued = await many(6, 6, () => get(port, "/queue/x"));
    expect(queued.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(queue.connections.length).toBe(1);
    expect(mostInFlight).toBe(1); // the others waited on the connection for a stream to close
  });

  it("drains a connection with no stream for the cluster's idle_timeout", async () => {
    expect((await get(port, "/idle/a")).body).toBe("ok");
    const first = idle.connections[0]!.socket;
    await new Promise((r) => first.once("end", r)); // the proxy's GOAWAY, then its FIN
    expect(stat("idle", "upstream_cx_idle_timeout")).toBe(1);
    expect((await get(port, "/idle/b")).body).toBe("ok");
    expect(idle.connections.length).toBe(2);
  });

  it("a connection carries max_requests_per_connection streams, then drains (Istio's maxRequestsPerConnection)", async () => {
    for (const i of [1, 2, 3, 4, 5]) expect((await get(port, `/capped/${i}`)).body).toBe("ok");
    expect(capped.connections.length).toBe(3); // 2 + 2 + 1
    expect(stat("capped", "upstream_cx_max_requests")).toBe(2);
    const [a, b, c] = await many(3, 3, (i) => get(port, `/capped/m${i}`));
    expect([a?.status, b?.status, c?.status]).toEqual([200, 200, 200]);
  });

  it("says te: trailers for a gRPC call, which gRPC's C core requires, and not for other requests", async () => {
    const s = h2connect(`http://127.0.0.1:${port}`);
    await new Promise<void>((resolve, reject) => {
      const req = s.request({ ":path": "/h2/grpc", ":method": "POST", "content-type": "application/grpc+proto" });
      req.on("error", reject);
      req.on("data", () => undefined);
      req.on("end", () => resolve());
      req.end(Buffer.from([0, 0, 0, 0, 0]));
    });
    s.close();
    expect(seen.at(-1)?.te).toBe("trailers");
    expect((await get(port, "/h2/plain", { te: "trailers" })).status).toBe(200);
    expect(seen.at(-1)?.te).toBeUndefined();
  });

  it("keeps gRPC's trailers-only responses and trailers", async () => {
    const s = h2connect(`http://127.0.0.1:${port}`);
    const call = (path: string) =>
      new Promise<{ headers: IncomingHttpHeaders; trailers?: IncomingHttpHeaders }>((resolve) => {
        const req = s.request({ ":path": path, ":method": "POST", "content-type": "application/grpc", te: "trailers" });
        let headers: IncomingHttpHeaders = {};
        let trailers: IncomingHttpHeaders | undefined;
        req.on("response", (h) => (headers = h));
        req.on("trailers", (t) => (trailers = t));
        req.on("data", () => undefined);
        req.on("end", () => resolve({ headers, trailers }));
        req.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    const fail = await call("/raw/grpc-fail");
    expect(fail.headers).toMatchObject({ ":status": 200, "grpc-status": "5", "grpc-message": "nope" });
    expect(fail.trailers).toBeUndefined();
    const good = await call("/raw/grpc-ok");
    expect(good.trailers).toMatchObject({ "grpc-status": "0", "x-trailer": "t1" });
    s.close();
  });

  it("counts a connect failure, and a server that never sends SETTINGS as a connect timeout (503)", async () => {
    expect((await get(port, "/closed")).status).toBe(503);
    expect(stat("closed", "upstream_cx_connect_fail")).toBe(1);
    expect((await get(port, "/silent")).status).toBe(503);
    expect(stat("silent", "upstream_cx_connect_fail")).toBe(1);
    expect(stat("silent", "upstream_cx_connect_timeout")).toBe(1);
  });

  it("a client that doesn't read stops the upstream stream's window; reading again reopens it", async () => {
    const sock = tcpConnect({ host: "127.0.0.1", port });
    let got = 0;
    let head = -1;
    const done = new Promise<void>((resolve) =>
      sock.on("data", (d: Buffer) => {
        if (head < 0) head = d.indexOf("\r\n\r\n") + 4; // the head comes whole in the first read
        got += d.length;
        if (got - head >= HUGE) resolve();
      }),
    );
    sock.write("GET /raw/huge-body HTTP/1.1\r\nhost: x\r\n\r\n");
    await until(() => got > 0);
    sock.pause();
    // The upstream is left with no window, and gets none back while the client doesn't read.
    const c = frames.connections.at(-1)!;
    await c.quiet(() => hugeSent, 5);
    expect(hugeSent).toBeLessThan(HUGE / 2);
    sock.resume();
    await done;
    expect(hugeSent).toBe(HUGE);
    sock.destroy();
  });
});

function listen(s: {
  listen(port: number, host: string, cb: () => void): unknown;
  address(): unknown;
}): Promise<number> {
  return new Promise((r) => s.listen(0, "127.0.0.1", () => r((s.address() as AddressInfo).port)));
}
