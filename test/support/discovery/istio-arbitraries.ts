// Test support: fast-check arbitraries for Istio's networking and security objects, valid-looking and hostile (odd
// hosts, ports, durations, regexes, header names and values, percentages, weights), over Bookinfo's names so that
// many of them route somewhere real.
import fc from "fast-check";
import type { KubeObject } from "../../../operator/discovery/model/kube.js";

export type Arb<T> = fc.Arbitrary<T>;
export const pick = (...xs: unknown[]): Arb<unknown> => fc.constantFrom(...xs);
/** Mostly `good`, sometimes `bad`: valid-looking config is what reaches translation. */
export const mostly = (good: Arb<unknown>, bad: Arb<unknown>): Arb<unknown> =>
  fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: bad, weight: 1 });
export const opt = (fields: Record<string, Arb<unknown>>): Arb<Record<string, unknown>> =>
  fc.record(fields, { requiredKeys: [], noNullPrototype: true });
/** A map of up to two entries, keys as strings (YAML's map keys). */
export const dict = (keys: Arb<unknown>, values: Arb<unknown>): Arb<Record<string, unknown>> =>
  fc.dictionary(keys.map(String), values, { maxKeys: 2, noNullPrototype: true });
export const list = (arb: Arb<unknown>, maxLength = 2): Arb<unknown[]> => fc.array(arb, { maxLength });

export const host = mostly(
  pick("reviews", "ratings", "productpage", "details", "reviews.default.svc.cluster.local", "web.example.com"),
  pick(
    "*",
    "*.example.com",
    "*.default.svc.cluster.local",
    "REVIEWS",
    "Reviews.Default.svc.cluster.local",
    "10.0.0.12",
    "::1",
    "[::1]",
    "café.example",
    "xn--caf-dma.example",
    `${"a".repeat(64)}.example.com`,
    `${"a.".repeat(130)}com`,
    "*.*",
    "re*views",
    "",
    "reviews:9080",
    "with space",
    "a/b",
    "-bad",
    "reviews.",
    "*reviews",
    "a\r\nb",
  ),
);
export const portNumber = mostly(pick(9080, 80, 8080), pick(0, 1, 65535, 65536, -1, "9080", 1.5, 2 ** 32, 2 ** 53));
export const duration = mostly(
  pick("1s", "0.5s", "250ms", "3s", "1m"),
  pick(
    "0s",
    "-1s",
    "1.5ms",
    "1h",
    "100000000h",
    "315576000001s",
    "1e3s",
    "",
    "abc",
    "5m30s",
    "0.0000000001s",
    "1ns",
    "1us",
    "1µs",
    "1d",
    "1",
    1,
  ),
);
export const regex = mostly(
  pick(".*", "^/api/v[0-9]+", "/reviews/.*", "[a-z]+"),
  pick(
    "(",
    "[",
    "(?=a)b",
    "(?!a)",
    "(?<=a)b",
    "(a)\\1",
    "(a+)+$",
    "\\p{L}+",
    "a{1001}",
    "(?i)abc",
    "\\C",
    "a**",
    "\\",
    "(?P<n>a)",
    "\0",
    "é+",
  ),
);
export const text = mostly(
  pick("v1", "/api", "/", "GET", "https", "reviews", "x"),
  pick("", "é", "a\r\nb", "a\nb", "\0", " lead", "trail ", "\t", "x".repeat(9000), "💥", "%00", "/a b"),
);
export const headerName = mostly(
  pick("x-a", "x-user", "end-user", "cookie"),
  pick(
    "X-Upper",
    ":path",
    ":authority",
    "host",
    "Host",
    "x\r\nb",
    "x\0",
    "é",
    "",
    "x y",
    "content-length",
    "te",
    "transfer-encoding",
    "connection",
    "x:y",
    "-",
  ),
);
export const headerValue = text;
export const percent = mostly(pick(0, 10, 50, 100), pick(-1, 0.5, 99.99, 100.1, 1e9, "50", Infinity, NaN));
export const int = mostly(pick(0, 1, 3, 10, 100), pick(-1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, "3"));
const weight = mostly(pick(0, 25, 50, 75, 100), pick(-1, 101, 1.5, 2 ** 32, "50"));
const status = mostly(pick(200, 404, 503), pick(0, 99, 100, 199, 600, 999, -1, 1.5, "503"));
export const labelsArb = mostly(
  pick({ app: "reviews" }, { version: "v1" }, { version: "v2" }, { app: "reviews", version: "v3" }),
  pick({}, { "": "x" }, { "a/b/c": "x" }, { app: "é" }, { APP: "Reviews" }),
);
export const namespace = mostly(pick("default"), pick("istio-system", "other", "Default", "", "ns/x"));
const stringMatch = mostly(
  fc.oneof(fc.record({ exact: text }), fc.record({ prefix: text }), fc.record({ regex })),
  opt({ exact: text, prefix: text, regex }),
);
const headerMap = dict(headerName, stringMatch);
const headerOps = opt({
  set: dict(headerName, headerValue),
  add: dict(headerName, headerValue),
  remove: list(headerName),
});
const headers = opt({ request: headerOps, response: headerOps });
const subset = mostly(pick("v1", "v2", "v3"), pick("", "nope", "V1"));
const destination = opt({ host, subset, port: opt({ number: portNumber }) });

