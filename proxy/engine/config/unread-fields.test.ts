// Never ignore silently, checked against Envoy's own protos: in the config discovery sends (Bookinfo through a sidecar
// and a gateway, with mTLS, authorization, end-user JWT authentication, faults, retries, tracing and an access log), every field each message
// could carry, set in turn, is either read by the compiler or refused. A field that is neither would be taken and
// dropped. What is allowed to be neither is listed below, each with its reason.
import protobuf from "protobufjs";
import { compile } from "./index.js";
import { envoyRoot } from "../../xds/protos.js";
import type { Resources } from "./types.js";
import { parseMeshConfig } from "../../../operator/discovery/model/mesh.js";
import { parseNodeId, translate } from "../../../operator/discovery/translate/index.js";
import { parseYaml, sample } from "../../../test/support/discovery/bookinfo.js";
import { normalise } from "../../../operator/discovery/model/normalise.js";
import { readFileSync } from "node:fs";
import { issuer, jwks } from "../../../test/support/jwt.js";

/** Fields that may go unread: the other members of a oneof the config already chose, and informational ones. */
const MAY_GO_UNREAD = new Set([
  // oneof siblings of the member the config sets (proto3 JSON can't carry two; Envoy would take the last)
  "Address.pipe",
  "Address.envoy_internal_address",
  "Filter.config_discovery",
  "HeaderMatcher.present_match",
  "Route.redirect",
  "Route.direct_response",
  "StringMatcher.prefix",
  "StringMatcher.suffix",
  "StringMatcher.contains",
  "StringMatcher.safe_regex",
  "StringMatcher.custom",
  "SubstitutionFormatString.text_format_source",
  "ConfigSource.self",
  // informational: they name or describe, and change no traffic (as Istio uses them)
  "Cluster.metadata",
  "Metadata.typed_filter_metadata",
  "FilterChain.metadata",
  "FilterChain.name",
  "HttpFilter.is_optional",
]);

const root = envoyRoot();
const TYPES: Record<keyof Omit<Resources, "version" | "secrets">, string> = {
  listeners: "envoy.config.listener.v3.Listener",
  clusters: "envoy.config.cluster.v3.Cluster",
  routes: "envoy.config.route.v3.RouteConfiguration",
  endpoints: "envoy.config.endpoint.v3.ClusterLoadAssignment",
};
type Json = Record<string, unknown>;

function messagesOf(res: Resources): { o: Json; type: protobuf.Type }[] {
  const out: { o: Json; type: protobuf.Type }[] = [];
  const walk = (v: unknown, type: protobuf.Type): void => {
    if (!v || typeof v !== "object" || Array.isArray(v)) return;
    const o = v as Json;
    if (type.fullName === ".google.protobuf.Any") {
      const url = o["@type"];
      if (typeof url !== "string") return;
      const inner = root.lookup(url.slice(url.lastIndexOf("/") + 1));
      if (inner instanceof protobuf.Type) walk(o, inner);
      return;
    }
    if (type.fullName.startsWith(".google.protobuf.")) return;
    out.push({ o, type });
    for (const f of type.fieldsArray) {
      const x = o[f.name];
      if (x === undefined) continue;
      f.resolve();
      if (!(f.resolvedType instanceof protobuf.Type)) continue;
      const t = f.resolvedType;
      if (f.map) for (const y of Object.values(x as Json)) walk(y, t);
      else if (Array.isArray(x)) for (const y of x) walk(y, t);
      else walk(x, t);
    }
  };
  for (const [key, name] of Object.entries(TYPES))
    for (const r of (res[key as keyof typeof TYPES] ?? []) as unknown[]) walk(r, root.lookupType(name));
  return out;
}

/** A value of the field's kind, so that a reader that looks at it is seen looking. */
function sampleValue(f: protobuf.Field): unknown {
  if (f.repeated) return f.resolvedType instanceof protobuf.Type ? [{}] : ["x"];
  if (f.resolvedType instanceof protobuf.Type) return {};
  if (f.resolvedType instanceof protobuf.Enum) return 1;
  return f.type === "bool" ? true : f.type === "string" || f.type === "bytes" ? "x" : 1;
}

function config(): Resources[] {
  const local = parseYaml(
    readFileSync(new URL("../../../samples/bookinfo/local/services.yaml", import.meta.url), "utf8"),
  );
  const objects = [
    ...local,
    ...["bookinfo-gateway.yaml", "destination-rule-all.yaml", "virtual-service-reviews-jason-v2-v3.yaml"].flatMap(
      sample,
    ),
    ...sample("virtual-service-ratings-test-abort.yaml"),
    ...parseYaml(
      readFileSync(new URL("../../../samples/bookinfo/security/details-viewer.yaml", import.meta.url), "utf8"),
    ),
    ...parseYaml(`
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec:
  jwtRules:
  - issuer: https://issuer.example.com
    jwks: '${jwks(issuer("ES256"))}'
    fromHeaders: [{ name: x-jwt, prefix: "Bearer " }]
    outputClaimToHeaders: [{ header: x-sub, claim: sub }]
  - { issuer: https://second.example.com, jwks: '${jwks(issuer("EdDSA"))}' }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: jwt, namespace: default }
spec:
  rules:
  - from: [{ source: { requestPrincipals: ["*"] } }]
    when: [{ key: "request.auth.claims[groups]", values: [a, b] }]`),
  ];
  const model = normalise(objects).model;
  model.mesh = parseMeshConfig(`
accessLogFile: /dev/stdout
extensionProviders: [{ name: z, zipkin: { service: zipkin.istio-system, port: 9411 } }]
defaultProviders: { tracing: [z] }`);
  return [
    "sidecar~127.0.10.13~reviews-v1.default~default.svc.cluster.local",
    "router~127.0.0.1~gw.default~default.svc.cluster.local",
  ].map((id) => {
    const out = translate(model, parseNodeId(id));
    return { listeners: out.listeners, routes: out.routes, clusters: out.clusters, endpoints: out.endpoints };
  });
}

describe("every field the engine doesn't read is refused (Envoy's protos, discovery's config)", () => {
  it("setting any field of any message in the config either reaches the compiler or is refused", () => {
    const unread = new Set<string>();
    const checked = new Set<string>();
    for (const res of config()) {
      compile(res);
      for (const { o, type } of messagesOf(res)) {
        for (const f of type.fieldsArray) {
          const key = `${type.name}.${f.name}`;
          if (o[f.name] !== undefined || checked.has(key) || MAY_GO_UNREAD.has(key)) continue;
          if ((f.options as { deprecated?: boolean } | undefined)?.deprecated) continue;
          checked.add(key);
          f.resolve();
          const value = sampleValue(f);
          let read = false;
          Object.defineProperty(o, f.name, {
            get: () => ((read = true), value),
            enumerable: true,
            configurable: true,
          });
          let refused = false;
          try {
            compile(res);
          } catch {
            refused = true;
          }
          delete o[f.name];
          if (!refused && !read) unread.add(key);
        }
      }
    }
    expect(checked.size).toBeGreaterThan(300);
    expect([...unread].sort()).toEqual([]);
  });
});
