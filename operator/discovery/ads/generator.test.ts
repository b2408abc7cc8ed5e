import { bookinfoModel } from "../../../test/support/discovery/bookinfo.js";
import { meshModel } from "../../../test/support/discovery/mesh.js";
import { parseNodeId } from "../translate/index.js";
import { SnapshotGenerator, modelWarnings } from "./generator.js";

describe("SnapshotGenerator", () => {
  it("translates once per proxy class and shares the snapshot", () => {
    const g = new SnapshotGenerator();
    g.setModel(bookinfoModel("destination-rule-all.yaml"));
    const a = g.snapshotFor(parseNodeId("sidecar~10.9.0.1~curl-a.default~default.svc.cluster.local"), []);
    const b = g.snapshotFor(parseNodeId("sidecar~10.9.0.2~curl-b.default~default.svc.cluster.local"), []);
    const reviews = g.snapshotFor(parseNodeId("sidecar~10.0.0.12~reviews-v1-0.default~default.svc.cluster.local"), []);
    expect(b).toBe(a);
    expect(reviews).not.toBe(a);
    expect(a.version).toBe("1");
    g.setModel(bookinfoModel("destination-rule-all.yaml"));
    const again = g.snapshotFor(parseNodeId("sidecar~10.9.0.1~curl-a.default~default.svc.cluster.local"), []);
    expect(again.version).toBe("2");
    expect(again.hash).toBe(a.hash);
  });
});

// Was: the whole snapshot failed, so one bad object blocked every change. Now, as istiod: that object is skipped
// and named, and the rest is served.
describe("an object that can't be translated", () => {
  it("is skipped and named, once per proxy class; the rest is served", () => {
    const g = new SnapshotGenerator();
    g.setModel(
      meshModel(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: slow }
spec: { hosts: [echo], http: [{ timeout: soon, route: [{ destination: { host: echo } }] }] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web }
spec: { hosts: [web.example.com], http: [{ timeout: 3s, route: [{ destination: { host: web.example.com } }] }] }`),
    );
    const snapshot = g.snapshotFor(parseNodeId("sidecar~10.9.0.1~a.default~default.svc.cluster.local"), []);
    expect(g.snapshotFor(parseNodeId("sidecar~10.9.0.2~b.default~default.svc.cluster.local"), [])).toBe(snapshot);
    expect([...g.warnings]).toContainEqual(
      expect.stringMatching(
        /^VirtualService\/default\/slow: skipped for sidecar proxies in default: .*timeout: bad duration "soon"/,
      ),
    );
    expect([...g.warnings]).toContain(
      'VirtualService/default/slow: spec.http[0].timeout: "soon" is not a duration (like "1.5s" or "300ms")',
    );
    expect(g.failures()).toEqual([]);
    const routes = JSON.stringify([...snapshot.resources.values()].flatMap((m) => [...m.values()].map((e) => e.json)));
    expect(routes).toContain('"timeout":"3s"');
    expect(routes).not.toContain("soon");
  });
});

describe("modelWarnings", () => {
  it("reports invalid objects and hosts that match no service, config-wide", () => {
    const model = meshModel(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bad }
spec:
  hosts: [nowhere]
  http: [{ route: [{ destination: { host: echo }, weight: -1 }, { destination: { host: echo }, weight: 101 }] }]`);
    expect(modelWarnings(model)).toEqual([
      "VirtualService/default/bad: spec.http[0].route[0].weight: must be an integer from 0 to 2147483647, got -1",
      'VirtualService/default/bad: host "nowhere" matches no service',
    ]);
  });

  it("warns of a tcp match by subnet bound to a gateway, which never applies there", () => {
    const model = meshModel(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db }
spec:
  hosts: [echo]
  gateways: [edge]
  tcp: [{ match: [{ sourceSubnet: 10.1.0.0/16 }], route: [{ destination: { host: echo } }] }]`);
    expect(modelWarnings(model)).toContainEqual(
      expect.stringMatching(
        /^VirtualService\/default\/db: spec\.tcp\[0\]\.match\[0\]\.sourceSubnet: a gateway never applies/,
      ),
    );
  });
});
