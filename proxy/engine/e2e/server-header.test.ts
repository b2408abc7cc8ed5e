// The `server` response header through the engine, as Envoy's HCM sets it (server_name, server_header_transformation):
// Istio's proxyHeaders.server renders these (`value` → server_name, `disabled` → PASS_THROUGH). What a client sees on
// the app's responses and on the proxy's own replies, over HTTP/1.1 and HTTP/2.
import { connect } from "node:http2";
import { cluster, engineHarness, get, withHcm, type BackendHandler } from "../../../test/support/engine/helpers.js";
import { RawClient } from "./hardening/harness.js";

/** An app that names itself in `server` (gunicorn's), or sends none. */
const app =
  (server?: string): BackendHandler =>
  (_req, res) => {
    res.writeHead(200, server ? { server, "content-type": "text/plain" } : { "content-type": "text/plain" });
    res.end("ok");
  };

const routes = [
  { match: { prefix: "/named" }, route: { cluster: "named" } },
  { match: { prefix: "/anonymous" }, route: { cluster: "anonymous" } },
  { match: { prefix: "/local" }, direct_response: { status: 418 } },
];

describe("the server response header (server_name, server_header_transformation)", () => {
  const { up, start } = engineHarness();
  let clusters: unknown[];
  beforeAll(async () => {
    const [named, anonymous] = await Promise.all([up("named", app("gunicorn")), up("anonymous", app())]);
    clusters = [cluster("named", [named.port]), cluster("anonymous", [anonymous.port])];
  });

  const servers = async (port: number): Promise<unknown[]> =>
    Promise.all(["/named", "/anonymous", "/local", "/no-route"].map(async (p) => (await get(port, p)).headers.server));

  it("by default is Envoy's: `server: envoy` on every response, the app's own replaced, the proxy's replies too", async () => {
    const { port } = await start(withHcm([...routes], clusters, {}));
    expect(await servers(port)).toEqual(["envoy", "envoy", "envoy", "envoy"]);
  });

  it("server_name: the name every response carries (Istio's proxyHeaders.server.value)", async () => {
    const { port } = await start(withHcm([...routes], clusters, { server_name: "x" }));
    expect(await servers(port)).toEqual(["x", "x", "x", "x"]);
  });

  it("APPEND_IF_ABSENT keeps the app's and names the proxy where there is none", async () => {
    const { port } = await start(
      withHcm([...routes], clusters, { server_name: "x", server_header_transformation: "APPEND_IF_ABSENT" }),
    );
    expect(await servers(port)).toEqual(["gunicorn", "x", "x", "x"]);
  });

  it("PASS_THROUGH leaves responses as they are (Istio's proxyHeaders.server.disabled)", async () => {
    const { port } = await start(withHcm([...routes], clusters, { server_header_transformation: "PASS_THROUGH" }));
    expect(await servers(port)).toEqual(["gunicorn", undefined, undefined, undefined]);
  });

  it("over HTTP/2 as well", async () => {
    const { port } = await start(withHcm([...routes], clusters, { server_name: "istio-envoy" }));
    const client = connect(`http://127.0.0.1:${port}`);
    try {
      const one = (path: string): Promise<unknown> =>
        new Promise((resolve, reject) => {
          const s = client.request({ ":path": path });
          s.on("response", (h) => resolve(h.server));
          s.on("error", reject);
          s.resume();
        });
      expect(await Promise.all([one("/named"), one("/local")])).toEqual(["istio-envoy", "istio-envoy"]);
    } finally {
      client.close();
    }
  });

  it("a server_name beyond Latin-1 goes as its UTF-8 bytes: U+010D U+010A can't end the header and add one", async () => {
    // Written one character a byte, U+010D and U+010A would keep their low bytes, CR and LF, past the CR/LF check.
    const { port } = await start(
      withHcm([...routes], clusters, { server_name: "x\u010d\u010aset-cookie: session=attacker" }),
    );
    const r = await get(port, "/named", {}, { agent: false });
    expect(r.headers["set-cookie"]).toBeUndefined();
    expect(Buffer.from(String(r.headers.server), "latin1").toString("utf8")).toBe(
      "x\u010d\u010aset-cookie: session=attacker",
    );
  });

  it("a server_name that isn't a header value, or a mode Envoy doesn't have, is a NACK naming the field", async () => {
    const { engine } = await start(withHcm([...routes], clusters, {}));
    await expect(engine.apply(withHcm([...routes], clusters, { server_name: "a\r\nset-cookie: x=1" }))).rejects.toThrow(
      /server_name: is not a valid HTTP header value/,
    );
    await expect(
      engine.apply(withHcm([...routes], clusters, { server_header_transformation: "REPLACE" })),
    ).rejects.toThrow(/server_header_transformation/);
  });

  describe("on the codec's own replies, sent before a request exists (Envoy's go through encodeHeaders too)", () => {
    /** The head of the reply to `bytes` sent on a fresh connection, lower-cased. */
    const replyTo = async (port: number, bytes: string): Promise<string> => {
      const c = new RawClient(port);
      try {
        const r = await c.send(bytes);
        return r.text.slice(0, r.text.indexOf("\r\n\r\n")).toLowerCase();
      } finally {
        c.close();
      }
    };
    const hcm = { common_http_protocol_options: { max_headers_count: 3 }, request_headers_timeout: "0.2s" };

    it("a malformed request's 400, a 431 and a request-headers 408 carry `server: envoy`", async () => {
      const { port } = await start(withHcm([...routes], clusters, hcm));
      const heads = [
        await replyTo(port, "GET /named HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n"),
        await replyTo(port, "GET /named HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
        await replyTo(port, "GET /named HTTP/1.1\r\nHost: a\r\n"),
      ];
      expect(heads.map((h) => [h.split("\r\n")[0], /\r\nserver: (.*)/.exec(h)?.[1]])).toEqual([
        ["http/1.1 400 bad request", "envoy"],
        ["http/1.1 431 request header fields too large", "envoy"],
        ["http/1.1 408 request timeout", "envoy"],
      ]);
    });

    it("server_name names them; PASS_THROUGH sends none", async () => {
      const bad = "GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n";
      const named = await start(withHcm([...routes], clusters, { server_name: "istio-envoy" }));
      expect(await replyTo(named.port, bad)).toMatch(/^http\/1\.1 400 .*\r\nserver: istio-envoy(\r\n|$)/s);
      const through = await start(withHcm([...routes], clusters, { server_header_transformation: "PASS_THROUGH" }));
      expect(await replyTo(through.port, bad)).not.toMatch(/\r\nserver:/);
    });
  });
});
