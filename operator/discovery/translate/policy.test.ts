// DestinationRule traffic policies on clusters: load balancing, consistent hashing, connection pools,
// outlier detection, TLS, subset and port-level overrides.
import type { JsonObject } from "../../../proxy/xds/types.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { cluster, routesOf } from "../../../test/support/discovery/find.js";
import { meshModel } from "../../../test/support/discovery/mesh.js";
import { parseNodeId, translate } from "./index.js";
import type { TranslateResult } from "./index.js";

const client = parseNodeId("sidecar~127.0.0.9~client-0.default~default.svc.cluster.local");
const grpcClient = parseNodeId("sidecar~127.0.0.9~client-0.default~default.svc.cluster.local", "gRPC Node Pure JS");

function withRule(spec: string, proxy = client): TranslateResult {
  const out = translate(
    meshModel(`
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: { name: web }
spec:
  host: web.example.com
${spec}`),
    proxy,
  );
  expect(violations(out)).toEqual([]); // Envoy's field rules, and the engine compiles it
  return out;
}

const web = (out: TranslateResult, subset = ""): JsonObject => cluster(out, `outbound|80|${subset}|web.example.com`);

describe("load balancing", () => {
  it("defaults to LEAST_REQUEST with no rule, as Istio does, and unlimited circuit breakers", () => {
    const out = translate(meshModel(), client);
    expect(web(out)).toMatchObject({
      lb_policy: "LEAST_REQUEST",
      connect_timeout: "10s",
      circuit_breakers: {
        thresholds: [
          {
            max_connections: 4294967295,
            max_pending_requests: 4294967295,
            max_requests: 4294967295,
            max_retries: 4294967295,
          },
        ],
      },
    });
    expect(web(out)).not.toHaveProperty("outlier_detection");
  });

  it.each([
    ["ROUND_ROBIN", "ROUND_ROBIN"],
    ["RANDOM", "RANDOM"],
    ["LEAST_CONN", "LEAST_REQUEST"],
    ["LEAST_REQUEST", "LEAST_REQUEST"],
  ])("maps simple: %s to %s", (simple, lb) => {
    expect(web(withRule(`  trafficPolicy: { loadBalancer: { simple: ${simple} } }`))["lb_policy"]).toBe(lb);
  });

  it("gives proxyless gRPC clients only policies they support", () => {
    expect(web(translate(meshModel(), grpcClient))["lb_policy"]).toBe("ROUND_ROBIN");
    expect(
      web(
        withRule(
          `  trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true, maglev: {} } } }`,
          grpcClient,
        ),
      )["lb_policy"],
    ).toBe("RING_HASH");
  });

  it("hashes consistently on a ring (minimum 1024) or maglev (65537), and puts the hash policy on routes", () => {
    const ring = withRule(`  trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x-user } } }`);
    expect(web(ring)).toMatchObject({ lb_policy: "RING_HASH", ring_hash_lb_config: { minimum_ring_size: 1024 } });
    const [route] = routesOf(ring, "80", "web.example.com:80");
    expect(route?.["route"]).toMatchObject({ hash_policy: [{ header: { header_name: "x-user" } }] });
    // Retries stay on the hashed host.
    expect(route?.["route"]).not.toHaveProperty("retry_policy.retry_host_predicate");

    const maglev = withRule(
      `  trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: sess, ttl: 60s }, maglev: {} } } }`,
    );
    expect(web(maglev)).toMatchObject({ lb_policy: "MAGLEV", maglev_lb_config: { table_size: 65537 } });
    expect(routesOf(maglev, "80", "web.example.com:80")[0]?.["route"]).toMatchObject({
      hash_policy: [{ cookie: { name: "sess", ttl: "60s" } }],
    });

    const sized = withRule(
      `  trafficPolicy: { loadBalancer: { consistentHash: { httpQueryParameterName: u, ringHash: { minimumRingSize: 4096 } } } }`,
    );
    expect(web(sized)).toMatchObject({ ring_hash_lb_config: { minimum_ring_size: 4096 } });
    const source = withRule(`  trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true } } }`);
    expect(routesOf(source, "80", "web.example.com:80")[0]?.["route"]).toMatchObject({
      hash_policy: [{ connection_properties: { source_ip: true } }],
    });
  });
});