const httpMatch = opt({
  name: text,
  uri: stringMatch,
  scheme: stringMatch,
  method: stringMatch,
  authority: stringMatch,
  headers: headerMap,
  withoutHeaders: headerMap,
  queryParams: dict(text, stringMatch),
  port: portNumber,
  ignoreUriCase: fc.boolean(),
  sourceLabels: labelsArb,
  gateways: list(pick("mesh", "bookinfo-gateway")),
  sourceNamespace: namespace,
});

const httpRoute = opt({
  name: text,
  match: list(httpMatch),
  route: fc.array(opt({ destination, weight, headers }), { minLength: 1, maxLength: 3 }),
  redirect: opt({ uri: text, authority: text, port: portNumber, scheme: text, redirectCode: status }),
  directResponse: opt({ status, body: opt({ string: text, bytes: pick("aGk=", "!!") }) }),
  rewrite: opt({
    uri: text,
    authority: text,
    uriRegexRewrite: opt({ match: regex, rewrite: pick("/\\1", "/x", "\\9", "") }),
  }),
  timeout: duration,
  retries: opt({
    attempts: int,
    perTryTimeout: duration,
    retryOn: pick("5xx", "gateway-error,connect-failure", "503", "reset,retriable-4xx", "nonsense", "5xx,,", "99"),
    retryIgnorePreviousHosts: fc.boolean(),
    backoff: duration,
  }),
  fault: opt({
    delay: opt({ fixedDelay: duration, percentage: opt({ value: percent }), percent: int }),
    abort: opt({
      httpStatus: status,
      grpcStatus: pick("UNAVAILABLE", "NOPE", "14"),
      percentage: opt({ value: percent }),
    }),
  }),
  mirror: destination,
  mirrorPercentage: opt({ value: percent }),
  mirrorPercent: int,
  mirrors: list(opt({ destination, percentage: opt({ value: percent }) })),
  corsPolicy: opt({
    allowOrigin: list(text),
    allowOrigins: list(stringMatch),
    allowMethods: list(text),
    allowHeaders: list(headerName),
    exposeHeaders: list(headerName),
    maxAge: duration,
    allowCredentials: fc.boolean(),
  }),
  headers,
  // A root route: the delegate VirtualService (one without hosts) named "a" or "b" may exist, or not.
  delegate: opt({ name: pick("a", "b", "zz", ""), namespace }),
});

const meta = (kind: string, group = "networking.istio.io/v1") =>
  fc.record({
    apiVersion: pick(group),
    kind: pick(kind),
    metadata: fc.record({ name: mostly(pick("a", "b"), pick("", "A_b")), namespace }, { requiredKeys: ["name"] }),
  });
export const withSpec = (kind: string, spec: Arb<unknown>, group?: string): Arb<KubeObject> =>
  fc.tuple(meta(kind, group), spec).map(([m, s]) => ({ ...m, spec: s }) as KubeObject);

const virtualService = withSpec(
  "VirtualService",
  opt({
    // No hosts: a delegate, merged into the roots that name it.
    hosts: mostly(fc.array(host, { minLength: 1, maxLength: 2 }), pick([])),
    gateways: mostly(pick(["mesh"]), pick(["bookinfo-gateway"], ["default/bookinfo-gateway", "mesh"], ["a/b/c"], [""])),
    http: list(httpRoute, 3),
    tcp: list(
      opt({
        match: list(
          opt({
            port: portNumber,
            destinationSubnets: list(pick("10.0.0.0/8", "10.1.0.0/16", "240.0.0.9", "bad")),
            sourceSubnet: pick("127.0.0.5/32", "10.0.0.0/8", "10.0.0.0/33"),
          }),
        ),
        route: list(opt({ destination, weight })),
      }),
    ),
    tls: list(
      opt({
        match: list(
          opt({
            port: portNumber,
            sniHosts: fc.array(host, { maxLength: 2 }),
            destinationSubnets: list(pick("10.0.0.0/8", "10.1.0.0/16", "bad")),
          }),
        ),
        route: list(opt({ destination, weight })),
      }),
    ),
  }),
);

