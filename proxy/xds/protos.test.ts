import protobuf from "protobufjs";
import { descriptor, fromDescriptor, fromProtos } from "./protos.js";

/** Every message type below `ns`, by full name. */
function types(ns: protobuf.NamespaceBase, out = new Map<string, protobuf.Type>()): Map<string, protobuf.Type> {
  for (const child of ns.nestedArray) {
    if (child instanceof protobuf.Type) out.set(child.fullName, child);
    if (child instanceof protobuf.Namespace) types(child, out);
  }
  return out;
}

const parsedRules = (f: protobuf.Field): unknown =>
  (f.parsedOptions as unknown as Record<string, unknown>[] | undefined)?.find((o) => "(validate.rules)" in o)?.[
    "(validate.rules)"
  ];

describe("Envoy's protos as the JSON descriptor `npm run build` writes", () => {
  const text = fromProtos();
  // Through JSON text, as the file on disk is read.
  const json = fromDescriptor(JSON.parse(JSON.stringify(descriptor(fromProtos()))) as protobuf.INamespace);

  it("holds every message type, field and number that the .proto text does", () => {
    const a = types(text);
    const b = types(json);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    expect(a.size).toBeGreaterThan(500);
    for (const [name, t] of a) {
      const shape = (x: protobuf.Type) =>
        x.fieldsArray
          .map((f) => `${f.name}=${f.id}:${f.type}:${f.repeated ? "repeated" : ""}${f.map ? "map" : ""}`)
          .sort(); // extensions: in load order
      expect([name, shape(b.get(name) as protobuf.Type)]).toEqual([name, shape(t)]);
    }
  });

  it("keeps each field's validate rules whole, empty ones included (a duration's gt: {})", () => {
    let withRules = 0;
    for (const [name, t] of types(text)) {
      const other = types(json).get(name) as protobuf.Type;
      for (const f of t.fieldsArray) {
        const rules = parsedRules(f);
        if (rules === undefined) continue;
        withRules++;
        expect([name, f.name, other.fields[f.name]?.options?.["(validate.rules)"]]).toEqual([name, f.name, rules]);
      }
    }
    expect(withRules).toBeGreaterThan(300);
    const timeout = types(json).get(".envoy.config.cluster.v3.Cluster")?.fields["connect_timeout"];
    expect(timeout?.options?.["(validate.rules)"]).toEqual({ duration: { gt: {} } });
  });

  it("round-trips a resource to the same bytes", () => {
    const cluster = {
      name: "outbound|80||reviews.default.svc.cluster.local",
      type: "EDS",
      connect_timeout: { seconds: 10 },
      eds_cluster_config: { eds_config: { ads: {} } },
    };
    const bytes = (root: protobuf.Root) => {
      const t = root.lookupType("envoy.config.cluster.v3.Cluster");
      return Buffer.from(t.encode(t.fromObject(cluster)).finish()).toString("hex");
    };
    expect(bytes(json)).toBe(bytes(text));
  });
});
