// The mesh config in translate's output, and what a real engine does with it: the default retry policy on routes
// no VirtualService sets retries for, the access log (JSON and TEXT lines as documented in listeners.ts), and
// trace sampling.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { JsonObject } from "../../../proxy/xds/types.js";
import { Engine } from "../../../proxy/engine/engine.js";
import { compile } from "../../../proxy/engine/config/index.js";
import { parseMeshConfig, type MeshSettings } from "../model/mesh.js";
import { meshModel, webRoutes } from "../../../test/support/discovery/mesh.js";
import { routesOf } from "../../../test/support/discovery/find.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { parseNodeId, translate } from "./index.js";
import { connectionManager } from "./listeners.js";
import { observing } from "./telemetry.js";
import { emptyModel } from "../model/config.js";

/** What a sidecar's outbound connection managers carry under this mesh config alone. */
const outbound = (mesh: MeshSettings) => observing({ ...emptyModel(), mesh }, "default", {}, "CLIENT", () => {});

const client = parseNodeId("sidecar~127.0.0.9~client-0.default~default.svc.cluster.local");

function retries(mesh: MeshSettings | undefined, http: string): unknown[] {
  const out = translate({ ...meshModel(webRoutes(http)), mesh }, client);
  expect(violations(out.listeners)).toEqual([]);
  return routesOf(out, "80", "web.example.com:80").map((r) => (r["route"] as JsonObject)["retry_policy"]);
}

describe("the mesh config in translate's output", () => {
  const route = `
  - route: [{ destination: { host: web.example.com } }]`;

  it("routes without VirtualService retries take defaultHttpRetryPolicy; those with their own keep them", () => {
    const mesh = parseMeshConfig("defaultHttpRetryPolicy: {attempts: 7, perTryTimeout: 2s}");
    expect(retries(mesh, route)).toEqual([
      expect.objectContaining({ num_retries: 7, per_try_timeout: "2s", retriable_status_codes: [503] }),
    ]);
    expect(retries(mesh, `${route}\n    retries: { attempts: 1 }`)).toEqual([
      expect.objectContaining({ num_retries: 1 }),
    ]);
    expect(retries(parseMeshConfig("defaultHttpRetryPolicy: {attempts: 0}"), route)).toEqual([undefined]);
    expect(retries(undefined, route)).toEqual([
      expect.objectContaining({ num_retries: 2, retriable_status_codes: [503] }),
    ]);
  });
});

describe("a real engine with the mesh config's connection manager", () => {
  let backend: Server;
  let port = 0;
  beforeAll(async () => {
    backend = createServer((req, res) => res.end(JSON.stringify(req.headers)));
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    port = (backend.address() as AddressInfo).port;
  });
  afterAll(() => backend.close());

  async function run(mesh: MeshSettings, path: string): Promise<{ lines: string[]; headers: Record<string, string> }> {
    const lines: string[] = [];
    const { rds: _r, ...hcm } = connectionManager("outbound_0.0.0.0_80", "80", false, outbound(mesh));
    const engine = new Engine({
      adminPort: false,
      statsPort: false,
      readyPort: false,
      drainTimeoutMs: 100,
      accessLogStream: { write: (l) => lines.push(l) },
    });
    await engine.apply({
      version: "1",
      clusters: [
        {
          name: "web",
          type: "STATIC",
          connect_timeout: "1s",
          load_assignment: {
            cluster_name: "web",
            endpoints: [
              {
                lb_endpoints: [
                  { endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } },
                ],
              },
            ],
          },
        },
      ],
      listeners: [
        {
          name: "http",
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          filter_chains: [
            {
              filters: [
                {
                  name: "hcm",
                  typed_config: {
                    ...hcm,
                    route_config: {
                      name: "80",
                      virtual_hosts: [
                        {
                          name: "web",
                          domains: ["*"],
                          routes: [{ name: "all", match: { prefix: "/" }, route: { cluster: "web" } }],
                        },
                      ],
                    },
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    const body = await new Promise<string>((resolve, reject) => {
      request(
        {
          host: "127.0.0.1",
          port: engine.listenerPort("http"),
          path,
          headers: { host: "web.example.com", "x-request-id": "rid-7", "user-agent": "ua/1" },
          agent: false,
        },
        (res) => {
          let b = "";
          res.on("data", (c: Buffer) => (b += c.toString()));
          res.on("end", () => resolve(b));
        },
      )
        .on("error", reject)
        .end();
    });
    await engine.stop();
    return { lines, headers: JSON.parse(body) as Record<string, string> };
  }

  it("JSON: one line per request with Istio's field names", async () => {
    const { lines } = await run(parseMeshConfig("accessLogFile: /dev/stdout\naccessLogEncoding: JSON"), "/a?b=1");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      method: "GET",
      path: "/a?b=1",
      protocol: "HTTP/1.1",
      response_code: 200,
      response_flags: "-",
      request_id: "rid-7",
      user_agent: "ua/1",
      authority: "web.example.com",
      upstream_cluster: "web",
      upstream_host: `127.0.0.1:${port}`,
      route_name: "all",
      x_forwarded_for: null,
    });
  });

  it("TEXT: Envoy's text line, '-' for what is absent", async () => {
    const { lines } = await run(parseMeshConfig("accessLogFile: /dev/stdout\naccessLogEncoding: TEXT"), "/t");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^\\[[^\\]]+\\] "GET /t HTTP/1\\.1" 200 - 0 \\d+ \\d+ "-" "ua/1" "rid-7" "web\\.example\\.com" "127\\.0\\.0\\.1:${port}" web 127\\.0\\.0\\.1 all\\n$`,
      ),
    );
  });

  it("a format operator the engine doesn't implement is refused, naming it", () => {
    const { rds: _r, ...hcm } = connectionManager(
      "x",
      "80",
      false,
      outbound(parseMeshConfig("accessLogFile: /dev/stdout")),
    );
    const log = (hcm["access_log"] as JsonObject[])[0] as JsonObject;
    const typed = {
      ...(log["typed_config"] as JsonObject),
      log_format: { text_format_source: { inline_string: "%UPSTREAM_LOCAL_ADDRESS%\n" } },
    };
    const listener = {
      name: "l",
      address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
      filter_chains: [
        {
          filters: [
            {
              name: "hcm",
              typed_config: {
                ...hcm,
                access_log: [{ ...log, typed_config: typed }],
                route_config: { name: "r", virtual_hosts: [] },
              },
            },
          ],
        },
      ],
    };
    expect(() => compile({ version: "1", listeners: [listener] })).toThrow(
      /access_log\[0\]\.typed_config\.log_format: command operator %UPSTREAM_LOCAL_ADDRESS% is not supported/,
    );
  });

  it("access log off: no line; tracing sampling 0 marks new traces unsampled, 100 sampled", async () => {
    const off = await run(parseMeshConfig("defaultConfig: {tracing: {sampling: 0}}"), "/s");
    expect(off.lines).toEqual([]);
    expect(off.headers.traceparent).toMatch(/-00$/);
    expect(off.headers["x-b3-sampled"]).toBe("0");
    const on = await run(parseMeshConfig("defaultConfig: {tracing: {sampling: 100}}"), "/s");
    expect(on.headers.traceparent).toMatch(/-01$/);
    expect(on.headers["x-b3-sampled"]).toBe("1");
  });
});
