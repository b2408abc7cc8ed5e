// The mesh config's defaultConfig.proxyHeaders as istiod renders it (util.GetProxyHeadersFromProxyConfig and the
// listener builders), in the resources and through the engine: what a client and an app see at a gateway.
import type { Engine } from "../../../proxy/engine/engine.js";
import type { JsonObject } from "../../../proxy/xds/types.js";
import { backend, freePort, get, testEngine, type Backend } from "../../../test/support/engine/helpers.js";
import { appBehindGateway, meshModel } from "../../../test/support/discovery/mesh.js";
import { bookinfoKube } from "../../../test/support/discovery/bookinfo.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { normalise } from "../model/normalise.js";
import { parseMeshConfig } from "../model/mesh.js";
import { parseNodeId, translate, type TranslateResult } from "./index.js";

const GATEWAY = parseNodeId("router~127.0.0.1~edge-0.default~default.svc.cluster.local");
const REVIEWS = parseNodeId("sidecar~10.0.0.12~reviews-v1-0.default~default.svc.cluster.local");

const mesh = (proxyHeaders: string) => parseMeshConfig(`defaultConfig:\n  proxyHeaders: ${proxyHeaders}\n`);

/** Every HTTP connection manager's typed_config, with its listener's name. */
const hcmConfigs = (out: TranslateResult) =>
  out.listeners.flatMap((l) =>
    (l.filter_chains ?? [])
      .flatMap((c) => c.filters ?? [])
      .map((f) => ({ listener: l.name, t: f.typed_config as JsonObject }))
      .filter(({ t }) => String(t["@type"]).endsWith(".HttpConnectionManager")),
  );

/** Every HTTP connection manager's proxyHeaders fields, by listener. */
const hcms = (out: TranslateResult) =>
  hcmConfigs(out).map(({ listener, t }) => ({
    listener,
    server_name: t.server_name,
    server_header_transformation: t.server_header_transformation,
    generate_request_id: t.generate_request_id,
    forward: t.forward_client_cert_details,
    set: t.set_current_client_cert_details,
    port: t.append_x_forwarded_port,
  }));

/** Every HTTP connection manager's router filter's typed_config. */
const routers = (out: TranslateResult) =>
  hcmConfigs(out)
    .flatMap(({ t }) => (t.http_filters as JsonObject[]).filter((f) => f.name === "envoy.filters.http.router"))
    .map((f) => f.typed_config);

const attemptCounts = (out: TranslateResult) =>
  out.routes.flatMap((r) => (r.virtual_hosts ?? []).map((vh) => vh.include_request_attempt_count));

function sidecar(proxyHeaders?: string): TranslateResult {
  const model = normalise(bookinfoKube()).model;
  if (proxyHeaders) model.mesh = mesh(proxyHeaders);
  const out = translate(model, REVIEWS);
  expect(violations(out)).toEqual([]);
  return out;
}

