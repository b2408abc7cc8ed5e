// Telemetry objects in translate's output, scoped as istiod scopes them (root namespace, namespace, workload; CLIENT
// and SERVER sides), and a real engine writing the access log a Telemetry provider's format asks for.
import type { Engine } from "../../../proxy/engine/engine.js";
import type { JsonObject } from "../../../proxy/xds/types.js";
import { parseMeshConfig } from "../model/mesh.js";
import { appBehindGateway, meshModel } from "../../../test/support/discovery/mesh.js";
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { listener } from "../../../test/support/discovery/find.js";
import { backend, freePort, get, testEngine, until, type Backend } from "../../../test/support/engine/helpers.js";
import { validateObject } from "../validate/index.js";
import { parseNodeId, translate, type TranslateResult } from "./index.js";

/** echo-v2 (labels app: echo, version: v2) in default: it serves echo's port, so it has inbound listeners too. */
const echoV2 = parseNodeId("sidecar~127.0.0.2~echo-v2.default~default.svc.cluster.local");
/** A client in namespace shop. */
const shopClient = parseNodeId("sidecar~127.0.0.9~client-0.shop~shop.svc.cluster.local");

const telemetry = (name: string, namespace: string, spec: string) => `
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: ${name}, namespace: ${namespace} }
spec: ${spec}
---`;

function hcms(l: JsonObject): JsonObject[] {
  return (l["filter_chains"] as JsonObject[])
    .flatMap((c) => c["filters"] as JsonObject[])
    .filter((f) => f["name"] === "envoy.filters.network.http_connection_manager")
    .map((f) => f["typed_config"] as JsonObject);
}

/** Whether the outbound listener on 80 and the inbound listener log, and their tracing. */
function sides(out: TranslateResult, inbound = true) {
  const side = (name: string) => {
    const [hcm] = hcms(listener(out, name));
    return { logs: hcm?.["access_log"] !== undefined, tracing: hcm?.["tracing"] };
  };
  return { outbound: side("0.0.0.0_80"), ...(inbound ? { inbound: side("virtualInbound") } : {}) };
}

function run(yaml: string, proxy = echoV2, mesh = "") {
  for (const o of parseYaml(yaml)) expect(validateObject(o)).toEqual([]);
  return translate({ ...meshModel(yaml), mesh: parseMeshConfig(mesh) }, proxy);
}

