// localityLbSetting as Istio's webhook checks it, on a DestinationRule (per port too) and in the mesh config.
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { parseMeshConfig } from "../model/mesh.js";
import { validateObject } from "./index.js";

const AT = "spec.trafficPolicy.loadBalancer.localityLbSetting";

function errors(setting: string, extra = ""): string[] {
  const [obj] = parseYaml(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: r }
spec:
  host: reviews
  trafficPolicy: { loadBalancer: { localityLbSetting: ${setting} }${extra} }`);
  return validateObject(obj ?? {});
}

describe("localityLbSetting validation (Istio's ValidateLocalityLbSetting)", () => {
  it("takes Istio's documented settings", () => {
    expect(
      errors(`{ distribute: [{ from: "us-west/zone1/*", to: { "us-west/zone1/*": 80, "us-west/zone2/*": 20 } }] }`),
    ).toEqual([]);
    expect(errors(`{ failover: [{ from: us-east, to: eu-west }] }`, ", outlierDetection: {}")).toEqual([]);
    expect(errors(`{ failoverPriority: [topology.istio.io/network, topology.kubernetes.io/region] }`)).toEqual([]);
    expect(errors(`{ enabled: false }`)).toEqual([]);
  });

  it.each([
    [
      `{ distribute: [{ from: a, to: { b: 100 } }], failover: [{ from: a, to: b }] }`,
      AT,
      "can not simultaneously specify 'distribute' and 'failover'",
    ],
    [
      `{ distribute: [{ from: a, to: { b: 0, c: 100 } }] }`,
      `${AT}.distribute[0].to["b"]`,
      "locality weight must be in range [1, 100]",
    ],
    [
      `{ distribute: [{ from: a, to: { b: 50, c: 40 } }] }`,
      `${AT}.distribute[0].to`,
      "total locality weight 90 != 100",
    ],
    [
      `{ distribute: [{ from: a, to: { "b/*/c": 100 } }] }`,
      `${AT}.distribute[0].to`,
      "locality b/*/c wildcard '*' number can not exceed 1 and must be in the end",
    ],
    [
      `{ distribute: [{ from: a, to: { "b//c": 100 } }] }`,
      `${AT}.distribute[0].to`,
      "locality b//c must not contain empty region/zone/subzone info",
    ],
    [
      `{ distribute: [{ from: a, to: { b: 50, "b/z": 50 } }] }`,
      `${AT}.distribute[0].to`,
      "locality b/z overlap with previous specified ones",
    ],
    [
      `{ distribute: [{ from: "a/*", to: { b: 100 } }, { from: "a/z", to: { b: 100 } }] }`,
      `${AT}.distribute`,
      "locality a/z overlap with previous specified ones",
    ],
    [
      `{ failover: [{ from: a, to: a }] }`,
      `${AT}.failover[0]`,
      "locality lb failover settings must specify different regions",
    ],
    [`{ failover: [{ from: a/z, to: b }] }`, `${AT}.failover[0]`, "locality lb failover only specify region"],
    [
      `{ failover: [{ from: a, to: "b*" }] }`,
      `${AT}.failover[0]`,
      "locality lb failover region should not contain '*' wildcard",
    ],
    [
      `{ failover: [{ from: a, to: b }], failoverPriority: [topology.kubernetes.io/zone] }`,
      `${AT}.failoverPriority[0]`,
      "can not simultaneously set 'failover' and topology label 'topology.kubernetes.io/zone' in 'failover_priority'",
    ],
  ])("refuses %s", (setting, field, message) => {
    expect(errors(setting)).toEqual([`${field}: ${message}`]);
  });

  it("checks the shape, naming the field", () => {
    expect(errors(`{ distribute: [{ from: a, to: { b: "x" } }] }`).join("\n")).toMatch(
      /spec\.trafficPolicy\.loadBalancer\.localityLbSetting\.distribute\[0\]\.to\.b: /,
    );
    expect(errors(`{ failovr: [] }`)[0]).toMatch(
      /^spec\.trafficPolicy\.loadBalancer\.localityLbSetting\.failovr: unknown field/,
    );
  });

  it("refuses a bad mesh-wide setting, naming the field", () => {
    expect(() => parseMeshConfig(`localityLbSetting: { distribute: [{ from: a, to: { b: 60 } }] }`)).toThrow(
      "localityLbSetting.distribute[0].to: total locality weight 60 != 100",
    );
    expect(() => parseMeshConfig(`localityLbSetting: { enabled: yes-please }`)).toThrow(
      /^localityLbSetting\.enabled: /,
    );
    expect(parseMeshConfig("").localityLbSetting).toEqual({ enabled: true });
  });
});
