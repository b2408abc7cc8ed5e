// WebSocket through the proxy (Envoy's upgrade_configs): the HTTP/1.1 handshake goes upstream with its Upgrade, a
// genuine 101 turns both connections into one byte tunnel, and nothing else does (no tunnel on a 200 or a 426, a
// 101 to a plain request is a 502).
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { cluster, engineHarness, startEngine, withHcm } from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const handshake = (path: string, host = "chat") =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`;
const SWITCH =
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n";

/** A raw client connection: what it received so far, awaited by content, and whether it closed. */
class Raw {
  data = Buffer.alloc(0);
  closed = false;
  private waiters: (() => void)[] = [];
  constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => undefined);
  }
  static async open(port: number): Promise<Raw> {
    const s = connect(port, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    return new Raw(s);
  }
  get text(): string {
    return this.data.toString("latin1");
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  /** Waits until the bytes received satisfy `cond`; fails if the connection closes first. */
  async until(cond: (text: string) => boolean, what: string): Promise<void> {
    while (!cond(this.text)) {
      if (this.closed) throw new Error(`closed before ${what}; got ${JSON.stringify(this.text)}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
  async close(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
  }
}

/** A node http backend whose 'upgrade' handler answers 101 (with bytes in the same write) and echoes. */
async function wsBackend(): Promise<{
  server: Server;
  port: number;
  upgrades: IncomingMessage[];
  sockets: Socket[];
  next(): Promise<Socket>;
}> {
  const upgrades: IncomingMessage[] = [];
  const sockets: Socket[] = [];
  let waiting: ((s: Socket) => void) | undefined;
  const server = createServer((req, res) => res.end(`plain ${req.url}`));
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    upgrades.push(req);
    sockets.push(socket);
    socket.write(`${SWITCH}hello-from-backend;`);
    if (head.length) socket.write(head);
    socket.on("data", (d: Buffer) => socket.write(d));
    socket.on("end", () => socket.end());
    socket.on("error", () => undefined);
    waiting?.(socket);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    upgrades,
    sockets,
    next: () => new Promise((r) => (waiting = r)),
  };
}

/** A raw backend: answers each request head with `answer(head)`, and keeps every byte it received. */
async function rawBackend(answer: (head: string) => string): Promise<{ port: number; seen: string[]; close(): void }> {
  const seen: string[] = [];
  const server = createNetServer((s) => {
    let buf = "";
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      seen.push(d.toString("latin1"));
      let end: number;
      while ((end = buf.indexOf("\r\n\r\n")) >= 0) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        s.write(answer(head));
      }
    });
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, seen, close: () => server.close() };
}

const stat = (engine: Engine, name: string): number => {
  const m = new RegExp(`^http\\.http\\.${name}: (-?\\d+)$`, "m").exec(engine.statsText());
  return m ? Number(m[1]) : NaN;
};

const WEBSOCKET = { upgrade_configs: [{ upgrade_type: "websocket" }] };