const lbs = opt({
  simple: mostly(
    pick("ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "PASSTHROUGH", "LEAST_CONN"),
    pick("UNSPECIFIED", "round_robin", "NOPE"),
  ),
  consistentHash: opt({
    httpHeaderName: headerName,
    httpCookie: opt({ name: mostly(pick("user"), pick("", "a b", "é", "a;b")), path: text, ttl: duration }),
    useSourceIp: fc.boolean(),
    httpQueryParameterName: text,
    ringHash: opt({ minimumRingSize: int }),
    maglev: opt({ tableSize: mostly(pick(65537), pick(0, 1, 4, 65536, 5000011, 2 ** 32)) }),
    minimumRingSize: int,
  }),
});
const policyFields = {
  loadBalancer: lbs,
  connectionPool: opt({
    tcp: opt({
      maxConnections: int,
      connectTimeout: duration,
      tcpKeepalive: opt({ time: duration, probes: pick(9, 3), interval: pick("75s", "1s") }),
      idleTimeout: duration,
    }),
    http: opt({
      http1MaxPendingRequests: int,
      http2MaxRequests: int,
      maxRequestsPerConnection: int,
      maxRetries: int,
      idleTimeout: duration,
      h2UpgradePolicy: pick("DEFAULT", "DO_NOT_UPGRADE", "UPGRADE", "NOPE"),
    }),
  }),
  outlierDetection: opt({
    consecutiveErrors: int,
    consecutive5xxErrors: int,
    consecutiveGatewayErrors: int,
    interval: duration,
    baseEjectionTime: duration,
    maxEjectionPercent: percent,
    minHealthPercent: percent,
  }),
  tls: opt({
    mode: mostly(pick("DISABLE", "SIMPLE", "ISTIO_MUTUAL"), pick("MUTUAL", "STRICT")),
    sni: text,
    subjectAltNames: list(text),
    caCertificates: pick("/etc/certs/root.pem", ""),
    clientCertificate: pick("/etc/certs/cert.pem"),
    privateKey: pick("/etc/certs/key.pem"),
    insecureSkipVerify: fc.boolean(),
  }),
};
const trafficPolicy = opt({
  ...policyFields,
  portLevelSettings: list(opt({ port: opt({ number: portNumber }), ...policyFields })),
});
const destinationRule = withSpec(
  "DestinationRule",
  opt({
    host,
    trafficPolicy,
    subsets: list(opt({ name: subset, labels: labelsArb, trafficPolicy }), 3),
  }),
);

const serverPort = opt({
  number: portNumber,
  protocol: mostly(pick("HTTP", "HTTP2", "GRPC", "TCP", "TLS"), pick("http", "HTTPS", "UDP", "FOO", "")),
  name: pick("http", "tcp", "x"),
  targetPort: portNumber,
});
const gateway = withSpec(
  "Gateway",
  opt({
    selector: mostly(pick({ istio: "ingressgateway" }), pick({}, { istio: "other" })),
    servers: list(
      opt({
        port: serverPort,
        hosts: fc.array(mostly(host, pick("default/*", "*/reviews", "./*", "a/b/c")), { maxLength: 2 }),
        name: text,
      }),
    ),
  }),
);
const endpoint = opt({
  address: mostly(
    pick("10.0.9.1", "10.0.9.2"),
    pick("", "db.example.com", "::1", "999.1.1.1", "unix:///sock", "10.0.0.12"),
  ),
  ports: dict(pick("http", "tcp", "x"), portNumber),
  labels: labelsArb,
  weight: int,
});
const serviceEntry = withSpec(
  "ServiceEntry",
  opt({
    hosts: fc.array(host, { minLength: 1, maxLength: 2 }),
    addresses: list(pick("240.0.0.1", "240.0.0.0/24", "::/0", "bad", "10.0.0.1/33", "10.96.0.10")),
    ports: list(serverPort),
    location: pick("MESH_EXTERNAL", "MESH_INTERNAL"),
    resolution: pick("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"),
    endpoints: list(endpoint),
  }),
);
const workloadEntry = withSpec("WorkloadEntry", endpoint);
const sidecar = withSpec(
  "Sidecar",
  opt({
    workloadSelector: opt({ labels: labelsArb }),
    egress: list(
      opt({
        hosts: fc.array(
          mostly(
            pick("./*", "*/*", "istio-system/*", "default/reviews"),
            pick("*", "a/b/c", "./", "Default/*", "./*.*"),
          ),
          { maxLength: 2 },
        ),
      }),
    ),
    outboundTrafficPolicy: opt({ mode: pick("REGISTRY_ONLY", "ALLOW_ANY") }),
  }),
);

/** One networking.istio.io object of a kind Weft serves. */
export const networkingObject: Arb<KubeObject> = fc.oneof(
  { arbitrary: virtualService, weight: 4 },
  { arbitrary: destinationRule, weight: 3 },
  { arbitrary: gateway, weight: 1 },
  { arbitrary: serviceEntry, weight: 1 },
  { arbitrary: workloadEntry, weight: 1 },
  { arbitrary: sidecar, weight: 1 },
);
