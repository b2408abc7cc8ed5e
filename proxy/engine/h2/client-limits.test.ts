// What a hostile upstream HTTP/2 server can make of the proxy's client (client.ts), spoken frame by frame
// (test/support/engine/h2-server.ts): what it sends must never reach the proxy's clients in a form they misread, and
// whatever it does, the proxy goes on serving with its memory bounded.
import { connect as tcpConnect } from "node:net";
import { cluster, get, resources, startEngine } from "../../../test/support/engine/helpers.js";
import { rawH2Server, type RawConnection, type RawServer } from "../../../test/support/engine/h2-server.js";
import type { Engine } from "../engine.js";

const H2 = { http2_protocol_options: {} };

/** How the upstream answers, by the request's path. */
const answers: Record<string, (c: RawConnection, id: number) => void> = {
  hello: (c, id) => {
    c.headers(id, [":status", "200"], false);
    c.data(id, Buffer.from("ok"), true);
  },
  "twice-length": (c, id) => {
    c.headers(id, [":status", "200", "content-length", "2", "content-length", "2"], false);
    c.data(id, Buffer.from("ok"), true);
  },
  "framing-trailers": (c, id) => {
    c.headers(id, [":status", "200"], false);
    c.data(id, Buffer.from("hello"), false);
    c.headers(id, ["transfer-encoding", "chunked", "content-length", "99", "x-t", "1"], true);
  },
};

/** A raw HTTP/1.1 exchange: every byte the proxy sent until it closed the connection. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: "127.0.0.1", port });
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString("latin1")));
    s.on("close", () => resolve(got));
    s.on("error", reject);
    s.write(request);
  });
}

describe("a hostile HTTP/2 upstream", () => {
  let engine: Engine;
  let port: number;
  let upstream: RawServer;

  beforeAll(async () => {
    upstream = await rawH2Server((c, id, fields) => {
      const name = (fields.get(":path") ?? "").slice(1);
      (answers[name] ?? answers.hello!)(c, id);
    });
    ({ engine, port } = await startEngine(
      resources([{ match: { prefix: "/" }, route: { cluster: "up" } }], [cluster("up", [upstream.port], H2)]),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await upstream.close();
  });

  it("a content-length repeated (same value) reaches the client once: HTTP/1.1 parsers refuse two", async () => {
    const r = await get(port, "/twice-length");
    expect(r).toMatchObject({ status: 200, body: "ok", headers: { "content-length": "2" } });
  });

  it("trailers with framing fields are malformed: never written into an HTTP/1.1 client's trailer section", async () => {
    const got = await exchange(port, "GET /framing-trailers HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
    expect(got).not.toContain("content-length: 99");
    expect(got.split("transfer-encoding").length).toBeLessThanOrEqual(2); // the head's own only
    expect((await get(port, "/hello")).body).toBe("ok");
  });
});