describe("WebSocket upgrades", () => {
  const { up, start } = engineHarness();
  let ws: Awaited<ReturnType<typeof wsBackend>>;
  const stops: (() => unknown)[] = [];
  beforeAll(async () => {
    ws = await wsBackend();
    stops.push(() => ws.server.close());
  });
  afterAll(() => {
    for (const s of stops) s();
  });

  it("tunnels both ways, losing neither the client's early bytes nor the backend's bytes after its 101", async () => {
    const lines: string[] = [];
    const { engine, port } = await startEngine(
      withHcm([{ match: { prefix: "/" }, route: { cluster: "ws", timeout: "0.2s" } }], [cluster("ws", [ws.port])], {
        ...WEBSOCKET,
        stream_idle_timeout: "1s",
      }),
      { accessLog: true, accessLogStream: { write: (l) => lines.push(l) } },
    );
    stops.push(() => engine.stop());
    const c = await Raw.open(port);
    const upstream = ws.next();
    c.socket.write(`${handshake("/chat")}early-bytes;`); // before the 101 arrives
    await c.until((t) => t.includes("early-bytes;"), "the early bytes echoed");
    expect(c.text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(c.text).toMatch(/\r\nupgrade: websocket\r\n/i);
    expect(c.text).toMatch(/\r\nconnection: upgrade\r\n/i);
    expect(c.text.slice(c.text.indexOf("\r\n\r\n") + 4)).toBe("hello-from-backend;early-bytes;");
    const req = ws.upgrades.at(-1) as IncomingMessage;
    expect([req.headers.upgrade, req.headers.connection, req.headers["sec-websocket-key"]]).toEqual([
      "websocket",
      "Upgrade",
      KEY,
    ]);
    expect(stat(engine, "downstream_cx_upgrades_total")).toBe(1);
    expect(stat(engine, "downstream_cx_upgrades_active")).toBe(1);

    // A megabyte each way, through the backpressure; and past the route's 0.2 s timeout, which no longer applies.
    const big = Buffer.alloc(1 << 20, "x");
    const before = c.data.length;
    c.socket.write(big);
    await c.until(() => c.data.length >= before + big.length, "the megabyte echoed");
    await new Promise((r) => setTimeout(r, 300));
    c.socket.write("still-open;");
    await c.until((t) => t.endsWith("still-open;"), "an echo after the route timeout");

    // stream_idle_timeout (1 s; past the 0.3 s wait above with room for a loaded machine) closes the idle tunnel, both sides.
    const s = await upstream;
    const upstreamClosed = new Promise((r) => s.once("close", r));
    await c.close();
    await upstreamClosed;
    expect(stat(engine, "downstream_rq_idle_timeout")).toBe(1);
    expect(stat(engine, "downstream_cx_upgrades_active")).toBe(0);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ path: "/chat", response_code: 101, upstream_cluster: "ws" });
  });

  it("passes a half-close on, and closes the other side when either side closes", async () => {
    const { port } = await start(
      withHcm([{ match: { prefix: "/" }, route: { cluster: "ws" } }], [cluster("ws", [ws.port])], WEBSOCKET),
    );
    // The client closes: the backend's connection closes.
    const a = await Raw.open(port);
    const aUp = ws.next();
    a.socket.write(handshake("/a"));
    await a.until((t) => t.includes("hello-from-backend;"), "the 101");
    const aSocket = await aUp;
    const aClosed = new Promise((r) => aSocket.once("close", r));
    // Half-closed: the client's FIN reaches the backend, whose echo still comes back the other way, then its own FIN.
    a.socket.end("last;");
    await a.until((t) => t.endsWith("hello-from-backend;last;"), "the echo after the client's half-close");
    await aClosed;
    await a.close();
    // The backend closes: the client's connection closes.
    const b = await Raw.open(port);
    const bUp = ws.next();
    b.socket.write(handshake("/b"));
    await b.until((t) => t.includes("hello-from-backend;"), "the 101");
    (await bUp).destroy();
    await b.close();
  });

  it("answers 403 when upgrade_configs is off (enabled: false) or names nothing, without asking the backend", async () => {
    const before = ws.upgrades.length;
    const { engine, port } = await start(
      withHcm([{ match: { prefix: "/" }, route: { cluster: "ws" } }], [cluster("ws", [ws.port])], {
        upgrade_configs: [{ upgrade_type: "websocket", enabled: false }],
      }),
    );
    const c = await Raw.open(port);
    c.socket.write(handshake("/off"));
    await c.until((t) => t.includes("upgrade failed"), "the 403");
    expect(c.text).toMatch(/^HTTP\/1\.1 403 /);
    expect(ws.upgrades.length).toBe(before);
    expect(stat(engine, "downstream_rq_ws_on_non_ws_route")).toBe(1);
    c.socket.destroy();
  });

  it("lets a route's upgrade_configs override the HCM's, either way (Envoy's table)", async () => {
    const route = (prefix: string, enabled?: boolean) => ({
      match: { prefix },
      route: {
        cluster: "ws",
        ...(enabled === undefined ? {} : { upgrade_configs: [{ upgrade_type: "websocket", enabled }] }),
      },
    });
    const routes = [route("/on", true), route("/off", false), route("/")];
    const expectations = [
      { hcm: {}, on: 101, off: 403, unset: 403 },
      { hcm: WEBSOCKET, on: 101, off: 403, unset: 101 },
    ];
    for (const { hcm, ...want } of expectations) {
      const { port } = await start(withHcm(routes, [cluster("ws", [ws.port])], hcm));
      const got: Record<string, number> = {};
      for (const path of ["on", "off", "unset"]) {
        const c = await Raw.open(port);
        c.socket.write(handshake(`/${path}`));
        await c.until((t) => t.includes("\r\n\r\n"), "a response head");
        got[path] = Number(c.text.slice(9, 12));
        c.socket.destroy();
      }
      expect(got).toEqual(want);
    }
  });

  it("answers 403 rather than pretend, when the route's cluster speaks HTTP/2", async () => {
    const h2 = cluster("h2", [ws.port], { http2_protocol_options: {} });
    const { port } = await start(withHcm([{ match: { prefix: "/" }, route: { cluster: "h2" } }], [h2], WEBSOCKET));
    const c = await Raw.open(port);
    c.socket.write(handshake("/h2"));
    await c.until((t) => t.includes("upgrade failed"), "the 403");
    expect(c.text).toMatch(/^HTTP\/1\.1 403 /);
    c.socket.destroy();
  });

  // Request smuggling through a fake upgrade: the backend refuses, so the bytes after the handshake are the next
  // request, for the proxy to parse and route, never passed raw to the backend that refused.
  it.each([
    ["200", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nno"],
    [
      "426",
      "HTTP/1.1 426 Upgrade Required\r\nupgrade: websocket\r\nconnection: upgrade\r\ncontent-length: 2\r\n\r\nno",
    ],
  ])(
    "a backend answering %s doesn't open a tunnel: the next request on the connection is routed by the proxy",
    async (code, answer) => {
      const refusing = await rawBackend(() => answer);
      stops.push(() => refusing.close());
      const other = await up("other");
      const { port } = await start(
        withHcm(
          [
            { match: { prefix: "/second" }, route: { cluster: "other" } },
            { match: { prefix: "/" }, route: { cluster: "refusing" } },
          ],
          [cluster("refusing", [refusing.port]), cluster("other", [other.port])],
          WEBSOCKET,
        ),
      );
      const c = await Raw.open(port);
      c.socket.write(`${handshake("/chat")}GET /second HTTP/1.1\r\nHost: chat\r\n\r\n`);
      await c.until((t) => t.includes("x-backend: other") && t.endsWith("\r\n0\r\n\r\n"), "the next response");
      expect(c.text).toMatch(new RegExp(`^HTTP/1\\.1 ${code} `));
      expect(c.text).not.toMatch(/^HTTP\/1\.1 101/m);
      expect(c.text).toContain('"url":"/second"');
      expect(refusing.seen.join("")).not.toContain("/second");
      expect(c.closed).toBe(false);
      c.socket.destroy();
    },
  );

  it("answers 502 to a 101 the request didn't ask for, or a 101 to an upgrade that isn't WebSocket's", async () => {
    const rogue = await rawBackend((head) =>
      head.includes("/other-protocol") ? SWITCH.replace("Upgrade: websocket", "Upgrade: rogue") : SWITCH,
    );
    stops.push(() => rogue.close());
    const { port } = await start(
      withHcm([{ match: { prefix: "/" }, route: { cluster: "rogue" } }], [cluster("rogue", [rogue.port])], WEBSOCKET),
    );
    const plain = await Raw.open(port);
    plain.socket.write("GET /plain HTTP/1.1\r\nHost: chat\r\n\r\n");
    await plain.until((t) => /\r\n\r\n[\s\S]+/.test(t), "the 502");
    expect(plain.text).toMatch(/^HTTP\/1\.1 502 /);
    plain.socket.destroy();
    const other = await Raw.open(port);
    other.socket.write(handshake("/other-protocol"));
    await other.until((t) => /\r\n\r\n[\s\S]+/.test(t), "the 502");
    expect(other.text).toMatch(/^HTTP\/1\.1 502 /);
    other.socket.destroy();
  });
});
