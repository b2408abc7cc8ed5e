import { TYPE } from "../../../proxy/xds/types.js";
import { bookinfoModel } from "../../../test/support/discovery/bookinfo.js";
import { parseNodeId, translate } from "../translate/index.js";
import type { TranslateResult } from "../translate/index.js";
import { envoyRuleViolations } from "../../../proxy/xds/rules.js";
import type { JsonObject } from "../../../proxy/xds/types.js";
import { EncodeCache, buildSnapshot, inconsistencies, ruleWarnings, selectResources } from "./snapshot.js";

const proxy = parseNodeId("sidecar~10.0.0.10~productpage-v1-0.default~default.svc.cluster.local");
const result = (): TranslateResult => translate(bookinfoModel("destination-rule-all.yaml"), proxy);

describe("snapshot consistency", () => {
  it("holds for what translate produces", () => {
    expect(inconsistencies(result())).toEqual([]);
  });

  it("finds EDS names without assignments and assignments without clusters", () => {
    const r = result();
    const [dropped] = r.endpoints.splice(0, 1);
    r.endpoints.push({ "@type": TYPE.endpoint, cluster_name: "outbound|1||orphan" });
    expect(inconsistencies(r)).toEqual([
      `EDS name "${String(dropped?.["cluster_name"])}" has no ClusterLoadAssignment`,
      'ClusterLoadAssignment "outbound|1||orphan" belongs to no EDS cluster',
    ]);
  });

  it("finds RDS names without route tables and route tables no listener uses", () => {
    const r = result();
    r.routes = [{ "@type": TYPE.route, name: "1234" }];
    expect(inconsistencies(r)).toEqual([
      'RDS name "9080" has no RouteConfiguration',
      'RouteConfiguration "1234" belongs to no listener',
    ]);
    expect(() => buildSnapshot("1", r, new EncodeCache())).toThrow(/^inconsistent snapshot/);
  });
});

describe("buildSnapshot", () => {
  it("hashes equal config equally and shares encoded resources", () => {
    const cache = new EncodeCache();
    const a = buildSnapshot("1", result(), cache);
    const b = buildSnapshot("2", result(), cache);
    expect(b.hash).toBe(a.hash);
    const selA = selectResources(a, TYPE.cluster, "*");
    const selB = selectResources(b, TYPE.cluster, "*");
    expect(selB.hash).toBe(selA.hash);
    expect(selB.entries[0]?.any).toBe(selA.entries[0]?.any);
    expect(selectResources(a, TYPE.route, ["9080", "nope"]).entries.map((e) => e.name)).toEqual(["9080"]);
  });

  it("reports resources that break Envoy's field rules, so the warning comes before the NACK", () => {
    const r = result();
    r.clusters.push({ "@type": TYPE.cluster, name: "bad", connect_timeout: "0s" });
    const snapshot = buildSnapshot("1", r, new EncodeCache());
    expect(ruleWarnings(snapshot)).toEqual(['CDS "bad": connect_timeout: must be greater than 0s, is 0s']);
  });

  it("checks a route table host by host, with the paths a check of the whole table gives", () => {
    const r = result();
    const [table] = r.routes;
    if (!table) throw new Error("no route table");
    const broken = {
      name: "broken",
      domains: ["broken"],
      routes: [{ match: { prefix: "/" }, route: { cluster: "" } }],
    };
    // The same host object twice in the table: its problems are found once, and named at each index.
    const hosts = (table["virtual_hosts"] ?? []) as JsonObject[];
    r.routes = [{ ...table, virtual_hosts: [broken, ...hosts, broken] } as typeof table];
    const whole = envoyRuleViolations(r.routes[0] as JsonObject).map((v) => `RDS "${String(table["name"])}": ${v}`);
    expect(whole).toEqual([
      `RDS "${String(table["name"])}": virtual_hosts[0].routes[0].route.cluster: must have at least 1 characters`,
      `RDS "${String(table["name"])}": virtual_hosts[${hosts.length + 1}].routes[0].route.cluster: must have at least 1 characters`,
    ]);
    expect(ruleWarnings(buildSnapshot("1", r, new EncodeCache()))).toEqual(whole);
  });
});
