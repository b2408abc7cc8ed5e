// An endpoints-only change (a pod turning Ready, a scale) patches the previous generation's snapshots' EDS
// instead of translating again: the result must be what translating anew gives, and only EDS may differ.
import { bookinfoModel } from "../../../test/support/discovery/bookinfo.js";
import type { ConfigModel } from "../model/config.js";
import { parseNodeId } from "../translate/index.js";
import { TYPE } from "../../../proxy/xds/types.js";
import { SnapshotGenerator, endpointChanges } from "./generator.js";
import type { Snapshot } from "./snapshot.js";

const client = parseNodeId("sidecar~10.9.0.1~curl-a.default~default.svc.cluster.local");
const hashes = (s: Snapshot) => new Map([...s.resources].map(([t, m]) => [t, [...m.values()].map((e) => e.hash)]));

/** bookinfo with reviews' first endpoint gone and one pod (a workload) more, as a scale-down plus a new pod. */
function scaled(model: ConfigModel): ConfigModel {
  return {
    ...model,
    workloads: [...model.workloads, { name: "new", namespace: "default", address: "10.0.0.99", labels: {} }],
    services: model.services.map((s) =>
      s.hostname.startsWith("reviews.") ? { ...s, endpoints: s.endpoints.slice(1) } : s,
    ),
  };
}

describe("an endpoints-only change", () => {
  it("gives the snapshot a fresh translation gives, with only EDS changed", () => {
    const before = bookinfoModel("destination-rule-all.yaml");
    const after = scaled(before);
    expect(endpointChanges(before, after)?.map((s) => s.hostname)).toEqual(["reviews.default.svc.cluster.local"]);
    const g = new SnapshotGenerator();
    g.setModel(before);
    const old = g.snapshotFor(client, []);
    g.setModel(after);
    const patched = g.snapshotFor(client, []);
    const fresh = new SnapshotGenerator();
    fresh.setModel(after);
    const reference = fresh.snapshotFor(client, []);
    expect(hashes(patched)).toEqual(hashes(reference));
    expect(patched.hash).toBe(reference.hash);
    expect(patched.version).toBe("2");
    for (const type of [TYPE.cluster, TYPE.listener, TYPE.route])
      expect(hashes(patched).get(type)).toEqual(hashes(old).get(type));
    expect(hashes(patched).get(TYPE.endpoint)).not.toEqual(hashes(old).get(TYPE.endpoint));
  });

  it("keeps the config's warnings, which read no endpoints, and a later config change recomputes them", () => {
    const base = bookinfoModel("destination-rule-all.yaml");
    const stray = { name: "stray", namespace: "default", spec: { hosts: ["nowhere"], http: [] } };
    const before = { ...base, virtualServices: [...base.virtualServices, stray] };
    const warning = 'VirtualService/default/stray: host "nowhere" matches no service';
    const g = new SnapshotGenerator();
    g.setModel(before);
    expect([...g.warnings]).toContain(warning);
    g.setModel(scaled(before));
    expect([...g.warnings]).toContain(warning);
    g.setModel({ ...scaled(before), virtualServices: base.virtualServices });
    expect([...g.warnings]).not.toContain(warning);
  });

  it("is not one when anything else changed: a port, or a VirtualService", () => {
    const before = bookinfoModel("destination-rule-all.yaml");
    const port = {
      ...before,
      services: before.services.map((s, i) => (i === 0 ? { ...s, ports: [], endpoints: [] } : s)),
    };
    expect(endpointChanges(before, port)).toBeUndefined();
    expect(endpointChanges(before, { ...before, virtualServices: [] })).toBeUndefined();
  });
});
