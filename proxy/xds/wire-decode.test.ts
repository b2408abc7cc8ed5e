// The agent's decoder against protobufjs': every message type Weft knows, filled with random values of every kind
// (negative and 64-bit integers, floats, enums, bytes, maps, packed lists, nested messages), encoded by protobufjs,
// must read back as protobufjs' toObject reads it, key order included (the JSON a sidecar serves keeps it).
import protobuf from "protobufjs";
import { encodeResource } from "./codec.js";
import { envoyRoot, envoyWireTable } from "./protos.js";
import { decodeAny, plainMessage } from "./wire-decode.js";
import { WireTypes } from "./wire-types.js";
import { seededRandom } from "../../test/support/random.js";

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false };

function scalar(type: string, rnd: () => number): unknown {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  switch (type) {
    case "double":
      return pick([0, -1.5, 1e300, 3.25, -0]);
    case "float":
      return pick([0.1, -2.5, 1e10]);
    case "int32":
    case "sint32":
    case "sfixed32":
      return pick([0, -1, -2147483648, 2147483647, 42]);
    case "uint32":
    case "fixed32":
      return pick([0, 1, 4294967295, 300]);
    case "int64":
    case "sint64":
    case "sfixed64":
      return pick(["0", "-1", "9223372036854775807", "-9223372036854775808", "9007199254740993", "123"]);
    case "uint64":
    case "fixed64":
      return pick(["0", "18446744073709551615", "9007199254740993", "77"]);
    case "bool":
      return pick([true, false]);
    case "string":
      return pick(["", "a", "héllo ✓", "x".repeat(200)]);
    case "bytes":
      return pick(["", "AAEC/w==", "aGVsbG8="]);
  }
  throw new Error(type);
}

type MapKey = protobuf.MapField;

function fill(type: protobuf.Type, rnd: () => number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const oneofs = new Set<string>();
  for (const f of type.fieldsArray) {
    if (rnd() < 0.4) continue;
    if (f.partOf) {
      if (oneofs.has(f.partOf.name)) continue;
      oneofs.add(f.partOf.name);
    }
    const one = (): unknown => {
      const t = f.resolve().resolvedType;
      if (t instanceof protobuf.Enum) {
        const ids = Object.values(t.values);
        return rnd() < 0.1 ? 97 : ids[Math.floor(rnd() * ids.length)]; // 97: a number the enum doesn't name
      }
      if (t instanceof protobuf.Type) {
        if (t.fullName === ".google.protobuf.Any") return { type_url: "type.googleapis.com/google.protobuf.Empty" };
        return depth > 3 ? {} : fill(t, rnd, depth + 1);
      }
      return scalar(f.type, rnd);
    };
    const keyType = f.map ? (f as unknown as MapKey).keyType : "";
    // protobufjs keys a 64-bit-keyed map by an 8-byte hash of the key, proto3 JSON (and this decoder) by its decimal:
    // only CEL's checked expressions have one, which Weft never reads.
    if (/64$/.test(keyType)) continue;
    if (f.map) {
      const m: Record<string, unknown> = {};
      for (const k of keyType === "string" ? ["b", "a", "10"] : keyType === "bool" ? ["true"] : ["3", "1"])
        m[k] = one();
      out[f.name] = m;
    } else if (f.repeated) out[f.name] = [one(), one(), one()];
    else out[f.name] = one();
  }
  return out;
}

describe("the wire decoder (the agent's, without protobufjs)", () => {
  const root = envoyRoot();
  const types = new WireTypes(envoyWireTable());
  const all: protobuf.Type[] = [];
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const c of ns.nestedArray) {
      if (c instanceof protobuf.Type) all.push(c);
      if (c instanceof protobuf.Namespace) visit(c);
    }
  };
  visit(root);

  it("reads every message type as protobufjs' toObject does, random values of every kind", () => {
    expect(all.length).toBeGreaterThan(400);
    const rnd = seededRandom(Number(process.env.WIRE_SEED ?? 13));
    for (let round = 0; round < 3; round++) {
      for (const type of all) {
        const bytes = Buffer.from(type.encode(type.fromObject(fill(type, rnd, 0))).finish());
        const want = JSON.stringify(type.toObject(type.decode(bytes), TO_OBJECT));
        expect([type.fullName, JSON.stringify(plainMessage(types, type.fullName.slice(1), bytes))]).toEqual([
          type.fullName,
          want,
        ]);
      }
    }
  });

  it("reads packed and unpacked lists, a field sent twice, and fields it doesn't know", () => {
    // RetryPolicy.retriable_status_codes = 7 (repeated uint32): protobufjs packs it; unpacked is legal too.
    const packed = Buffer.from([0x3a, 0x03, 0xf7, 0x03, 0x05]); // [503, 5]
    const unpacked = Buffer.from([0x38, 0xf7, 0x03, 0x38, 0x05]);
    const twice = Buffer.from([0x0a, 0x01, 0x61, 0x0a, 0x01, 0x62]); // retry_on = "a", then "b"
    const unknown = Buffer.from([0xf8, 0x7f, 0x01, 0x0a, 0x01, 0x63]); // field 2047 (varint), retry_on = "c"
    const name = "envoy.config.route.v3.RetryPolicy";
    expect(plainMessage(types, name, packed)).toEqual({ retriable_status_codes: [503, 5] });
    expect(plainMessage(types, name, unpacked)).toEqual({ retriable_status_codes: [503, 5] });
    expect(plainMessage(types, name, twice)).toEqual({ retry_on: "b" });
    expect(plainMessage(types, name, unknown)).toEqual({ retry_on: "c" });
  });

  it("decodes a resource into proto3 JSON, well-known types in their JSON forms, and names an unknown type", () => {
    const cluster = {
      "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
      name: "c",
      connect_timeout: "1.5s",
      per_connection_buffer_limit_bytes: 0,
      metadata: { filter_metadata: { istio: { a: [1, "x", null, { b: true }] } } },
      typed_extension_protocol_options: {
        x: { "@type": "type.googleapis.com/google.protobuf.Int64Value", value: "9007199254740993" },
      },
    };
    const any = encodeResource(cluster);
    expect(decodeAny(types, any)).toEqual({
      ...cluster,
      typed_extension_protocol_options: {
        x: { ...cluster.typed_extension_protocol_options.x, value: "9007199254740993" },
      },
    });
    expect(() => decodeAny(types, { type_url: "type.googleapis.com/no.Such", value: Buffer.alloc(0) })).toThrow(
      'unknown message type "no.Such"',
    );
  });
});
