// meshConfig.outboundTrafficPolicy: what a sidecar does with hosts the mesh doesn't know, in Istio's shape.
import { violations } from "../../../test/support/discovery/envoy.js";
import { listener, routeConfig } from "../../../test/support/discovery/find.js";
import { meshModel } from "../../../test/support/discovery/mesh.js";
import { DEFAULT_MESH, parseMeshConfig } from "../model/mesh.js";
import { parseNodeId, translate } from "./index.js";

const client = parseNodeId("sidecar~127.0.0.9~client-0.default~default.svc.cluster.local");
const lastHost = (out: ReturnType<typeof translate>) => (routeConfig(out, "80")["virtual_hosts"] as unknown[]).at(-1);
const catchAll = (out: ReturnType<typeof translate>) =>
  (listener(out, "virtualOutbound")["filter_chains"] as { filters: { typed_config: { cluster: string } }[] }[])[0]
    ?.filters[0]?.typed_config.cluster;

describe("outbound traffic policy", () => {
  it("ALLOW_ANY (the default): unknown HTTP hosts and TCP go to PassthroughCluster", () => {
    const out = translate(meshModel(), client);
    expect(violations(out)).toEqual([]);
    expect(lastHost(out)).toEqual({
      name: "allow_any",
      domains: ["*"],
      routes: [
        {
          name: "allow_any",
          match: { prefix: "/" },
          route: { cluster: "PassthroughCluster", timeout: "0s", max_grpc_timeout: "0s" },
        },
      ],
      include_request_attempt_count: true,
    });
    expect(catchAll(out)).toBe("PassthroughCluster");
  });

  it("REGISTRY_ONLY: unknown HTTP hosts get 502 (block_all), TCP goes to BlackHoleCluster", () => {
    const out = translate(
      { ...meshModel(), mesh: { ...DEFAULT_MESH, outboundTrafficPolicy: "REGISTRY_ONLY" } },
      client,
    );
    expect(violations(out)).toEqual([]);
    expect(lastHost(out)).toMatchObject({
      name: "block_all",
      domains: ["*"],
      routes: [{ name: "block_all", direct_response: { status: 502 } }],
    });
    expect(catchAll(out)).toBe("BlackHoleCluster");
  });

  it("reads the mode from Istio's MeshConfig YAML, rejecting a bad value by field", () => {
    expect(parseMeshConfig("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n")).toMatchObject({
      outboundTrafficPolicy: "REGISTRY_ONLY",
    });
    expect(parseMeshConfig("")).toMatchObject({ outboundTrafficPolicy: "ALLOW_ANY" });
    expect(() => parseMeshConfig("outboundTrafficPolicy: { mode: DENY }")).toThrow(
      'outboundTrafficPolicy.mode: "DENY" is not ALLOW_ANY or REGISTRY_ONLY',
    );
  });

  it("writes each domain of a route table once, within a virtual host too (Envoy refuses a repeated one)", () => {
    const out = translate(
      meshModel(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: vip }
spec:
  hosts: [240.0.0.1]
  addresses: [240.0.0.1, 240.0.0.1]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: DNS`),
      client,
    );
    expect(violations(out)).toEqual([]);
    const domains = (routeConfig(out, "80")["virtual_hosts"] as { domains: string[] }[]).flatMap((v) => v.domains);
    expect(domains.filter((d) => d === "240.0.0.1")).toEqual(["240.0.0.1"]);
  });

  it("takes domains that differ only in case for one (Envoy matches them so, and refuses both)", () => {
    const out = translate(
      meshModel(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: upper }
spec:
  hosts: [Web.Example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: DNS`),
      client,
    );
    expect(violations(out)).toEqual([]);
    const domains = (routeConfig(out, "80")["virtual_hosts"] as { domains: string[] }[]).flatMap((v) => v.domains);
    expect(domains.filter((d) => d.toLowerCase() === "web.example.com")).toHaveLength(1);
  });
});
