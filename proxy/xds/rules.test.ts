import { envoyRuleViolations } from "./rules.js";
import { TYPE } from "./types.js";

describe("envoyRuleViolations", () => {
  it("passes a valid route table and cluster", () => {
    expect(
      envoyRuleViolations({
        "@type": TYPE.route,
        name: "80",
        virtual_hosts: [
          {
            name: "web",
            domains: ["web"],
            routes: [{ match: { prefix: "/" }, route: { cluster: "c", timeout: "1s" } }],
          },
        ],
      }),
    ).toEqual([]);
    expect(
      envoyRuleViolations({
        "@type": TYPE.cluster,
        name: "c",
        type: "EDS",
        connect_timeout: "1s",
        eds_cluster_config: { eds_config: { ads: {}, resource_api_version: "V3" } },
      }),
    ).toEqual([]);
  });

  it("reports what Envoy would reject, with the field path", () => {
    expect(
      envoyRuleViolations({
        "@type": TYPE.route,
        name: "80",
        virtual_hosts: [
          { name: "", domains: [], routes: [{ route: { cluster: "" } }] },
          { name: "x", domains: ["x"], routes: [{ match: { prefix: "/" } }] },
        ],
      }),
    ).toEqual([
      "virtual_hosts[0].name: must have at least 1 characters",
      "virtual_hosts[0].domains: needs at least 1 items",
      "virtual_hosts[0].routes[0].match: is required",
      "virtual_hosts[0].routes[0].route.cluster: must have at least 1 characters",
      "virtual_hosts[1].routes[0]: one of route, redirect, direct_response, filter_action, non_forwarding_action is required",
    ]);
  });

  it("checks durations, enums and nested typed configs", () => {
    expect(
      envoyRuleViolations({
        "@type": TYPE.cluster,
        name: "c",
        connect_timeout: "0s",
        outlier_detection: { max_ejection_percent: 101 },
        typed_extension_protocol_options: {
          x: { "@type": TYPE.httpProtocolOptions, common_http_protocol_options: { max_requests_per_connection: 0 } },
        },
      }),
    ).toEqual(
      expect.arrayContaining([
        "connect_timeout: must be greater than 0s, is 0s",
        "outlier_detection.max_ejection_percent: must be at most 100, is 101",
      ]),
    );
  });

  it("looks inside typed configs", () => {
    expect(
      envoyRuleViolations({
        "@type": TYPE.listener,
        name: "l",
        filter_chains: [
          {
            filters: [
              {
                name: "hcm",
                typed_config: {
                  "@type": TYPE.httpConnectionManager,
                  http_filters: [{ name: "", typed_config: { "@type": TYPE.router } }],
                },
              },
            ],
          },
        ],
      }),
    ).toEqual([
      "filter_chains[0].filters[0].typed_config<HttpConnectionManager>: one of rds, route_config, scoped_routes is required",
      "filter_chains[0].filters[0].typed_config<HttpConnectionManager>.stat_prefix: must have at least 1 characters",
      "filter_chains[0].filters[0].typed_config<HttpConnectionManager>.http_filters[0].name: must have at least 1 characters",
    ]);
  });
});
