// Listeners per proxy kind: a sidecar's outbound and inbound, a gateway's server ports, a gRPC client's API
// listener; and what translate reports instead of dropping.
import type { JsonObject } from "../../../proxy/xds/types.js";
import { bookinfoKube, parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import {
  addresses,
  assignment,
  cluster,
  listener,
  routeConfig,
  routesOf,
} from "../../../test/support/discovery/find.js";
import { ECHO_SUBSETS, meshModel } from "../../../test/support/discovery/mesh.js";
import { normalise } from "../model/normalise.js";
import { parseNodeId, translate } from "./index.js";
import type { TranslateResult } from "./index.js";

function acceptedByEnvoy(out: TranslateResult): void {
  expect(violations(out)).toEqual([]);
}

describe("parseNodeId", () => {
  it("reads kind, IP, workload and namespace from Istio's node id", () => {
    expect(parseNodeId("sidecar~10.0.0.12~reviews-v1-0.shop~shop.svc.cluster.local")).toEqual({
      id: "sidecar~10.0.0.12~reviews-v1-0.shop~shop.svc.cluster.local",
      kind: "sidecar",
      ip: "10.0.0.12",
      workloadName: "reviews-v1-0",
      namespace: "shop",
      proxyless: false,
    });
    expect(parseNodeId("router~10.0.0.1~ingress-0.istio-system~istio-system.svc.cluster.local").kind).toBe("router");
    expect(parseNodeId("anything", "gRPC Node Pure JS").proxyless).toBe(true);
  });
});

describe("sidecar", () => {
  const reviews = parseNodeId("sidecar~10.0.0.12~reviews-v1-0.default~default.svc.cluster.local");
  const out = translate(normalise(bookinfoKube()).model, reviews);

  it("captures outbound traffic on 15001 and passes unknown destinations through", () => {
    expect(listener(out, "virtualOutbound")).toMatchObject({
      address: { socket_address: { address: "0.0.0.0", port_value: 15001 } },
      use_original_dst: true,
      filter_chains: [{ filters: [{ typed_config: { cluster: "PassthroughCluster" } }] }],
    });
    expect(cluster(out, "PassthroughCluster")).toMatchObject({ type: "ORIGINAL_DST", lb_policy: "CLUSTER_PROVIDED" });
  });

  it("serves its own workload's ports on 15006 through inbound|<port>|| to the app on loopback", () => {
    expect(listener(out, "virtualInbound")).toMatchObject({
      address: { socket_address: { port_value: 15006 } },
      filter_chains: [
        {
          filter_chain_match: { destination_port: 9080 },
          filters: [
            {
              typed_config: {
                route_config: {
                  virtual_hosts: [{ domains: ["*"], routes: [{ route: { cluster: "inbound|9080||" } }] }],
                },
              },
            },
          ],
        },
      ],
    });
    expect(cluster(out, "inbound|9080||")).toMatchObject({
      type: "STATIC",
      load_assignment: {
        endpoints: [
          { lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 9080 } } } }] },
        ],
      },
    });
    acceptedByEnvoy(out);
  });

  it("lets WebSocket upgrades through every HTTP connection manager, inbound and outbound, as Istio does", () => {
    const hcms = out.listeners.flatMap((l) =>
      ((l["filter_chains"] ?? []) as { filters: { typed_config: JsonObject }[] }[]).flatMap((c) =>
        c.filters.map((f) => f.typed_config).filter((t) => String(t["@type"]).endsWith(".HttpConnectionManager")),
      ),
    );
    expect(hcms.length).toBeGreaterThanOrEqual(2); // 15006's HTTP chain and an outbound HTTP port at least
    for (const hcm of hcms) expect(hcm["upgrade_configs"]).toEqual([{ upgrade_type: "websocket" }]);
    acceptedByEnvoy(out);
  });

  it("has no inbound listener for a workload that serves nothing", () => {
    const client = translate(
      normalise(bookinfoKube()).model,
      parseNodeId("sidecar~10.9.9.9~curl.default~default.svc.cluster.local"),
    );
    expect(client.listeners.map((l) => l["name"])).toEqual(["virtualOutbound", "0.0.0.0_9080"]);
  });

  it("serves inbound on the ports of the Services that select a pod that isn't Ready yet (its readiness probe goes through 15006)", () => {
    const objects = bookinfoKube().map((o) =>
      o.kind === "EndpointSlice" && o.metadata?.name?.startsWith("ratings-")
        ? { ...o, endpoints: (o["endpoints"] as JsonObject[]).map((e) => ({ ...e, conditions: { ready: false } })) }
        : o,
    );
    objects.push(
      ...parseYaml(`
apiVersion: v1
kind: Service
metadata: { name: ratings-admin, namespace: default }
spec: { selector: { app: ratings }, ports: [{ name: http-admin, port: 80, targetPort: admin }] }
---
apiVersion: v1
kind: Service
metadata: { name: ratings-metrics, namespace: default }
spec: { selector: { app: ratings }, ports: [{ name: http-metrics, port: 81, targetPort: metrics }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ratings-metrics-x, namespace: default, labels: { kubernetes.io/service-name: ratings-metrics } }
addressType: IPv4
endpoints: []`),
    );
    const pod = objects.find((o) => o.kind === "Pod" && o.metadata?.name === "ratings-v1-0");
    if (!pod) throw new Error("bookinfoKube has no ratings pod");
    pod["spec"] = { containers: [{ name: "ratings", ports: [{ name: "admin", containerPort: 9901 }] }] };
    const model = normalise(objects).model;
    expect(model.services.find((s) => s.hostname.startsWith("ratings."))?.endpoints).toEqual([]);
    const ratings = translate(model, parseNodeId("sidecar~10.0.0.13~ratings-v1-0.default~default.svc.cluster.local"));
    const chains = listener(ratings, "virtualInbound")["filter_chains"] as JsonObject[];
    // 9080 by number, 9901 by the container port's name; `metrics` names no port of the pod: no chain.
    expect(chains.map((c) => (c["filter_chain_match"] as JsonObject)["destination_port"])).toEqual([9080, 9901]);
    expect(cluster(ratings, "inbound|9901||")).toBeDefined();
    acceptedByEnvoy(ratings);
  });

  it("only gives the short-name domain to proxies in the service's namespace", () => {
    const other = translate(
      normalise(bookinfoKube()).model,
      parseNodeId("sidecar~10.1.0.1~x.other~other.svc.cluster.local"),
    );
    const vhost = (routeConfig(other, "9080")["virtual_hosts"] as JsonObject[])[0];
    expect(vhost?.["domains"]).not.toContain("details");
    expect(vhost?.["domains"]).toContain("details.default");
  });
});

