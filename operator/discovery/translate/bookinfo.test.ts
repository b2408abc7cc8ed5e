// Istio's own Bookinfo networking YAML, unchanged, against Bookinfo's Services: the clusters and routes a
// productpage sidecar must get.
import type { JsonObject } from "../../../proxy/xds/types.js";
import { bookinfoLocalModel, bookinfoModel } from "../../../test/support/discovery/bookinfo.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import {
  addresses,
  assignment,
  cluster,
  listener,
  routeConfig,
  routesOf,
  virtualHost,
} from "../../../test/support/discovery/find.js";
import { parseNodeId, translate } from "./index.js";

const productpage = parseNodeId("sidecar~10.0.0.10~productpage-v1-0.default~default.svc.cluster.local");
const REVIEWS = "reviews.default.svc.cluster.local";
const reviewsRoutes = (files: string[]): JsonObject[] =>
  routesOf(translate(bookinfoModel(...files), productpage), "9080", `${REVIEWS}:9080`);

describe("Bookinfo: destination-rule-all.yaml", () => {
  const out = translate(bookinfoModel("destination-rule-all.yaml"), productpage);

  it("gives one EDS cluster per service port and per subset, named as Istio names them", () => {
    const names = out.clusters.map((c) => c["name"]).filter((n) => String(n).startsWith("outbound|"));
    expect(names).toEqual(
      expect.arrayContaining([
        "outbound|9080||reviews.default.svc.cluster.local",
        "outbound|9080|v1|reviews.default.svc.cluster.local",
        "outbound|9080|v2|reviews.default.svc.cluster.local",
        "outbound|9080|v3|reviews.default.svc.cluster.local",
        "outbound|9080|v2-mysql-vm|ratings.default.svc.cluster.local",
        "outbound|9080|v1|productpage.default.svc.cluster.local",
        "outbound|9080|v2|details.default.svc.cluster.local",
      ]),
    );
    expect(names).toHaveLength(2 + 3 + 4 + 5);
    expect(cluster(out, `outbound|9080|v2|${REVIEWS}`)).toMatchObject({
      type: "EDS",
      eds_cluster_config: { service_name: `outbound|9080|v2|${REVIEWS}`, eds_config: { ads: {} } },
      lb_policy: "LEAST_REQUEST",
    });
  });

  it("selects each subset's endpoints by its labels", () => {
    expect(addresses(assignment(out, `outbound|9080||${REVIEWS}`))).toEqual([
      "10.0.0.12:9080",
      "10.0.0.13:9080",
      "10.0.0.14:9080",
    ]);
    expect(addresses(assignment(out, `outbound|9080|v2|${REVIEWS}`))).toEqual(["10.0.0.13:9080"]);
    expect(addresses(assignment(out, "outbound|9080|v2-mysql|ratings.default.svc.cluster.local"))).toEqual([]);
  });

  it("routes each service by default to its default cluster, with Istio's default retries", () => {
    const [route] = reviewsRoutes(["destination-rule-all.yaml"]);
    expect(route).toMatchObject({
      match: { prefix: "/" },
      route: {
        cluster: `outbound|9080||${REVIEWS}`,
        timeout: "0s",
        retry_policy: {
          num_retries: 2,
          retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
          retriable_status_codes: [503],
          host_selection_retry_max_attempts: 5,
          retry_host_predicate: [{ name: "envoy.retry_host_predicates.previous_hosts" }],
        },
      },
    });
  });

  it("answers the short name, name.ns, name.ns.svc, the FQDN, the cluster IP and their :port forms", () => {
    const domains = virtualHost(out, "9080", `${REVIEWS}:9080`)["domains"];
    expect(domains).toEqual(
      expect.arrayContaining([
        "reviews",
        "reviews:9080",
        "reviews.default",
        "reviews.default:9080",
        "reviews.default.svc",
        "reviews.default.svc:9080",
        REVIEWS,
        `${REVIEWS}:9080`,
        "10.96.0.12",
        "10.96.0.12:9080",
      ]),
    );
  });

  it("has an outbound listener per HTTP port that takes its routes from RDS", () => {
    expect(listener(out, "0.0.0.0_9080")).toMatchObject({
      filter_chains: [{ filters: [{ typed_config: { rds: { route_config_name: "9080" } } }] }],
    });
    // The four services, then Istio's catch-all for hosts the mesh doesn't know (ALLOW_ANY by default).
    const hosts = routeConfig(out, "9080")["virtual_hosts"] as { name: string }[];
    expect(hosts).toHaveLength(5);
    expect(hosts[4]).toMatchObject({
      name: "allow_any",
      domains: ["*"],
      routes: [{ route: { cluster: "PassthroughCluster" } }],
    });
  });

  it("produces only resources that pass Envoy's own field rules", () => {
    expect(violations(out)).toEqual([]);
    expect(out.warnings).toEqual([]);
  });
});

