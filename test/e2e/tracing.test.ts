// Tracing through two sidecars in local mode: a request enters front's sidecar (inbound), front calls back through
// its sidecar (outbound) passing the trace headers on, back's sidecar (inbound) serves it. A tiny collector takes
// what the proxies export: the three spans must join into one trace (parent ids pointing at the hop before), in
// Zipkin v2 JSON and in OTLP/HTTP JSON, with Istio's tags; sampling 0 sends nothing. Runs the built package.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { readWorkloads, startLocalMesh, type LocalMesh } from "../../hack/local/mesh.js";
import { get, poll } from "../../hack/local/procs.js";

// front: answers with what back answered, passing the trace headers on (as an instrumented app does).
const FRONT = `
import { createServer, request } from "node:http";
const [host, port, proxy] = process.argv.slice(2);
const [ph, pp] = proxy.split(":");
const PASS = ["x-request-id", "traceparent", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled"];
createServer((req, res) => {
  const headers = { host: "back:8080" };
  for (const h of PASS) if (req.headers[h]) headers[h] = req.headers[h];
  request({ host: ph, port: Number(pp), path: "/", headers }, (r) => {
    let body = "";
    r.on("data", (d) => (body += d));
    r.on("end", () => res.end("front got: " + body));
  }).end();
}).listen(Number(port), host);
`;
const BACK = `
import { createServer } from "node:http";
const [host, port] = process.argv.slice(2);
createServer((req, res) => res.end("back")).listen(Number(port), host);
`;

interface Span {
  traceId: string;
  id: string;
  parentId?: string;
  kind: string;
  tags: Record<string, string>;
  service: string;
}

/** Spans from either format, in one shape. */
function spansOf(path: string, body: string): Span[] {
  const doc = JSON.parse(body) as unknown;
  if (path === "/api/v2/spans")
    return (
      doc as {
        traceId: string;
        id: string;
        parentId?: string;
        kind: string;
        tags: Record<string, string>;
        localEndpoint: { serviceName: string };
      }[]
    ).map((s) => ({
      traceId: s.traceId,
      id: s.id,
      parentId: s.parentId,
      kind: s.kind,
      tags: s.tags,
      service: s.localEndpoint.serviceName,
    }));
  type Attr = { key: string; value: { stringValue: string } };
  const out: Span[] = [];
  for (const rs of (
    doc as {
      resourceSpans: {
        resource: { attributes: Attr[] };
        scopeSpans: {
          spans: { traceId: string; spanId: string; parentSpanId?: string; kind: number; attributes: Attr[] }[];
        }[];
      }[];
    }
  ).resourceSpans) {
    const service = rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "";
    for (const ss of rs.scopeSpans)
      for (const s of ss.spans)
        out.push({
          traceId: s.traceId,
          id: s.spanId,
          parentId: s.parentSpanId,
          kind: s.kind === 2 ? "SERVER" : s.kind === 3 ? "CLIENT" : String(s.kind),
          tags: Object.fromEntries(s.attributes.map((a) => [a.key, a.value.stringValue])),
          service,
        });
  }
  return out;
}