describe("TCP services", () => {
  it("get a listener per virtual IP and port that proxies bytes to the service's cluster", () => {
    const model = normalise(
      parseYaml(`
apiVersion: v1
kind: Service
metadata: { name: mysql, namespace: db }
spec: { clusterIP: 10.96.5.5, ports: [{ name: tcp-mysql, port: 3306 }] }`),
    ).model;
    const out = translate(model, parseNodeId("sidecar~10.0.0.9~app.default~default.svc.cluster.local"));
    expect(listener(out, "10.96.5.5_3306")).toMatchObject({
      address: { socket_address: { address: "10.96.5.5", port_value: 3306 } },
      bind_to_port: false,
      filter_chains: [
        {
          filters: [
            {
              name: "envoy.filters.network.tcp_proxy",
              typed_config: { cluster: "outbound|3306||mysql.db.svc.cluster.local" },
            },
          ],
        },
      ],
    });
    expect(out.routes).toEqual([]);
    acceptedByEnvoy(out);
  });

  it("take a ServiceEntry's /32 address as the address it is (a listener on 10.1.2.3, matched by destination)", () => {
    const model = normalise(
      parseYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: pg, namespace: db }
spec:
  hosts: [pg.example.com]
  addresses: [10.1.2.3/32]
  ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
  resolution: STATIC
  endpoints: [{ address: 10.9.9.9 }]`),
    ).model;
    const out = translate(model, parseNodeId("sidecar~10.0.0.9~app.default~default.svc.cluster.local"));
    expect(listener(out, "10.1.2.3_5432")).toMatchObject({ address: { socket_address: { address: "10.1.2.3" } } });
    acceptedByEnvoy(out);
  });
});

describe("reports instead of dropping", () => {
  it("warns about a VirtualService host that matches no service, and still serves the rest", () => {
    const out = translate(
      meshModel(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: typo, namespace: default }
spec:
  hosts: [ehco, echo]
  http: [{ route: [{ destination: { host: echo } }] }]`),
      parseNodeId("sidecar~127.0.0.9~c.default~default.svc.cluster.local"),
    );
    expect(out.warnings).toEqual(['VirtualService/default/typo: host "ehco" matches no service']);
    expect(out.routes.length).toBeGreaterThan(0);
  });
});

