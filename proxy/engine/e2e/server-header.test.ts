// The `server` response header through the engine, as Envoy's HCM sets it (server_name, server_header_transformation):
// Istio's proxyHeaders.server renders these (`value` → server_name, `disabled` → PASS_THROUGH). What a client sees on
// the app's responses and on the proxy's own replies, over HTTP/1.1 and HTTP/2.
import { connect } from "node:http2";
import { cluster, engineHarness, get, withHcm, type BackendHandler } from "../../../test/support/engine/helpers.js";

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
});