describe("warmup (slow start)", () => {
  it("writes Istio's warmup as the load balancer's slow_start_config, with Istio's defaults", () => {
    const lr = withRule(`  trafficPolicy: { loadBalancer: { warmup: { duration: 90s, aggression: 2 } } }`);
    expect(web(lr)).toMatchObject({
      lb_policy: "LEAST_REQUEST",
      least_request_lb_config: {
        slow_start_config: {
          slow_start_window: "90s",
          aggression: { default_value: 2 },
          min_weight_percent: { value: 10 },
        },
      },
    });
    const rr = withRule(`  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN, warmupDurationSecs: 30s } }`);
    expect(web(rr)).toMatchObject({
      lb_policy: "ROUND_ROBIN",
      round_robin_lb_config: { slow_start_config: { slow_start_window: "30s" } },
    });
  });
});

describe("connection pool and outlier detection", () => {
  it("turns connectionPool into circuit breaker thresholds and protocol options", () => {
    const out = withRule(`
  trafficPolicy:
    connectionPool:
      tcp: { maxConnections: 100, connectTimeout: 30ms }
      http: { http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRetries: 3, maxRequestsPerConnection: 1, idleTimeout: 5s }`);
    expect(web(out)).toMatchObject({
      connect_timeout: "0.03s",
      circuit_breakers: {
        thresholds: [{ max_connections: 100, max_pending_requests: 10, max_requests: 1000, max_retries: 3 }],
      },
      typed_extension_protocol_options: {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
          common_http_protocol_options: { max_requests_per_connection: 1, idle_timeout: "5s" },
        },
      },
    });
  });

  it("writes tcpKeepalive as upstream_connection_options and upgrades HTTP to HTTP/2 when asked", () => {
    const out = withRule(`
  trafficPolicy:
    connectionPool:
      tcp: { tcpKeepalive: { time: 2h, interval: 75s } }
      http: { h2UpgradePolicy: UPGRADE }`);
    expect(web(out)["upstream_connection_options"]).toEqual({
      tcp_keepalive: { keepalive_time: 7200, keepalive_interval: 75 },
    });
    expect(web(out)["typed_extension_protocol_options"]).toEqual({
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: {} },
      },
    });
  });

  it("caps HTTP/2 streams per connection and connection age as Istio writes them (maxConcurrentStreams, maxConnectionDuration)", () => {
    const out = withRule(`
  trafficPolicy:
    connectionPool:
      tcp: { maxConnectionDuration: 30m }
      http: { h2UpgradePolicy: UPGRADE, maxConcurrentStreams: 50 }`);
    expect(web(out)["typed_extension_protocol_options"]).toEqual({
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 50 } },
        common_http_protocol_options: { max_connection_duration: "1800s" },
      },
    });
  });

  it("sends each request in its client's protocol with useClientProtocol (use_downstream_protocol_config)", () => {
    const out = withRule(`
  trafficPolicy: { connectionPool: { http: { useClientProtocol: true, h2UpgradePolicy: UPGRADE } } }`);
    expect(web(out)["typed_extension_protocol_options"]).toEqual({
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
      },
    });
  });

  it("fills Istio's outlier detection defaults for fields left out", () => {
    const out = withRule(`  trafficPolicy: { outlierDetection: { baseEjectionTime: 1m } }`);
    expect(web(out)["outlier_detection"]).toEqual({
      consecutive_5xx: 5,
      enforcing_consecutive_5xx: 100,
      enforcing_success_rate: 0,
      interval: "10s",
      base_ejection_time: "60s",
      max_ejection_percent: 10,
    });
  });

  it("takes the given outlier detection values", () => {
    const out = withRule(
      `  trafficPolicy: { outlierDetection: { consecutive5xxErrors: 7, interval: 1s, baseEjectionTime: 3m, maxEjectionPercent: 100, consecutiveGatewayErrors: 2 } }`,
    );
    expect(web(out)["outlier_detection"]).toMatchObject({
      consecutive_5xx: 7,
      interval: "1s",
      base_ejection_time: "180s",
      max_ejection_percent: 100,
      consecutive_gateway_failure: 2,
    });
  });

  it("counts local-origin failures apart when the rule splits them, as istiod writes it", () => {
    const out = withRule(
      `  trafficPolicy: { outlierDetection: { splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 4 } }`,
    );
    expect(web(out)["outlier_detection"]).toMatchObject({
      split_external_local_origin_errors: true,
      consecutive_local_origin_failure: 4,
      enforcing_consecutive_local_origin_failure: 100,
    });
  });
});