describe("proxyHeaders in a sidecar's resources, as istiod renders them", () => {
  it("by default: istio-envoy inbound, Envoy's own name outbound, attempt counts on, APPEND_FORWARD inbound", () => {
    const out = sidecar();
    const all = hcms(out);
    expect(all.filter((h) => h.listener === "virtualInbound")).toContainEqual({
      listener: "virtualInbound",
      server_name: "istio-envoy",
      server_header_transformation: undefined,
      generate_request_id: undefined,
      forward: "APPEND_FORWARD",
      set: { subject: true, dns: true, uri: true },
    });
    const outbound = all.filter((h) => h.listener !== "virtualInbound");
    expect(outbound.length).toBeGreaterThan(0);
    for (const h of outbound) expect(h.server_name).toBeUndefined();
    expect(new Set(attemptCounts(out))).toEqual(new Set([true]));
  });

  it("server.value names every proxy; requestId.disabled stops generate_request_id; attemptCount.disabled the count", () => {
    const out = sidecar("{server: {value: x}, requestId: {disabled: true}, attemptCount: {disabled: true}}");
    for (const h of hcms(out)) expect(h).toMatchObject({ server_name: "x", generate_request_id: false });
    expect(new Set(attemptCounts(out))).toEqual(new Set([undefined]));
  });

  it("server.disabled: PASS_THROUGH and no name, on every connection manager", () => {
    for (const h of hcms(sidecar("{server: {disabled: true, value: ignored}}")))
      expect(h).toMatchObject({ server_name: undefined, server_header_transformation: "PASS_THROUGH" });
  });

  it("envoyDebugHeaders.disabled: suppress_envoy_headers on every router, inbound and outbound (istiod's Router)", () => {
    const type = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
    const byDefault = routers(sidecar());
    expect(byDefault.length).toBeGreaterThan(1);
    expect(new Set(byDefault.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify({ "@type": type })]));
    const suppressed = routers(sidecar("{envoyDebugHeaders: {disabled: true}}"));
    expect(suppressed.length).toBe(byDefault.length);
    for (const r of suppressed) expect(r).toEqual({ "@type": type, suppress_envoy_headers: true });
  });

  it("xForwardedPort.enabled: append_x_forwarded_port on every HCM; xForwardedHost.enabled: on the catch-all's route", () => {
    expect(new Set(hcms(sidecar()).map((h) => h.port))).toEqual(new Set([undefined]));
    expect(new Set(hcms(sidecar("{xForwardedPort: {enabled: true}}")).map((h) => h.port))).toEqual(new Set([true]));
    const catchAll = (out: TranslateResult) =>
      out.routes
        .flatMap((r) => r.virtual_hosts ?? [])
        .filter((vh) => vh.name === "allow_any")
        .map((vh) => vh.routes?.[0]?.route?.append_x_forwarded_host);
    expect(new Set(catchAll(sidecar()))).toEqual(new Set([undefined]));
    expect(new Set(catchAll(sidecar("{xForwardedHost: {enabled: true}}")))).toEqual(new Set([true]));
  });

  it("forwardedClientCert and setCurrentClientCertDetails on the inbound (unset details keep istiod's defaults)", () => {
    const inbound = (ph: string) => hcms(sidecar(ph)).filter((h) => h.listener === "virtualInbound");
    expect(
      inbound("{forwardedClientCert: SANITIZE_SET, setCurrentClientCertDetails: {cert: true, dns: false}}"),
    ).toContainEqual(
      expect.objectContaining({ forward: "SANITIZE_SET", set: { subject: true, cert: true, uri: true } }),
    );
    // SANITIZE is the enum's zero, left out as istiod's JSON leaves it: the engine's default, the header removed.
    expect(inbound("{forwardedClientCert: SANITIZE}")).toContainEqual(expect.objectContaining({ forward: undefined }));
  });
});

