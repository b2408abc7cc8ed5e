// Strings from config reach the wire as their UTF-8 bytes, as Envoy sends them. A character above U+00FF written as
// latin1 kept only its low byte: U+010A became LF and U+010D CR, so a header value that passed the CR/LF/NUL check
// injected a header, or a whole request, into what the engine sent upstream and to the client.
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { cluster, get, resources, startEngine } from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";

/** A backend that keeps the bytes of what it received and answers each request head with a fixed 200. */
async function rawBackend(): Promise<{ port: number; received: () => Buffer; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const server: Server = createServer((s) => {
    s.on("data", (c: Buffer) => {
      chunks.push(c);
      if (c.includes("\r\n\r\n")) s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    received: () => Buffer.concat(chunks),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe("strings from config on the wire", () => {
  let engine: Engine;
  let port: number;
  let b: Awaited<ReturnType<typeof rawBackend>>;

  beforeAll(async () => {
    b = await rawBackend();
    ({ engine, port } = await startEngine(
      resources(
        [
          {
            match: { prefix: "/" },
            route: { cluster: "b" },
            request_headers_to_add: [{ header: { key: "x-a", value: "caf\u00e9 \u010aGET /admin HTTP/1.1\u010d" } }],
            response_headers_to_add: [{ header: { key: "x-b", value: "\u65e5\u010dset-cookie: evil=1" } }],
          },
        ],
        [cluster("b", [b.port])],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await b.close();
  });

  it("sends a configured header value as its UTF-8 bytes: no header and no request is injected", async () => {
    const r = await get(port, "/");
    expect(r.status).toBe(200);
    expect(r.headers["set-cookie"]).toBeUndefined();
    expect(Buffer.from(String(r.headers["x-b"]), "latin1").toString("utf8")).toBe("\u65e5\u010dset-cookie: evil=1");
    const sent = b.received();
    expect(sent.toString("latin1")).not.toMatch(/\nGET \/admin/);
    const line = sent
      .toString("latin1")
      .split("\r\n")
      .find((l) => l.startsWith("x-a: "));
    expect(Buffer.from(line ?? "", "latin1").toString("utf8")).toBe("x-a: caf\u00e9 \u010aGET /admin HTTP/1.1\u010d");
  });
});
