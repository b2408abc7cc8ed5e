// Loads Envoy's v3 protos (shipped by @grpc/grpc-js-xds under deps/) once, lazily, into one protobufjs Root: from the
// JSON descriptor `npm run build` writes beside this file (hack/descriptor.ts), else from the .proto text. The JSON
// loads in half the time and leaves a smaller heap (the parser's intermediate objects, the comments). The control
// plane encodes with it; the sidecar's agent loads none of it (wire-types.ts has the table it decodes with).
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { descriptorInputs } from "./descriptor-inputs.js";
import { MAP, REPEATED, type TableField, type WireTable } from "./wire-types.js";

export { descriptorInputs };

const FILES = [
  "envoy/service/discovery/v3/ads.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/http/fault/v3/fault.proto",
  "envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto",
  "envoy/extensions/filters/http/cors/v3/cors.proto",
  "envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto",
  "envoy/extensions/filters/http/jwt_authn/v3/config.proto",
  "envoy/extensions/filters/http/rbac/v3/rbac.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
  "envoy/extensions/filters/network/connection_limit/v3/connection_limit.proto",
  "envoy/extensions/filters/network/rbac/v3/rbac.proto",
  "envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto",
  "envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto",
  "envoy/extensions/access_loggers/file/v3/file.proto",
  "envoy/extensions/access_loggers/stream/v3/stream.proto",
  "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
  "envoy/extensions/transport_sockets/tls/v3/secret.proto",
  "envoy/extensions/transport_sockets/tls/v3/tls.proto",
  "envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto",
  "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto",
  "envoy/config/trace/v3/zipkin.proto",
  "envoy/config/trace/v3/opentelemetry.proto",
];

function includeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const xds = path.dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
  const pbjs = path.dirname(require.resolve("protobufjs/package.json"));
  const deps = ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => path.join(xds, "deps", d));
  // protobufjs carries google/protobuf/descriptor.proto, which the validate annotations import.
  return [...deps, pbjs];
}

let root: protobuf.Root | undefined;

/** Where `npm run build` puts the descriptor: beside the compiled protos.js. */
export const DESCRIPTOR_FILE = fileURLToPath(new URL("./envoy-protos.json", import.meta.url));

/** The descriptor's Root, or undefined when there is none, it doesn't parse, or it is stale (then the .proto text). */
function fromFile(): protobuf.Root | undefined {
  if (!existsSync(DESCRIPTOR_FILE)) return undefined;
  try {
    const file = JSON.parse(readFileSync(DESCRIPTOR_FILE, "utf8")) as { inputs?: string; root?: protobuf.INamespace };
    return file.inputs === descriptorInputs() && file.root ? fromDescriptor(file.root) : undefined;
  } catch {
    return undefined; // a truncated or hand-edited file: the .proto text is the source anyway
  }
}

/** The Root holding every Envoy type Weft exchanges; loaded on first use (50 to 300 ms), then cached. */
export function envoyRoot(): protobuf.Root {
  root ??= fromFile() ?? fromProtos();
  return root;
}

const RULES = "(validate.rules)";

/**
 * The Root as a JSON descriptor. protobufjs's toJSON keeps a field's options flattened ("(validate.rules).string.min_len")
 * and drops empty ones (a duration's `gt: {}`), so each field's validate rules are kept whole, under RULES, from the
 * parsed options that rules.ts reads.
 */
export function descriptor(r: protobuf.Root): protobuf.INamespace {
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Type) {
        for (const field of child.fieldsArray) {
          // protobufjs types parsedOptions as a record; at run time it is a list of records.
          const parsed = field.parsedOptions as unknown as Record<string, unknown>[] | undefined;
          const rules = parsed?.find((o) => RULES in o)?.[RULES];
          if (rules === undefined) continue;
          for (const k of Object.keys(field.options ?? {})) if (k.startsWith(RULES)) delete field.options?.[k];
          field.setOption(RULES, rules);
        }
      }
      if (child instanceof protobuf.Namespace) visit(child);
    }
  };
  visit(r);
  return r.toJSON();
}

export function fromDescriptor(json: protobuf.INamespace): protobuf.Root {
  const r = protobuf.Root.fromJSON(json);
  r.resolveAll();
  return r;
}

/** Envoy's protos parsed from their .proto text, with Weft's own type: what the descriptor is written from. */
export function fromProtos(): protobuf.Root {
  const dirs = includeDirs();
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of dirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  r.loadSync(FILES, { keepCase: true });
  // Weft's own type on the ADS stream (proxy/xds/engine.ts): the engine an agent should run.
  r.define("weft.v1").add(
    new protobuf.Type("ProxyEngine")
      .add(new protobuf.Field("name", 1, "string"))
      .add(new protobuf.Field("version", 2, "string"))
      .add(new protobuf.Field("binary_path", 3, "string")),
  );
  r.resolveAll();
  return r;
}

/**
 * The Root as wire-types.ts' table: every message's fields and every enum's names by number, as protobufjs reads
 * them (an enum's alias gives its number the last name, as protobufjs' toObject spells it).
 */
export function wireTable(r: protobuf.Root): WireTable {
  const table: WireTable = { messages: {}, enums: {} };
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Type)
        table.messages[child.fullName.slice(1)] = child.fieldsArray.map((f): TableField => {
          const type = f.resolve().resolvedType
            ? (f.resolvedType as protobuf.ReflectionObject).fullName.slice(1)
            : f.type;
          const flags = (f.repeated ? REPEATED : 0) | (f.map ? MAP : 0);
          return f.map
            ? [f.id, f.name, type, flags, (f as unknown as protobuf.MapField).keyType]
            : [f.id, f.name, type, flags];
        });
      else if (child instanceof protobuf.Enum) table.enums[child.fullName.slice(1)] = { ...child.valuesById };
      if (child instanceof protobuf.Namespace) visit(child);
    }
  };
  visit(r);
  return table;
}

let table: WireTable | undefined;

/** The table of the Root Weft exchanges (wire-types.ts loads the built one when it can). */
export function envoyWireTable(): WireTable {
  table ??= wireTable(envoyRoot());
  return table;
}

/** Looks up a message type by its full name ("envoy.config.cluster.v3.Cluster") or a type URL. */
export function messageType(nameOrUrl: string): protobuf.Type {
  const name = nameOrUrl.slice(nameOrUrl.lastIndexOf("/") + 1);
  const found = envoyRoot().lookup(name);
  if (!(found instanceof protobuf.Type)) throw new Error(`unknown message type "${name}"`);
  return found;
}