describe("gateway", () => {
  const GATEWAY = `
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: { name: bookinfo-gateway, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: { name: bookinfo, namespace: default }
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match: [{ uri: { exact: /productpage } }, { uri: { prefix: /static } }]
    route: [{ destination: { host: productpage, port: { number: 9080 } } }]
---
apiVersion: v1
kind: Pod
metadata: { name: ingress-0, namespace: default, labels: { istio: ingressgateway } }
status: { podIP: 10.0.1.1 }`;
  const model = normalise([...bookinfoKube(), ...parseYaml(GATEWAY)]).model;
  const router = parseNodeId("router~10.0.1.1~ingress-0.default~default.svc.cluster.local");
  const out = translate(model, router);

  it("listens on the Gateway's server port and routes the bound VirtualService by RDS http.<port>", () => {
    expect(out.listeners.map((l) => l["name"])).toEqual(["0.0.0.0_80"]);
    expect(listener(out, "0.0.0.0_80")).toMatchObject({
      address: { socket_address: { port_value: 80 } },
      filter_chains: [{ filters: [{ typed_config: { rds: { route_config_name: "http.80" } } }] }],
    });
    const routes = routesOf(out, "http.80", "*:80");
    expect(routes.map((r) => r["match"])).toEqual([{ path: "/productpage" }, { prefix: "/static" }]);
    expect(routes[0]?.["route"]).toMatchObject({ cluster: "outbound|9080||productpage.default.svc.cluster.local" });
    expect(listener(out, "0.0.0.0_80")).toMatchObject({
      filter_chains: [{ filters: [{ typed_config: { upgrade_configs: [{ upgrade_type: "websocket" }] } }] }],
    });
    acceptedByEnvoy(out);
  });

  it("keeps the gateway-bound VirtualService off sidecars", () => {
    const sidecar = translate(
      model,
      parseNodeId("sidecar~10.0.0.10~productpage-v1-0.default~default.svc.cluster.local"),
    );
    expect(sidecar.routes.map((r) => r["name"])).toEqual(["9080"]);
    expect(sidecar.warnings).toEqual([]);
  });

  it("answers 404 for hosts no VirtualService binds", () => {
    const lonely = normalise([
      ...bookinfoKube(),
      ...parseYaml(GATEWAY.split("---")[0] ?? ""),
      ...parseYaml(GATEWAY.split("---")[2] ?? ""),
    ]).model;
    const res = translate(lonely, router);
    expect(routesOf(res, "http.80", "blackhole:80")[0]).toMatchObject({ direct_response: { status: 404 } });
  });

  it("gives a router no listeners from Gateways that don't select it (nor from other namespaces when its pod is unknown)", () => {
    expect(
      translate(model, parseNodeId("router~10.0.9.9~other-0.elsewhere~elsewhere.svc.cluster.local")).listeners,
    ).toEqual([]);
  });

  it("configures a gateway only from Gateways whose selector matches its labels, as istiod does", () => {
    const egress = GATEWAY.replace("istio: ingressgateway }", "istio: egressgateway }");
    const unselected = normalise([...bookinfoKube(), ...parseYaml(egress)]).model;
    expect(translate(unselected, router).listeners).toEqual([]);
    // A router whose workload is unknown has no labels: a Gateway with a selector doesn't configure it, in any
    // namespace; one without a selector does.
    const unknown = parseNodeId("router~10.0.9.8~ingress-9.default~default.svc.cluster.local");
    expect(translate(model, unknown).listeners).toEqual([]);
    const open = normalise([
      ...bookinfoKube(),
      ...parseYaml(GATEWAY.replace("  selector: { istio: ingressgateway }\n", "")),
    ]);
    expect(translate(open.model, unknown).listeners.map((l) => l["name"])).toEqual(["0.0.0.0_80"]);
  });
});