describe("proxyHeaders at a gateway, through the engine", () => {
  let app: Backend;
  const engines: Engine[] = [];
  beforeAll(async () => {
    // An app that names itself and says what it received.
    app = await backend("app", (req, res) => {
      res.writeHead(200, { server: "gunicorn", "content-type": "application/json" });
      res.end(JSON.stringify(req.headers));
    });
  });
  afterAll(async () => {
    for (const e of engines) await e.stop();
    await app.close();
  });

  /** A request through a gateway translated under this proxyHeaders: what the client and the app saw. */
  async function through(
    proxyHeaders?: string,
    route = "",
    sent: Record<string, string> = {},
  ): Promise<{ server: unknown; headers: Record<string, unknown>; app: Record<string, string>; port: number }> {
    const port = await freePort();
    const model = meshModel(
      `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers: [{ port: { number: ${port}, name: http, protocol: HTTP }, hosts: [shop.example.com] }]
${appBehindGateway(app.port, ["shop.example.com"]).replace("http: [{ route:", `http: [{ ${route}route:`)}`,
    );
    if (proxyHeaders) model.mesh = mesh(proxyHeaders);
    const out = translate(model, GATEWAY);
    expect(out.warnings).toEqual([]);
    expect(violations(out)).toEqual([]);
    engines.push(await testEngine(out));
    const r = await get(port, "/", { host: "shop.example.com", ...sent });
    expect(r.status).toBe(200);
    return { server: r.headers.server, headers: r.headers, app: JSON.parse(r.body) as Record<string, string>, port };
  }

  it("by default the client sees `server: istio-envoy`; the app gets an x-request-id and x-envoy-attempt-count", async () => {
    const r = await through();
    expect(r.server).toBe("istio-envoy");
    expect(r.app["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.app["x-envoy-attempt-count"]).toBe("1");
  });

  it("server {value: x} names the proxy x; requestId and attemptCount disabled: neither header reaches the app", async () => {
    const r = await through("{server: {value: x}, requestId: {disabled: true}, attemptCount: {disabled: true}}");
    expect(r.server).toBe("x");
    expect(r.app["x-request-id"]).toBeUndefined();
    expect(r.app["x-envoy-attempt-count"]).toBeUndefined();
  });

  it("server {disabled: true}: the app's own server header reaches the client", async () => {
    expect((await through("{server: {disabled: true}}")).server).toBe("gunicorn");
  });

  it("by default a VirtualService timeout reaches the app as x-envoy-expected-rq-timeout-ms, the client gets x-envoy-upstream-service-time", async () => {
    const r = await through(undefined, "timeout: 3s, ");
    expect(r.app["x-envoy-expected-rq-timeout-ms"]).toBe("3000");
    expect(r.headers["x-envoy-upstream-service-time"]).toMatch(/^\d+$/);
  });

  it("xForwardedHost: a VirtualService's authority rewrite tells the app the host the client asked for", async () => {
    const rewrite = "rewrite: { authority: app.internal }, ";
    expect((await through(undefined, rewrite)).app["x-forwarded-host"]).toBeUndefined();
    const r = await through("{xForwardedHost: {enabled: true}}", rewrite);
    expect([r.app.host, r.app["x-forwarded-host"]]).toEqual(["app.internal", "shop.example.com"]);
  });

  it("xForwardedPort: the app is told the gateway port the client connected to, not the client's word", async () => {
    const r = await through("{xForwardedPort: {enabled: true}}", "", { "x-forwarded-port": "1" });
    expect(r.app["x-forwarded-port"]).toBe(String(r.port));
    expect((await through(undefined, "", { "x-forwarded-port": "1" })).app["x-forwarded-port"]).toBe("1");
  });

  it("envoyDebugHeaders {disabled: true}: the client sees no x-envoy-upstream-service-time, the app no x-envoy-expected-rq-timeout-ms", async () => {
    const r = await through("{envoyDebugHeaders: {disabled: true}}", "timeout: 3s, ");
    expect(r.app["x-envoy-expected-rq-timeout-ms"]).toBeUndefined();
    expect(r.headers["x-envoy-upstream-service-time"]).toBeUndefined();
    expect(r.server).toBe("istio-envoy");
    expect(r.app["x-envoy-attempt-count"]).toBe("1"); // not the router's: it stays, as Envoy's
  });
});

describe("proxyHeaders in the mesh config: what can't be honoured is refused by name", () => {
  it.each([
    [
      "{forwardedClientCert: SANITISE}",
      /proxyHeaders\.forwardedClientCert: "SANITISE" is not one of UNDEFINED, SANITIZE/,
    ],
    [
      "{envoyDebugHeaders: {disabled: maybe}}",
      /proxyHeaders\.envoyDebugHeaders\.disabled: "maybe" is not true or false/,
    ],
    ["{preserveHttp1HeaderCase: true}", /proxyHeaders\.preserveHttp1HeaderCase: not supported by Weft/],
    ["{xForwardedHost: {enabled: 1}}", /proxyHeaders\.xForwardedHost\.enabled: 1 is not true or false/],
    ["{xForwardedPort: {on: true}}", /proxyHeaders\.xForwardedPort\.on: unknown field \(known: enabled\)/],
    ["{metadataExchangeHeaders: {mode: ALWAYS}}", /proxyHeaders\.metadataExchangeHeaders\.mode: "ALWAYS" is not one/],
    ["{server: {value: [a]}}", /proxyHeaders\.server\.value: not a string/],
    ["{requestId: {disabled: yes please}}", /proxyHeaders\.requestId\.disabled: "yes please" is not true or false/],
    ["{setCurrentClientCertDetails: {hash: true}}", /proxyHeaders\.setCurrentClientCertDetails\.hash: unknown field/],
    ["{cookie: {}}", /proxyHeaders\.cookie: unknown field/],
  ])("%s", (ph, message) => {
    expect(() => mesh(ph)).toThrow(message);
  });

  it("takes what the proxies do anyway: the defaults said out loud, and IN_MESH (they send no metadata-exchange headers)", () => {
    const m = mesh(
      "{envoyDebugHeaders: {disabled: false}, preserveHttp1HeaderCase: false, metadataExchangeHeaders: {mode: IN_MESH}}",
    );
    expect(m.proxyHeaders).toEqual(parseMeshConfig("").proxyHeaders);
  });
});
