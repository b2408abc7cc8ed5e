import { TYPE } from "../xds/types.js";
import { XdsState, edsNames, rdsNames } from "./xds-state.js";

const eds = (name: string) => ({
  name,
  type: "EDS",
  connect_timeout: "1s",
  eds_cluster_config: { eds_config: { ads: {} }, service_name: name },
});
const cla = (name: string, port: number) => ({
  cluster_name: name,
  endpoints: [
    { lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } }] },
  ],
});
const listener = (rds: string) => ({
  name: "l",
  address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
  filter_chains: [
    {
      filters: [
        {
          name: "hcm",
          typed_config: { "@type": TYPE.httpConnectionManager, stat_prefix: "l", rds: { route_config_name: rds } },
        },
      ],
    },
  ],
});
const table = (name: string, cluster: string) => ({
  name,
  virtual_hosts: [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster } }] }],
});
const map = (type: string, list: object[], s: XdsState) => s.candidate(type as never, list as never);

describe("XdsState", () => {
  it("names the EDS and RDS resources that CDS and LDS reference", () => {
    expect(edsNames([eds("a"), { name: "s", type: "STATIC" }])).toEqual(["a"]);
    expect(rdsNames([listener("80")])).toEqual(["80"]);
  });

  it("is consistent only once every referenced EDS and RDS resource has arrived (warming)", () => {
    const s = new XdsState();
    s.commit(TYPE.cluster, "1", "n1", map(TYPE.cluster, [eds("a")], s));
    s.commit(TYPE.listener, "1", "n2", map(TYPE.listener, [listener("80")], s));
    expect(s.consistent()).toBeUndefined();
    s.commit(TYPE.endpoint, "1", "n3", map(TYPE.endpoint, [cla("a", 1)], s));
    expect(s.consistent()).toBeUndefined();
    s.commit(TYPE.route, "2", "n4", map(TYPE.route, [table("80", "a")], s));
    expect(s.consistent()).toMatchObject({ version: "2", clusters: [eds("a")], routes: [table("80", "a")] });
  });

  it("doesn't hold the config for a cluster's secret discovery answered without: that cluster fails closed", () => {
    const s = new XdsState();
    const sds = (name: string) => ({ name, sds_config: { ads: {} } });
    const tls = {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": TYPE.upstreamTlsContext,
        common_tls_context: {
          tls_certificate_sds_secret_configs: [sds("kubernetes://partner")],
          combined_validation_context: { validation_context_sds_secret_config: sds("kubernetes://partner-cacert") },
        },
      },
    };
    s.commit(TYPE.cluster, "1", "n1", map(TYPE.cluster, [{ ...eds("a"), transport_socket: tls }], s));
    s.commit(TYPE.endpoint, "1", "n2", map(TYPE.endpoint, [cla("a", 1)], s));
    s.commit(TYPE.listener, "1", "n3", map(TYPE.listener, [listener("80")], s));
    s.commit(TYPE.route, "1", "n4", map(TYPE.route, [table("80", "a")], s));
    expect(s.missing(TYPE.secret)).toEqual(["kubernetes://partner", "kubernetes://partner-cacert"]);
    expect(s.consistent()).toBeUndefined(); // not asked yet: warming
    s.commit(TYPE.secret, "1", "n5", map(TYPE.secret, [], s)); // answered: neither exists
    const whole = s.consistent();
    expect(whole).toBeDefined();
    const compiled = s.compile(whole ?? {});
    expect("config" in compiled && compiled.config.clusters.get("a")?.tls?.notReady).toBe("kubernetes://partner");
  });

  // Was: a route to an unknown cluster was rejected. Envoy loads RDS tables with validate_clusters false, so a
  // removal never wedges a proxy; an invalid table is still rejected, naming resource and field.
  it("rejects an invalid route table with the compiler's message naming resource and field", () => {
    const s = new XdsState();
    s.commit(TYPE.cluster, "1", "n1", map(TYPE.cluster, [eds("a")], s));
    s.commit(TYPE.listener, "1", "n2", map(TYPE.listener, [listener("80")], s));
    const bad = {
      name: "80",
      virtual_hosts: [
        { name: "v", domains: ["*"], routes: [{ match: { safe_regex: { regex: "(" } }, route: { cluster: "a" } }] },
      ],
    };
    expect(s.validate(TYPE.route, map(TYPE.route, [bad], s))).toMatch(
      /^RDS: RouteConfiguration "80": .*safe_regex\.regex: invalid regex/,
    );
    expect(s.validate(TYPE.route, map(TYPE.route, [table("80", "nope")], s))).toBeUndefined();
  });

  it("takes a removal: CDS drops a cluster, then LDS drops the listener whose stale table still names it", () => {
    const s = new XdsState();
    const other = { ...listener("81"), name: "l81" };
    s.commit(TYPE.cluster, "1", "", map(TYPE.cluster, [eds("a"), eds("gone")], s));
    s.commit(TYPE.endpoint, "1", "", map(TYPE.endpoint, [cla("a", 1), cla("gone", 2)], s));
    s.commit(TYPE.listener, "1", "", map(TYPE.listener, [listener("80"), other], s));
    s.commit(TYPE.route, "1", "", map(TYPE.route, [table("80", "a"), table("81", "gone")], s));
    const cds = map(TYPE.cluster, [eds("a")], s);
    expect(s.validate(TYPE.cluster, cds)).toBeUndefined();
    s.commit(TYPE.cluster, "2", "", cds);
    const lds = map(TYPE.listener, [listener("80")], s);
    expect(s.validate(TYPE.listener, lds)).toBeUndefined();
    s.commit(TYPE.listener, "2", "", lds);
    s.commit(TYPE.route, "2", "", map(TYPE.route, [], s));
    expect(s.consistent()).toMatchObject({ version: "2", routes: [table("80", "a")] });
  });

  it("replaces CDS/LDS whole, and keeps EDS/RDS per name, only for names still referenced", () => {
    const s = new XdsState();
    s.commit(TYPE.cluster, "1", "", map(TYPE.cluster, [eds("a"), eds("b")], s));
    s.commit(TYPE.endpoint, "1", "", map(TYPE.endpoint, [cla("a", 1), cla("b", 2)], s));
    expect([...map(TYPE.endpoint, [cla("a", 3)], s).keys()]).toEqual(["a", "b"]);
    s.commit(TYPE.cluster, "2", "", map(TYPE.cluster, [eds("a")], s));
    expect([...map(TYPE.endpoint, [], s).keys()]).toEqual(["a"]);
  });

  it("restores the last good state after a rollback, and reports versions and errors", () => {
    const s = new XdsState();
    const before = s.commit(TYPE.cluster, "1", "n1", map(TYPE.cluster, [eds("a")], s));
    const good = s.commit(TYPE.cluster, "2", "n2", map(TYPE.cluster, [eds("b")], s));
    s.restore(TYPE.cluster, good);
    s.reject(TYPE.cluster, "n2", "bad");
    expect(before.version).toBe("");
    expect(s.summary()["CDS"]).toEqual({ version: "1", resources: 1, error: "bad" });
  });
});
