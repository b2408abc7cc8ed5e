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
import { validateObject } from "../../../operator/discovery/validate/index.js";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateCa, issueCert } from "../../../operator/runtime/pki.js";
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
  "HashPolicy.cookie",
  "HashPolicy.connection_properties",
  "HashPolicy.query_parameter",
  "QueryParameterMatcher.present_match",
  // no runtime in this proxy: a RuntimeFractionalPercent is its default_value, as Envoy's with the key unset
  "RuntimeFractionalPercent.runtime_key",
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

/** Files for a gateway's mounted certificates. */
async function certificateFiles(): Promise<string> {
  const ca = await generateCa("unread-fields root", 1);
  const leaf = await issueCert(ca, {
    commonName: "shop.example.com",
    dnsNames: ["shop.example.com"],
    usage: "server",
    days: 1,
  });
  const dir = mkdtempSync(join(tmpdir(), "weft-unread-"));
  writeFileSync(join(dir, "tls.crt"), leaf.certPem);
  writeFileSync(join(dir, "tls.key"), leaf.keyPem);
  writeFileSync(join(dir, "ca.crt"), ca.certPem);
  return dir;
}

/** The rest of what discovery renders: TLS servers, passthrough, traffic policies, a VirtualService using most of HTTPRoute. */
function richConfig(dir: string): Resources[] {
  const yaml = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers:
  - port: { number: 8443, name: https, protocol: HTTPS }
    hosts: [shop.example.com]
    tls: { mode: MUTUAL, serverCertificate: ${dir}/tls.crt, privateKey: ${dir}/tls.key, caCertificates: ${dir}/ca.crt, minProtocolVersion: TLSV1_2, cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256] }
  - port: { number: 8444, name: tls, protocol: TLS }
    hosts: [bank.example.com]
    tls: { mode: PASSTHROUGH }
  - port: { number: 8080, name: http, protocol: HTTP }
    hosts: [shop.example.com]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: app, namespace: default }
spec:
  hosts: [app.internal]
  ports: [{ number: 80, name: http, protocol: HTTP }, { number: 5432, name: tcp, protocol: TCP }]
  resolution: STATIC
  endpoints:
  - { address: 127.0.0.1, ports: { http: 9001, tcp: 9002 }, locality: r1/z1, labels: { version: v1 } }
  - { address: 127.0.0.2, ports: { http: 9001, tcp: 9002 }, locality: r1/z2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: external, namespace: default }
spec:
  hosts: [api.example.org]
  ports: [{ number: 443, name: https, protocol: TLS }]
  resolution: DNS
  location: MESH_EXTERNAL
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: app, namespace: default }
spec:
  host: app.internal
  trafficPolicy:
    connectionPool:
      tcp: { maxConnections: 10, connectTimeout: 2s, tcpKeepalive: { time: 60s }, maxConnectionDuration: 1h, idleTimeout: 5m }
      http: { http1MaxPendingRequests: 5, http2MaxRequests: 50, maxRequestsPerConnection: 10, maxRetries: 2, idleTimeout: 30s }
    loadBalancer:
      consistentHash: { httpHeaderName: x-user, minimumRingSize: 1024 }
      localityLbSetting: { enabled: true, failover: [{ from: r1, to: r2 }] }
    outlierDetection: { consecutive5xxErrors: 3, consecutiveGatewayErrors: 2, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 50, minHealthPercent: 10 }
  subsets:
  - name: v1
    labels: { version: v1 }
    trafficPolicy: { loadBalancer: { simple: LEAST_REQUEST, warmupDurationSecs: 30s } }
  - name: v2
    labels: { version: v2 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: external, namespace: default }
spec:
  host: api.example.org
  trafficPolicy: { tls: { mode: SIMPLE, sni: api.example.org, caCertificates: ${dir}/ca.crt } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: shop, namespace: default }
spec:
  hosts: [shop.example.com, app.internal]
  gateways: [edge, mesh]
  http:
  - match: [{ uri: { regex: "/r/[a-z]+" }, headers: { x-a: { exact: b } }, queryParams: { q: { prefix: v } }, withoutHeaders: { x-no: {} } }]
    rewrite: { uriRegexRewrite: { match: "^/r/(.*)$", rewrite: "/\\1" }, authority: app.internal }
    route: [{ destination: { host: app.internal, subset: v1, port: { number: 80 } }, weight: 70, headers: { request: { set: { x-s: "1" } }, response: { remove: [x-r] } } }, { destination: { host: app.internal, subset: v2, port: { number: 80 } }, weight: 30 }]
    timeout: 5s
    retries: { attempts: 3, perTryTimeout: 1s, retryOn: "5xx,reset" }
    mirror: { host: app.internal, subset: v2, port: { number: 80 } }
    mirrorPercentage: { value: 10 }
    corsPolicy: { allowOrigins: [{ exact: "https://a.example" }], allowMethods: [GET], allowHeaders: [x-a], exposeHeaders: [x-b], maxAge: 1h, allowCredentials: true }
    fault: { delay: { fixedDelay: 1s, percentage: { value: 1 } }, abort: { httpStatus: 503, percentage: { value: 1 } } }
    headers: { request: { add: { x-h: v } } }
  - match: [{ uri: { prefix: /old } }]
    redirect: { uri: /new, redirectCode: 308 }
  - match: [{ uri: { exact: /teapot } }]
    directResponse: { status: 418, body: { string: short and stout } }
  - route: [{ destination: { host: app.internal, port: { number: 80 } } }]
    retries: { attempts: 2, retryRemoteLocalities: true }
  tcp:
  - match: [{ port: 5432 }]
    route: [{ destination: { host: app.internal, port: { number: 5432 } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bank, namespace: default }
spec:
  hosts: [bank.example.com]
  gateways: [edge]
  tls: [{ match: [{ port: 8444, sniHosts: [bank.example.com] }], route: [{ destination: { host: app.internal, port: { number: 80 } } }] }]
`;
  const objects = parseYaml(yaml);
  for (const o of objects) expect(validateObject(o)).toEqual([]); // what the webhook admits
  const model = normalise(objects).model;
  model.mesh = parseMeshConfig("accessLogFile: /dev/stdout\naccessLogEncoding: TEXT");
  return [
    "sidecar~127.0.0.9~client-0.default~default.svc.cluster.local",
    "router~127.0.0.1~gw.default~default.svc.cluster.local",
  ].map((id) => {
    const out = translate(model, parseNodeId(id));
    // shop.example.com is the gateway's name: on the mesh side it names no service, as said.
    expect(out.warnings.filter((w) => !w.includes('"shop.example.com" matches no service'))).toEqual([]);
    return { listeners: out.listeners, routes: out.routes, clusters: out.clusters, endpoints: out.endpoints };
  });
}

describe("every field the engine doesn't read is refused (Envoy's protos, discovery's config)", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await certificateFiles();
  });

  it("setting any field of any message in the config either reaches the compiler or is refused", () => {
    const unread = new Set<string>();
    const checked = new Set<string>();
    for (const res of [...config(), ...richConfig(dir)]) {
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
