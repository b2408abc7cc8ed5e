// A 204 carries no content-length (RFC 9110 §8.6: a server must not send one), whatever the upstream said, as Envoy
// strips it: from an HTTP/1.1 or HTTP/2 upstream, to an HTTP/1.1 or HTTP/2 client, and the client's connection
// serves on. A 304's content-length (the size of the representation it stands for) stays.
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { cluster, resources, startEngine } from "../../../test/support/engine/helpers.js";
import { rawH2Server, type RawServer } from "../../../test/support/engine/h2-server.js";
import { open, raw } from "../../../test/support/engine/h2-client.js";
import type { Engine } from "../engine.js";

/** The HTTP/1.1 upstream's answers by path, as bytes (Node's own server would fix them up). */
const ANSWERS: Record<string, string> = {
  "/204": "HTTP/1.1 204 No Content\r\ncontent-length: 5\r\nx-a: 1\r\n\r\n",
  "/304": "HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\n",
};

/** Sends `request` on `s` and reads until `done` says the answer is whole. */
function ask(s: Socket, request: string, done: (got: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const onData = (d: Buffer): void => {
      got += d.toString("latin1");
      if (!done(got)) return;
      s.off("data", onData);
      resolve(got);
    };
    s.on("data", onData);
    s.once("error", reject);
    s.write(request);
  });
}

describe("a 204's content-length", () => {
  let h1: Server;
  let h2: RawServer;
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    h1 = createServer((s) => {
      let buf = "";
      s.on("data", (d: Buffer) => {
        buf += d.toString("latin1");
        for (let end = buf.indexOf("\r\n\r\n"); end >= 0; end = buf.indexOf("\r\n\r\n")) {
          const path = buf.split(" ")[1] ?? "";
          buf = buf.slice(end + 4);
          s.write(ANSWERS[path] ?? "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi");
        }
      });
    });
    await new Promise<void>((r) => h1.listen(0, "127.0.0.1", r));
    h2 = await rawH2Server((c, id, fields) => {
      if (fields.get(":path") === "/h2/204") return c.headers(id, [":status", "204", "content-length", "5"], true);
      c.headers(id, [":status", "200"], false);
      c.data(id, Buffer.from("hi"), true);
    });
    ({ engine, port } = await startEngine(
      resources(
        [
          { match: { prefix: "/h2/" }, route: { cluster: "h2" } },
          { match: { prefix: "/" }, route: { cluster: "h1" } },
        ],
        [cluster("h1", [(h1.address() as AddressInfo).port]), cluster("h2", [h2.port], { http2_protocol_options: {} })],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await h2.close();
    await new Promise((r) => h1.close(r));
  });

  const head = (got: string): boolean => got.includes("\r\n\r\n");
  const body = (got: string): boolean => got.endsWith("hi");

  it.each(["/204", "/h2/204"])(
    "%s to an HTTP/1.1 client: no content-length, and the connection serves on",
    async (p) => {
      const s = await raw(port);
      const got = await ask(s, `GET ${p} HTTP/1.1\r\nhost: x\r\n\r\n`, head);
      expect(got).toMatch(/^HTTP\/1\.1 204 /);
      expect(got.toLowerCase()).not.toContain("content-length");
      expect(got.toLowerCase()).not.toContain("transfer-encoding");
      expect(got).toMatch(/\r\n\r\n$/); // nothing after the head
      expect(await ask(s, "GET /ok HTTP/1.1\r\nhost: x\r\n\r\n", body)).toMatch(/^HTTP\/1\.1 200 [^]*\r\n\r\nhi$/);
      s.destroy();
    },
  );

  it("a 304's content-length reaches the client", async () => {
    const s = await raw(port);
    const got = await ask(s, "GET /304 HTTP/1.1\r\nhost: x\r\n\r\n", head);
    expect(got).toMatch(/^HTTP\/1\.1 304 [^]*content-length: 5\r\n/);
    expect(await ask(s, "GET /ok HTTP/1.1\r\nhost: x\r\n\r\n", body)).toMatch(/\r\n\r\nhi$/);
    s.destroy();
  });

  it.each(["/204", "/h2/204"])("%s to an HTTP/2 client: no content-length", async (p) => {
    const session = await open(port);
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const r = session.request({ ":path": p });
      r.on("response", resolve);
      r.on("error", reject);
      r.resume();
    });
    expect(headers[":status"]).toBe(204);
    expect(headers["content-length"]).toBeUndefined();
    session.close();
  });
});