describe("Telemetry in translate's output", () => {
  it("a root-namespace Telemetry turns the built-in envoy access log on for every proxy, both sides", () => {
    const yaml = telemetry("mesh-default", "istio-system", "{ accessLogging: [{ providers: [{ name: envoy }] }] }");
    expect(sides(run(yaml))).toMatchObject({ outbound: { logs: true }, inbound: { logs: true } });
    expect(sides(run(yaml, shopClient), false)).toMatchObject({ outbound: { logs: true } });
    expect(sides(run(""))).toMatchObject({ outbound: { logs: false }, inbound: { logs: false } });
  });

  it("a namespace's Telemetry overrides the root's; a workload's overrides both, per side (match.mode)", () => {
    const root = telemetry("mesh-default", "istio-system", "{ accessLogging: [{ providers: [{ name: envoy }] }] }");
    const offInDefault = telemetry("quiet", "default", "{ accessLogging: [{ disabled: true }] }");
    expect(sides(run(root + offInDefault))).toMatchObject({ outbound: { logs: false }, inbound: { logs: false } });
    expect(sides(run(root + offInDefault, shopClient), false)).toMatchObject({ outbound: { logs: true } });
    const serverOnly = telemetry(
      "echo-server",
      "default",
      "{ selector: { matchLabels: { app: echo } }, accessLogging: [{ providers: [{ name: envoy }], match: { mode: SERVER } }] }",
    );
    expect(sides(run(root + offInDefault + serverOnly))).toMatchObject({
      outbound: { logs: false },
      inbound: { logs: true },
    });
    const otherWorkload = serverOnly.replace("app: echo", "app: web");
    expect(sides(run(root + offInDefault + otherWorkload))).toMatchObject({ inbound: { logs: false } });
  });

  it("connections are logged too: every TCP proxy of the side (passthrough included) gets the access log", () => {
    const tcpLogs = (out: TranslateResult) =>
      (listener(out, "virtualOutbound")["filter_chains"] as JsonObject[])
        .flatMap((c) => c["filters"] as JsonObject[])
        .filter((f) => f["name"] === "envoy.filters.network.tcp_proxy")
        .map((f) => (f["typed_config"] as JsonObject)["access_log"] !== undefined);
    const on = telemetry("mesh-default", "istio-system", "{ accessLogging: [{ providers: [{ name: envoy }] }] }");
    expect(tcpLogs(run(on))).toEqual(expect.arrayContaining([true]));
    expect(tcpLogs(run(on)).every(Boolean)).toBe(true);
    expect(tcpLogs(run("")).some(Boolean)).toBe(false);
    const serverOnly = on.replace("name: envoy }] }]", "name: envoy }], match: { mode: SERVER } }]");
    expect(tcpLogs(run(serverOnly)).some(Boolean)).toBe(false);
  });

  it("defaultProviders.accessLogging logs where no Telemetry says otherwise; a disabled entry turns its side off", () => {
    const mesh = "defaultProviders: { accessLogging: [envoy] }";
    expect(sides(run("", echoV2, mesh))).toMatchObject({ outbound: { logs: true }, inbound: { logs: true } });
    const off = telemetry(
      "client-quiet",
      "default",
      "{ accessLogging: [{ disabled: true, match: { mode: CLIENT } }] }",
    );
    // As istiod (its "client - inbound" case): an entry for the other side leaves this side with no provider, and no
    // provider falls back to the legacy accessLogFile (off here), not to defaultProviders.
    expect(sides(run(off, echoV2, mesh))).toMatchObject({ outbound: { logs: false }, inbound: { logs: false } });
    const both = telemetry(
      "server-on",
      "default",
      "{ accessLogging: [{ disabled: true, match: { mode: CLIENT } }, { providers: [{ name: envoy }], match: { mode: SERVER } }] }",
    );
    expect(sides(run(both, echoV2, mesh))).toMatchObject({ outbound: { logs: false }, inbound: { logs: true } });
  });

  it("tracing: sampling and span reporting by the most specific Telemetry; another provider is reported", () => {
    const mesh = `
extensionProviders: [{ name: zipkin, zipkin: { service: zipkin.istio-system, port: 9411 } }]
defaultProviders: { tracing: [zipkin] }
defaultConfig: { tracing: { sampling: 1 } }`;
    const base = sides(run("", echoV2, mesh));
    expect(base.outbound.tracing).toMatchObject({ random_sampling: { value: 1 }, provider: expect.anything() });
    const all = telemetry("trace-all", "default", "{ tracing: [{ randomSamplingPercentage: 100 }] }");
    expect(sides(run(all, echoV2, mesh)).outbound.tracing).toMatchObject({ random_sampling: { value: 100 } });
    expect(sides(run(all, shopClient, mesh), false).outbound.tracing).toMatchObject({ random_sampling: { value: 1 } });
    const quiet = telemetry(
      "no-spans",
      "default",
      "{ tracing: [{ disableSpanReporting: true, match: { mode: SERVER } }] }",
    );
    const q = sides(run(quiet, echoV2, mesh));
    expect(q.inbound?.tracing).not.toHaveProperty("provider");
    expect(q.outbound.tracing).toHaveProperty("provider");
    const other = telemetry("other", "default", "{ tracing: [{ providers: [{ name: jaeger }] }] }");
    const o = run(other, echoV2, mesh);
    expect(sides(o).outbound.tracing).not.toHaveProperty("provider");
    expect(o.warnings).toContainEqual(expect.stringContaining('tracing provider "jaeger" is not the mesh\'s tracer'));
  });

  it("a provider meshConfig doesn't define, or can't be written by the proxy, is reported, never dropped silently", () => {
    const mesh = "extensionProviders: [{ name: otel-logs, envoyOtelAls: { service: otel, port: 4317 } }]";
    const yaml = telemetry(
      "logs",
      "default",
      "{ accessLogging: [{ providers: [{ name: otel-logs }, { name: nope }] }] }",
    );
    const out = run(yaml, echoV2, mesh);
    expect(out.warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining('access log provider "nope" is not defined'),
        expect.stringContaining('access log provider "otel-logs" is an envoyOtelAls provider'),
      ]),
    );
    expect(sides(out)).toMatchObject({ outbound: { logs: false } });
  });
});

describe("a real engine writing a Telemetry provider's access log", () => {
  let app: Backend;
  let engine: Engine | undefined;
  beforeAll(async () => {
    app = await backend("app");
  });
  afterAll(async () => {
    await engine?.stop();
    await app.close();
  });

  it("a gateway logs in the format of the provider its namespace's Telemetry chose", async () => {
    const mesh = `
extensionProviders:
- name: short
  envoyFileAccessLog: { path: /dev/stdout, logFormat: { text: "%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE%" } }`;
    const port = await freePort();
    const yaml = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers: [{ port: { number: ${port}, name: http, protocol: HTTP }, hosts: [shop.example.com] }]
---${appBehindGateway(app.port, ["shop.example.com"])}---${telemetry("short-logs", "default", "{ accessLogging: [{ providers: [{ name: short }] }] }")}`;
    const out = run(yaml, parseNodeId("router~127.0.0.1~edge-0.default~default.svc.cluster.local"), mesh);
    expect(out.warnings).toEqual([]);
    const lines: string[] = [];
    engine = await testEngine(
      { listeners: out.listeners, routes: out.routes, clusters: out.clusters, endpoints: out.endpoints },
      { accessLogStream: { write: (l: string) => lines.push(l) } },
    );
    const r = await get(port, "/hello", { host: "shop.example.com" });
    expect(r.status).toBe(200);
    await until(() => lines.length > 0);
    expect(lines).toEqual(["GET /hello 200\n"]);
  });
});