describe("gRPC-Web ports", () => {
  const GRPC_WEB = "envoy.filters.http.grpc_web";
  const filterNames = (chain: JsonObject) =>
    (((chain["filters"] as JsonObject[])[0]?.["typed_config"] as JsonObject)["http_filters"] as JsonObject[]).map(
      (f) => f["name"],
    );

  it("translate gRPC-Web to gRPC on a GRPC-WEB gateway server, as Istio adds its grpc_web filter", () => {
    const model = normalise([
      ...bookinfoKube(),
      ...parseYaml(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: web, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 8080, name: grpc-web, protocol: GRPC-WEB }
    hosts: ["*"]
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: ["*"]
---
apiVersion: v1
kind: Pod
metadata: { name: ingress-0, namespace: default, labels: { istio: ingressgateway } }
status: { podIP: 10.0.1.1 }`),
    ]).model;
    const out = translate(model, parseNodeId("router~10.0.1.1~ingress-0.default~default.svc.cluster.local"));
    const chain = (name: string) => (listener(out, name)["filter_chains"] as JsonObject[])[0] as JsonObject;
    expect(filterNames(chain("0.0.0.0_8080"))[0]).toBe(GRPC_WEB);
    expect(filterNames(chain("0.0.0.0_80"))).not.toContain(GRPC_WEB);
    acceptedByEnvoy(out);
  });

  it("translate it on a sidecar's inbound port named grpc-web, to the app over HTTP/2 (Istio's IsHTTP2)", () => {
    const objects = [
      ...bookinfoKube(),
      ...parseYaml(`
apiVersion: v1
kind: Service
metadata: { name: ratings-web, namespace: default }
spec: { selector: { app: ratings }, ports: [{ name: grpc-web, port: 81, targetPort: 9090 }] }`),
    ];
    const ratings = translate(
      normalise(objects).model,
      parseNodeId("sidecar~10.0.0.13~ratings-v1-0.default~default.svc.cluster.local"),
    );
    const chains = listener(ratings, "virtualInbound")["filter_chains"] as JsonObject[];
    const byPort = (p: number) =>
      chains.find((c) => (c["filter_chain_match"] as JsonObject)["destination_port"] === p) as JsonObject;
    expect(filterNames(byPort(9090))[0]).toBe(GRPC_WEB);
    expect(filterNames(byPort(9080))).not.toContain(GRPC_WEB);
    expect(JSON.stringify(cluster(ratings, "inbound|9090||"))).toContain("http2_protocol_options");
    acceptedByEnvoy(ratings);
  });
});

describe("proxyless gRPC", () => {
  const grpc = parseNodeId("sidecar~127.0.0.1~client.default~default.svc.cluster.local", "gRPC Node Pure JS");

  it("answers the listener named by the target with an API listener that uses RDS", () => {
    const out = translate(meshModel(ECHO_SUBSETS), grpc, { listenerNames: ["echo"] });
    expect(out.listeners).toEqual([
      {
        "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
        name: "echo",
        api_listener: {
          api_listener: {
            "@type":
              "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            stat_prefix: "echo",
            rds: { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: "echo" },
            http_filters: [
              {
                name: "envoy.filters.http.fault",
                typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault" },
              },
              {
                name: "envoy.filters.http.router",
                typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
              },
            ],
          },
        },
      },
    ]);
    expect(routeConfig(out, "echo")["virtual_hosts"]).toMatchObject([{ domains: ["echo", "echo:7070"] }]);
    // Its deadline comes from max_stream_duration (gRFC A31); Envoy-shaped proxies get max_grpc_timeout instead.
    const vh = (routeConfig(out, "echo")["virtual_hosts"] as { routes: { route: Record<string, unknown> }[] }[])[0];
    expect(vh?.routes[0]?.route).toMatchObject({
      timeout: "0s",
      max_stream_duration: { max_stream_duration: "0s", grpc_timeout_header_max: "0s" },
    });
    expect(vh?.routes[0]?.route).not.toHaveProperty("max_grpc_timeout");
    expect(cluster(out, "outbound|7070|v2|echo")).toMatchObject({ lb_policy: "ROUND_ROBIN", type: "EDS" });
    expect(addresses(assignment(out, "outbound|7070|v2|echo"))).toEqual(["127.0.0.2:7072"]);
    expect(out.clusters.map((c) => c["name"])).not.toContain("PassthroughCluster");
    acceptedByEnvoy(out);
  });

  it("reports a requested listener that names no service", () => {
    const out = translate(meshModel(), grpc, { listenerNames: ["nope:1"] });
    expect(out.listeners).toEqual([]);
    expect(out.warnings).toEqual(['listener "nope:1" requested by default names no service port']);
  });
});

describe("local mode", () => {
  it("tells workloads sharing the loopback address apart by their labels", () => {
    const v2 = translate(meshModel(), parseNodeId("sidecar~127.0.0.2~echo-v2.default~default.svc.cluster.local"));
    expect(v2.clusters.map((c) => c["name"]).filter((n) => String(n).startsWith("inbound"))).toEqual([
      "inbound|7072||",
    ]);
    const web = translate(
      normalise(
        parseYaml(`
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: a }
spec: { address: 127.0.0.1, labels: { app: a } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: b }
spec: { address: 127.0.0.1, labels: { app: b } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: a }
spec: { hosts: [a.local], ports: [{ number: 80, name: http, targetPort: 8081 }], workloadSelector: { labels: { app: a } } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: b }
spec: { hosts: [b.local], ports: [{ number: 80, name: http, targetPort: 8082 }], workloadSelector: { labels: { app: b } } }
`),
      ).model,
      parseNodeId("sidecar~127.0.0.1~b.default~default.svc.cluster.local"),
    );
    expect(web.clusters.map((c) => c["name"]).filter((n) => String(n).startsWith("inbound"))).toEqual([
      "inbound|8082||",
    ]);
  });
});