describe("Bookinfo: routing files", () => {
  it("virtual-service-all-v1.yaml sends every service to v1", () => {
    const out = translate(bookinfoModel("destination-rule-all.yaml", "virtual-service-all-v1.yaml"), productpage);
    for (const app of ["productpage", "reviews", "ratings", "details"]) {
      const host = `${app}.default.svc.cluster.local`;
      const routes = routesOf(out, "9080", `${host}:9080`);
      expect(routes).toHaveLength(1);
      expect(routes[0]).toMatchObject({ match: { prefix: "/" }, route: { cluster: `outbound|9080|v1|${host}` } });
    }
    expect(out.warnings).toEqual([]);
  });

  it("virtual-service-reviews-50-v3.yaml splits reviews 50/50 between v1 and v3", () => {
    const [route] = reviewsRoutes(["destination-rule-all.yaml", "virtual-service-reviews-50-v3.yaml"]);
    expect(route?.["route"]).toMatchObject({
      weighted_clusters: {
        clusters: [
          { name: `outbound|9080|v1|${REVIEWS}`, weight: 50 },
          { name: `outbound|9080|v3|${REVIEWS}`, weight: 50 },
        ],
      },
    });
  });

  it("virtual-service-reviews-test-v2.yaml sends end-user jason to v2, first, and everyone else to v1", () => {
    const routes = reviewsRoutes(["destination-rule-all.yaml", "virtual-service-reviews-test-v2.yaml"]);
    expect(routes).toHaveLength(2);
    expect(routes[0]).toMatchObject({
      match: { prefix: "/", headers: [{ name: "end-user", string_match: { exact: "jason" } }] },
      route: { cluster: `outbound|9080|v2|${REVIEWS}` },
    });
    expect(routes[1]).toMatchObject({ match: { prefix: "/" }, route: { cluster: `outbound|9080|v1|${REVIEWS}` } });
    expect(routes[1]?.["match"]).not.toHaveProperty("headers");
  });

  it("virtual-service-ratings-test-abort.yaml aborts jason's requests with 500, without retries", () => {
    const out = translate(
      bookinfoModel("destination-rule-all.yaml", "virtual-service-ratings-test-abort.yaml"),
      productpage,
    );
    const routes = routesOf(out, "9080", "ratings.default.svc.cluster.local:9080");
    expect(routes[0]).toMatchObject({
      match: { headers: [{ name: "end-user", string_match: { exact: "jason" } }] },
      typed_per_filter_config: {
        "envoy.filters.http.fault": {
          abort: { http_status: 500, percentage: { numerator: 1000000, denominator: "MILLION" } },
        },
      },
      route: { cluster: "outbound|9080|v1|ratings.default.svc.cluster.local", timeout: "0s" },
    });
    expect(routes[0]?.["route"]).not.toHaveProperty("retry_policy");
    expect(routes[1]?.["route"]).toHaveProperty("retry_policy.num_retries", 2);
    expect(violations(out)).toEqual([]);
  });

  it("reports a subset routed to but not defined, when the DestinationRule is missing", () => {
    const out = translate(bookinfoModel("virtual-service-all-v1.yaml"), productpage);
    expect(out.warnings).toContain(
      'VirtualService/default/reviews: http[0].route[0]: subset "v1" of "reviews" is not defined by any DestinationRule',
    );
  });
});

describe("Bookinfo in local mode (ServiceEntry + WorkloadEntry on loopback)", () => {
  const local = parseNodeId("sidecar~127.0.0.1~productpage-v1.default~default.svc.cluster.local");
  const out = translate(bookinfoLocalModel("destination-rule-all.yaml", "virtual-service-reviews-50-v3.yaml"), local);

  it("takes Istio's files unchanged: short hosts name the local services", () => {
    expect(out.warnings).toEqual([]);
    expect(addresses(assignment(out, "outbound|9080|v3|reviews"))).toEqual(["127.0.0.1:9085"]);
    expect(addresses(assignment(out, "outbound|9080||reviews"))).toEqual([
      "127.0.0.1:9083",
      "127.0.0.1:9084",
      "127.0.0.1:9085",
    ]);
    expect(routesOf(out, "9080", "reviews:9080")[0]?.["route"]).toMatchObject({
      weighted_clusters: {
        clusters: [
          { name: "outbound|9080|v1|reviews", weight: 50 },
          { name: "outbound|9080|v3|reviews", weight: 50 },
        ],
      },
    });
  });

  it("gives productpage's proxy its own inbound port only", () => {
    expect(out.clusters.map((c) => String(c["name"])).filter((n) => n.startsWith("inbound"))).toEqual([
      "inbound|9081||",
    ]);
  });
});