function send(host: string, port: number, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path: "/hello", headers: { host: "front:8080", ...headers }, agent: false },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve(body));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("tracing through two sidecars (local mode)", () => {
  const work = mkdtempSync(path.join(tmpdir(), "weft-trace-"));
  const configDir = path.join(work, "config");
  const meshFile = path.join(work, "mesh.yaml");
  let mesh: LocalMesh;
  let collector: Server;
  let collectorPort = 0;
  const received: { path: string; spans: Span[] }[] = [];

  const frontIn = () => {
    const w = mesh.layout.workloads[0] as LocalMesh["layout"]["workloads"][0];
    return { host: w.ip, port: w.port };
  };

  /** Writes the mesh config and waits until every sidecar's config dump shows `marker`. */
  async function meshConfig(text: string, marker: RegExp): Promise<void> {
    writeFileSync(meshFile, text);
    // The sidecars (the gateway serves no HTTP listener here).
    for (const [name, admin] of Object.entries(mesh.admin).filter(([n]) => n !== "gateway"))
      await poll(
        `${name} with ${marker}`,
        async () => (marker.test((await get(`${admin}/config_dump`))?.body ?? "") ? true : undefined),
        60_000,
      );
  }

  /** All spans of `traceId` the collector has, once it has `n` of them. */
  const trace = (traceId: string, n: number): Promise<Span[]> =>
    poll(
      `${n} spans of trace ${traceId}`,
      async () => {
        const spans = received.flatMap((r) => r.spans).filter((s) => s.traceId === traceId);
        return spans.length >= n ? spans : undefined;
      },
      30_000,
    );

  beforeAll(async () => {
    collector = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        received.push({ path: req.url ?? "", spans: spansOf(req.url ?? "", body) });
        res.statusCode = req.url === "/api/v2/spans" ? 202 : 200;
        res.end(req.url === "/api/v2/spans" ? "" : "{}");
      });
    });
    await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
    collectorPort = (collector.address() as AddressInfo).port;
    writeFileSync(path.join(work, "front.mjs"), FRONT);
    writeFileSync(path.join(work, "back.mjs"), BACK);
    writeFileSync(
      meshFile,
      `defaultConfig:\n  tracing:\n    sampling: 100\n    zipkin: { address: "127.0.0.1:${collectorPort}" }\n`,
    );
    const file = path.join(work, "weft.local.yaml");
    writeFileSync(
      file,
      `workloads:
- { name: front, version: v1, port: 8080, command: [node, ${path.join(work, "front.mjs")}, "{ip}", "{port}", "{proxy}"] }
- { name: back, version: v1, port: 8080, command: [node, ${path.join(work, "back.mjs")}, "{ip}", "{port}"] }
`,
    );
    mkdirSync(configDir, { recursive: true });
    mesh = await startLocalMesh({
      configDir,
      meshConfig: meshFile,
      base: "127.0.72",
      appBase: "127.0.73",
      gatewayIp: "127.0.72.3",
      workloads: readWorkloads(file),
    });
  }, 180_000);

  afterAll(async () => {
    await mesh?.stop();
    await new Promise((r) => collector?.close(r));
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  function expectJoined(spans: Span[], incomingParent: string | undefined): void {
    const server = spans.filter((s) => s.kind === "SERVER");
    const client = spans.filter((s) => s.kind === "CLIENT");
    expect(server).toHaveLength(2);
    expect(client).toHaveLength(1);
    const front = server.find((s) => s.service === "front.default") as Span;
    const back = server.find((s) => s.service === "back.default") as Span;
    const out = client[0] as Span;
    expect(front.parentId).toBe(incomingParent);
    expect(out.service).toBe("front.default");
    expect(out.parentId).toBe(front.id);
    expect(back.parentId).toBe(out.id);
    expect(new Set(spans.map((s) => s.id)).size).toBe(3);
    expect(out.tags).toMatchObject({
      component: "proxy",
      "http.method": "GET",
      "http.status_code": "200",
      upstream_cluster: "outbound|8080||back",
      "istio.canonical_service": "front",
    });
    expect(out.tags["node_id"]).toMatch(/^sidecar~127\.0\.72\.\d+~front-v1\.default~/);
    expect(back.tags["guid:x-request-id"]).toBe(out.tags["guid:x-request-id"]);
    expect(back.tags["peer.address"]).toMatch(/^127\./);
    expect(back.tags["http.url"]).toBe("http://back:8080/");
  }

  it("joins the spans of two hops into one trace at a Zipkin collector, under the caller's traceparent", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parent = "00f067aa0ba902b7";
    expect(await send(frontIn().host, frontIn().port, { traceparent: `00-${traceId}-${parent}-01` })).toBe(
      "front got: back",
    );
    expectJoined(await trace(traceId, 3), parent);
    expect(received.every((r) => r.path === "/api/v2/spans")).toBe(true);
  }, 60_000);

  it("starts a trace when the request has none, and honours an incoming B3 context", async () => {
    await send(frontIn().host, frontIn().port);
    const b3Trace = "a".repeat(32);
    await send(frontIn().host, frontIn().port, {
      "x-b3-traceid": b3Trace,
      "x-b3-spanid": "b".repeat(16),
      "x-b3-sampled": "1",
    });
    expectJoined(await trace(b3Trace, 3), "b".repeat(16));
    const root = await poll(
      "a root span",
      async () => received.flatMap((r) => r.spans).find((s) => s.kind === "SERVER" && !s.parentId),
      30_000,
    );
    expectJoined(await trace(root.traceId, 3), undefined);
  }, 60_000);

  it("exports OTLP/HTTP JSON to an opentelemetry extension provider, the same trace shape", async () => {
    await meshConfig(
      `defaultConfig: { tracing: { sampling: 100 } }
extensionProviders:
- name: otel
  opentelemetry: { service: 127.0.0.1, port: ${collectorPort}, http: { path: /v1/traces, timeout: 5s } }
defaultProviders: { tracing: [otel] }
`,
      /envoy\.tracers\.opentelemetry/,
    );
    const traceId = "5bf92f3577b34da6a3ce929d0e0e4736";
    await send(frontIn().host, frontIn().port, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    const spans = await trace(traceId, 3);
    expectJoined(spans, "00f067aa0ba902b7");
    expect(received.filter((r) => r.spans.some((s) => s.traceId === traceId)).map((r) => r.path)).toEqual(
      expect.arrayContaining(["/v1/traces"]),
    );
    expect(received.some((r) => r.path === "/v1/traces" && r.spans.some((s) => s.traceId === traceId))).toBe(true);
  }, 90_000);

  it("sends nothing at sampling 0 (a new trace is not sampled), and everything at 100", async () => {
    await meshConfig(
      `defaultConfig:\n  tracing:\n    sampling: 0\n    zipkin: { address: "127.0.0.1:${collectorPort}" }\n`,
      /"random_sampling":\s*\{\s*"value":\s*0\s*\}[^]*envoy\.tracers\.zipkin/,
    );
    const before = received.length;
    for (let i = 0; i < 20; i++) await send(frontIn().host, frontIn().port);
    // A sampled request sent last: once its spans are in, anything the 20 would have sent is too (one queue).
    const marker = "6bf92f3577b34da6a3ce929d0e0e4736";
    await send(frontIn().host, frontIn().port, { traceparent: `00-${marker}-00f067aa0ba902b7-01` });
    await trace(marker, 3);
    const after = received.slice(before).flatMap((r) => r.spans);
    expect(after.filter((s) => s.traceId !== marker)).toEqual([]);

    await meshConfig(
      `defaultConfig:\n  tracing:\n    sampling: 100\n    zipkin: { address: "127.0.0.1:${collectorPort}" }\n`,
      /"random_sampling":\s*\{\s*"value":\s*100\s*\}[^]*envoy\.tracers\.zipkin/,
    );
    const mark = received.length;
    for (let i = 0; i < 20; i++) await send(frontIn().host, frontIn().port);
    await poll(
      "60 spans of 20 requests",
      async () => (received.slice(mark).flatMap((r) => r.spans).length >= 60 ? true : undefined),
      30_000,
    );
    const traces = new Set(
      received
        .slice(mark)
        .flatMap((r) => r.spans)
        .map((s) => s.traceId),
    );
    expect(traces.size).toBe(20);
  }, 120_000);
});
