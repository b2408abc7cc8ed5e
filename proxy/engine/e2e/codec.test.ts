import { connect, type Socket } from "node:net";
import { backend, cluster, resources, startEngine, type Backend } from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";

/** A raw client: write bytes, then collect what comes back until `until` holds or the server closes. */
function raw(port: number): {
  socket: Socket;
  text: () => string;
  wait: (until: (t: string) => boolean) => Promise<{ text: string; closed: boolean }>;
} {
  const socket = connect(port, "127.0.0.1");
  let buf = "";
  let closed = false;
  const waiters: (() => void)[] = [];
  socket.on("data", (d: Buffer) => {
    buf += d.toString("latin1");
    waiters.forEach((w) => w());
  });
  socket.on("close", () => {
    closed = true;
    waiters.forEach((w) => w());
  });
  socket.on("error", () => undefined);
  return {
    socket,
    text: () => buf,
    wait: (until) =>
      new Promise((resolve) => {
        const check = () => {
          if (until(buf) || closed) resolve({ text: buf, closed });
          else waiters.push(check);
        };
        check();
      }),
  };
}

const count = (s: string, sub: string) => s.split(sub).length - 1;

describe("HTTP/1.1 codec", () => {
  let b: Backend;
  let engine: Engine;
  let port: number;
  beforeAll(async () => {
    b = await backend("b", (req, res, body) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`${req.url} ${body}`);
    });
    ({ engine, port } = await startEngine(
      resources([{ match: { prefix: "/" }, route: { cluster: "b" } }], [cluster("b", [b.port])]),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await b.close();
  });

  it("answers pipelined requests in order", async () => {
    const c = raw(port);
    c.socket.write(
      "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\nGET /three HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const { text } = await c.wait((t) => t.includes("/three"));
    expect(count(text, "HTTP/1.1 200")).toBe(3);
    expect(text.indexOf("/one")).toBeLessThan(text.indexOf("/two"));
    expect(text.indexOf("/two")).toBeLessThan(text.indexOf("/three"));
    c.socket.destroy();
  });

  it("answers malformed requests with 400 and closes", async () => {
    const c = raw(port);
    c.socket.write("GARBAGE\r\n\r\n");
    const r = await c.wait(() => false);
    expect(r.text).toMatch(/^HTTP\/1.1 400 /);
    expect(r.closed).toBe(true);
  });

  it("answers a header section over 60 KiB with 431", async () => {
    const c = raw(port);
    c.socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(70 * 1024)}\r\n\r\n`);
    const r = await c.wait(() => false);
    expect(r.text).toMatch(/^HTTP\/1.1 431 /);
  });

  it("sends 100 Continue, then takes the body", async () => {
    const c = raw(port);
    c.socket.write("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    await c.wait((t) => t.includes("100 Continue"));
    c.socket.write("hello");
    const { text } = await c.wait((t) => t.includes("/up hello"));
    expect(text).toMatch(/^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 200 /);
    c.socket.destroy();
  });

  it("closes after a request with Connection: close", async () => {
    const c = raw(port);
    c.socket.write("GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const r = await c.wait(() => false);
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1.1 200 /);
    expect(r.text.toLowerCase()).toContain("connection: close");
  });

  it("takes a chunked request body split across writes", async () => {
    const c = raw(port);
    c.socket.write("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab");
    c.socket.write("c\r\n2;ext=1\r\nde\r\n0\r\n\r\n");
    const { text } = await c.wait((t) => t.includes("/c abcde"));
    expect(text).toContain("/c abcde");
    c.socket.destroy();
  });

  it("takes a large body arriving in many small writes", async () => {
    const c = raw(port);
    const body = "x".repeat(1024 * 1024);
    c.socket.write(`POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
    for (let i = 0; i < body.length; i += 4096) c.socket.write(body.slice(i, i + 4096));
    const { text } = await c.wait((t) => t.endsWith("\r\n0\r\n\r\n")); // the echo comes back chunked
    expect(text).toMatch(/^HTTP\/1.1 200 /);
    expect(count(text.slice(text.indexOf("\r\n\r\n")), "x")).toBe(body.length);
    c.socket.destroy();
  });

  it("answers 404 when no route matches", async () => {
    const other = await startEngine(
      resources([{ match: { path: "/only" }, route: { cluster: "b" } }], [cluster("b", [b.port])]),
    );
    const c = raw(other.port);
    c.socket.write("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    const { text } = await c.wait((t) => t.includes("route not found"));
    expect(text).toMatch(/^HTTP\/1.1 404 /);
    c.socket.destroy();
    await other.engine.stop();
  });

  it("answers HEAD with a local reply's head alone, and the connection takes the next request", async () => {
    const other = await startEngine(
      resources([{ match: { path: "/only" }, route: { cluster: "b" } }], [cluster("b", [b.port])]),
    );
    const c = raw(other.port);
    c.socket.write("HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /only HTTP/1.1\r\nHost: x\r\n\r\n");
    const { text } = await c.wait((t) => t.includes("/only "));
    // The 404's head (with the length its body would have), then at once the next response: no body in between.
    expect(text).toMatch(/^HTTP\/1.1 404 [^]*?content-length: \d+\r\n\r\nHTTP\/1.1 200 /i);
    expect(text).not.toContain("route not found");
    c.socket.destroy();
    await other.engine.stop();
  });
});
