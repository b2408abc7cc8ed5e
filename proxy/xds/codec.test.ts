import { appendRepeated, decodeResource, encodeMessage, encodeResource } from "./codec.js";
import { messageType } from "./protos.js";
import { TYPE, type JsonObject } from "./types.js";

const cluster: JsonObject = {
  "@type": TYPE.cluster,
  name: "outbound|9080|v1|reviews.default.svc.cluster.local",
  type: "EDS",
  eds_cluster_config: {
    eds_config: { ads: {}, resource_api_version: "V3" },
    service_name: "outbound|9080|v1|reviews.default.svc.cluster.local",
  },
  connect_timeout: "1.5s",
  lb_policy: "RING_HASH",
  ring_hash_lb_config: { minimum_ring_size: 1024 },
  circuit_breakers: { thresholds: [{ max_connections: 100, max_pending_requests: 10, max_retries: 4294967295 }] },
  outlier_detection: { consecutive_5xx: 5, interval: "10s", base_ejection_time: "30s", max_ejection_percent: 10 },
  metadata: {
    filter_metadata: {
      istio: {
        config: "/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews",
        n: 1,
        list: [true, "x"],
      },
    },
  },
};

const listener: JsonObject = {
  "@type": TYPE.listener,
  name: "echo",
  api_listener: {
    api_listener: {
      "@type": TYPE.httpConnectionManager,
      stat_prefix: "echo",
      rds: { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: "echo" },
      http_filters: [
        { name: "envoy.filters.http.fault", typed_config: { "@type": TYPE.fault } },
        { name: "envoy.filters.http.router", typed_config: { "@type": TYPE.router } },
      ],
    },
  },
};

const route: JsonObject = {
  "@type": TYPE.route,
  name: "9080",
  virtual_hosts: [
    {
      name: "reviews.default.svc.cluster.local:9080",
      domains: ["reviews", "reviews:9080"],
      routes: [
        {
          match: { prefix: "/", headers: [{ name: "end-user", string_match: { exact: "jason" } }] },
          route: {
            weighted_clusters: {
              clusters: [
                { name: "a", weight: 50 },
                { name: "b", weight: 50 },
              ],
            },
            timeout: "0.25s",
            retry_policy: { retry_on: "connect-failure", num_retries: 2, retriable_status_codes: [503] },
          },
          typed_per_filter_config: {
            "envoy.filters.http.fault": {
              "@type": TYPE.fault,
              abort: { http_status: 500, percentage: { numerator: 100, denominator: "HUNDRED" } },
              delay: { fixed_delay: "0.000000001s", percentage: { numerator: 5000, denominator: "MILLION" } },
            },
          },
        },
      ],
    },
  ],
};

const endpoints: JsonObject = {
  "@type": TYPE.endpoint,
  cluster_name: "outbound|9080|v1|reviews.default.svc.cluster.local",
  endpoints: [
    {
      locality: {},
      lb_endpoints: [
        {
          endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 9080 } } },
          load_balancing_weight: 1,
        },
      ],
    },
  ],
};

describe("encodeResource / decodeResource", () => {
  it.each([
    ["Cluster", cluster],
    ["Listener with a nested HttpConnectionManager", listener],
    ["RouteConfiguration with a fault override", route],
    ["ClusterLoadAssignment", endpoints],
  ])("round-trips a %s unchanged", (_name, resource) => {
    const any = encodeResource(resource);
    expect(any.type_url).toBe(resource["@type"]);
    expect(any.value.length).toBeGreaterThan(0);
    expect(decodeResource(any)).toEqual(resource);
  });

  it("writes real protobuf: durations and wrappers are messages on the wire", () => {
    const type = messageType(TYPE.cluster);
    const decoded = type.toObject(type.decode(encodeResource(cluster).value), { longs: Number, enums: String });
    expect(decoded["connect_timeout"]).toEqual({ seconds: 1, nanos: 500000000 });
    expect(decoded["circuit_breakers"].thresholds[0].max_connections).toEqual({ value: 100 });
    expect(decoded["lb_policy"]).toBe("RING_HASH");
  });

  it("packs the nested typed_config as an Any with its type URL", () => {
    const type = messageType(TYPE.listener);
    const decoded = type.toObject(type.decode(encodeResource(listener).value));
    expect(decoded["api_listener"].api_listener.type_url).toBe(TYPE.httpConnectionManager);
  });

  it("accepts camelCase field names and reports unknown ones with their path", () => {
    const camel = { "@type": TYPE.cluster, name: "c", connectTimeout: "2s" };
    expect(decodeResource(encodeResource(camel))).toEqual({ "@type": TYPE.cluster, name: "c", connect_timeout: "2s" });
    expect(() => encodeResource({ "@type": TYPE.cluster, name: "c", bogus: 1 })).toThrow(
      /Cluster: unknown field "bogus"/,
    );
    expect(() => encodeResource({ "@type": TYPE.cluster, connect_timeout: "soon" })).toThrow(
      /connect_timeout: bad duration/,
    );
  });
});

describe("a message assembled from encoded parts", () => {
  it("decodes as the whole message encoded at once: a RouteConfiguration from its virtual hosts", () => {
    const vhost = (n: number): JsonObject => ({
      name: `svc-${n}:80`,
      domains: [`svc-${n}`, `svc-${n}:80`],
      routes: [{ match: { prefix: "/" }, route: { cluster: `outbound|80||svc-${n}`, timeout: "0s" } }],
    });
    const whole: JsonObject = {
      "@type": TYPE.route,
      name: "80",
      virtual_hosts: [vhost(1), vhost(2), vhost(3)],
      validate_clusters: false,
    };
    const head = encodeResource({ ...whole, virtual_hosts: [] });
    const parts = [1, 2, 3].map((n) => encodeMessage("envoy.config.route.v3.VirtualHost", vhost(n)));
    const assembled = { type_url: head.type_url, value: appendRepeated(head.value, 2, parts) };
    expect(decodeResource(assembled)).toEqual(decodeResource(encodeResource(whole)));
    // A part of 128 bytes or more needs a two-byte length.
    const big = vhost(4);
    big["domains"] = Array.from({ length: 40 }, (_, i) => `host-${i}.example.com`);
    const long = appendRepeated(head.value, 2, [encodeMessage("envoy.config.route.v3.VirtualHost", big)]);
    expect(decodeResource({ type_url: head.type_url, value: long })).toEqual(
      decodeResource(encodeResource({ ...whole, virtual_hosts: [big] })),
    );
  });
});