describe("TLS and overrides", () => {
  it("verifies against the system's CA bundle when caCertificates is empty, as when it is left out (as Istio)", () => {
    const out = withRule(`  trafficPolicy: { tls: { mode: SIMPLE, caCertificates: "" } }`);
    expect(web(out)["transport_socket"]).toMatchObject({
      typed_config: {
        common_tls_context: { validation_context: { trusted_ca: { filename: "/etc/ssl/certs/ca-certificates.crt" } } },
      },
    });
  });

  it("originates TLS per tls.mode", () => {
    const simple = withRule(
      `  trafficPolicy: { tls: { mode: SIMPLE, sni: web.example.com, caCertificates: /etc/ca.pem } }`,
    );
    expect(web(simple)["transport_socket"]).toMatchObject({
      name: "envoy.transport_sockets.tls",
      typed_config: {
        sni: "web.example.com",
        common_tls_context: { validation_context: { trusted_ca: { filename: "/etc/ca.pem" } } },
      },
    });
    const crl = withRule(`  trafficPolicy: { tls: { mode: SIMPLE, caCertificates: /etc/ca.pem, caCrl: /etc/ca.crl } }`);
    expect(web(crl)["transport_socket"]).toMatchObject({
      typed_config: {
        common_tls_context: {
          validation_context: { trusted_ca: { filename: "/etc/ca.pem" }, crl: { filename: "/etc/ca.crl" } },
        },
      },
    });
    const mesh = withRule(`  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }`);
    expect(web(mesh)["transport_socket"]).toMatchObject({
      typed_config: {
        sni: "outbound_.80_._.web.example.com",
        common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "default" }] },
      },
    });
    expect(web(withRule(`  trafficPolicy: { tls: { mode: DISABLE } }`))).not.toHaveProperty("transport_socket");
  });

  it("checks a ServiceEntry's subjectAltNames as the identities its servers present under ISTIO_MUTUAL", () => {
    const out = translate(
      meshModel(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: vm }
spec:
  hosts: [vm.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  location: MESH_INTERNAL
  endpoints: [{ address: 10.9.0.1 }]
  subjectAltNames: ["spiffe://cluster.local/ns/vms/sa/billing"]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: vm }
spec: { host: vm.example.com, trafficPolicy: { tls: { mode: ISTIO_MUTUAL } } }`),
      client,
    );
    expect(violations(out)).toEqual([]);
    expect(cluster(out, "outbound|80||vm.example.com")["transport_socket"]).toMatchObject({
      typed_config: {
        common_tls_context: {
          combined_validation_context: {
            default_validation_context: {
              match_typed_subject_alt_names: [
                { san_type: "URI", matcher: { exact: "spiffe://cluster.local/ns/vms/sa/billing" } },
              ],
            },
          },
        },
      },
    });
  });

  it("verifies by default: the system CA bundle and the SNI as SAN; insecureSkipVerify turns it off; MUTUAL sends a certificate", () => {
    const simple = withRule(`  trafficPolicy: { tls: { mode: SIMPLE } }`);
    expect(web(simple)["transport_socket"]).toMatchObject({
      typed_config: {
        sni: "web.example.com",
        common_tls_context: {
          validation_context: {
            trusted_ca: { filename: "/etc/ssl/certs/ca-certificates.crt" },
            match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: "web.example.com" } }],
          },
        },
      },
    });
    const skip = withRule(`  trafficPolicy: { tls: { mode: SIMPLE, insecureSkipVerify: true } }`);
    expect(web(skip)["transport_socket"]).toMatchObject({
      typed_config: { sni: "web.example.com", common_tls_context: {} },
    });
    expect(web(skip)).not.toHaveProperty("transport_socket.typed_config.common_tls_context.validation_context");
    const mutual = withRule(`
  trafficPolicy:
    portLevelSettings:
    - port: { number: 80 }
      tls: { mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem, caCertificates: /ca.pem, subjectAltNames: [a.example, "spiffe://x/y"] }`);
    expect(web(mutual)["transport_socket"]).toMatchObject({
      typed_config: {
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { filename: "/c.pem" }, private_key: { filename: "/k.pem" } }],
          validation_context: {
            trusted_ca: { filename: "/ca.pem" },
            match_typed_subject_alt_names: [
              { san_type: "DNS", matcher: { exact: "a.example" } },
              { san_type: "URI", matcher: { exact: "spiffe://x/y" } },
            ],
          },
        },
      },
    });
  });

  it("lets a subset's policy override the rule's, and port-level settings override both defaults", () => {
    const out = withRule(`
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    connectionPool: { tcp: { maxConnections: 5 } }
    portLevelSettings:
    - port: { number: 80 }
      loadBalancer: { simple: RANDOM }
  subsets:
  - name: canary
    labels: { app: web }
    trafficPolicy: { loadBalancer: { simple: LEAST_REQUEST } }`);
    expect(web(out)["lb_policy"]).toBe("RANDOM");
    expect(web(out, "canary")).toMatchObject({
      lb_policy: "LEAST_REQUEST",
      circuit_breakers: { thresholds: [{ max_connections: 5 }] },
    });
  });
});
