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

/** A header value as a client sends UTF-8 text: its bytes, one character each (how Node's client writes latin1). */
const utf8 = (s: string) => Buffer.from(s, "utf8").toString("latin1");
const answer = (body: string) => ({ direct_response: { status: 200, body: { inline_string: body } } });

describe("non-ASCII header matchers from config", () => {
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    ({ engine, port } = await startEngine(
      resources(
        [
          { match: { prefix: "/", headers: [{ name: "x-user", exact_match: "caf\u00e9" }] }, ...answer("exact") },
          {
            match: {
              prefix: "/",
              headers: [{ name: "x-city", string_match: { prefix: "Stra\u00dfe", ignore_case: true } }],
            },
            ...answer("prefix"),
          },
          {
            match: { prefix: "/", headers: [{ name: "x-re", string_match: { safe_regex: { regex: "^\u65e5.$" } } }] },
            ...answer("regex"),
          },
          { match: { prefix: "/" }, direct_response: { status: 404 } },
        ],
        [],
      ),
    ));
  });
  afterAll(() => engine.stop());

  it("match a client's UTF-8 header bytes, as Envoy compares them", async () => {
    const routed = async (headers: Record<string, string>) => {
      const r = await get(port, "/", headers);
      return r.status === 200 ? r.body : r.status;
    };
    expect(await routed({ "x-user": utf8("caf\u00e9") })).toBe("exact");
    expect(await routed({ "x-city": utf8("STRA\u00dfE 5") })).toBe("prefix");
    // A regex's "." is a character, not a byte: U+672C is three bytes.
    expect(await routed({ "x-re": utf8("\u65e5\u672c") })).toBe("regex");
    // The bytes of the matcher's low bytes only (what a latin1 reading of U+00E9 would be) are not the same text.
    expect(await routed({ "x-user": "caf\u00e9" })).toBe(404);
    expect(await routed({ "x-city": "Strasse" })).toBe(404);
  });
});
