import { readFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "../../../hack/local/mesh.js";
import { parseYaml, sample } from "../../../test/support/discovery/bookinfo.js";
import type { Named } from "../model/config.js";
import type { DestinationRule } from "../model/istio.js";
import type { KubeObject } from "../model/kube.js";
import { regexError, validateObject } from "./index.js";

const rules = (objects: KubeObject[]): Named<DestinationRule>[] =>
  objects.map((o) => ({
    name: o.metadata?.name ?? "",
    namespace: o.metadata?.namespace ?? "default",
    spec: o.spec as DestinationRule,
  }));
const bookinfoRules = rules(sample("destination-rule-all.yaml"));

function vsErrors(http: string): string[] {
  const [vs] = parseYaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
${http}`);
  return validateObject(vs ?? {}, { destinationRules: bookinfoRules });
}

describe("validate VirtualService", () => {
  it.each([
    "virtual-service-all-v1.yaml",
    "virtual-service-reviews-50-v3.yaml",
    "virtual-service-reviews-test-v2.yaml",
    "virtual-service-ratings-test-abort.yaml",
  ])("accepts Istio's %s", (file) => {
    for (const vs of sample(file)) expect(validateObject(vs, { destinationRules: bookinfoRules })).toEqual([]);
  });

  it("rejects a bad regex, naming the field", () => {
    expect(
      vsErrors(`
  - match: [{ uri: { regex: "/api/(v1" } }, { headers: { x-id: { regex: "(?=a)b" } } }]
    route: [{ destination: { host: reviews } }]`),
    ).toEqual([
      expect.stringMatching(/^spec\.http\[0\]\.match\[0\]\.uri\.regex: "\/api\/\(v1" is not a valid regex/),
      'spec.http[0].match[1].headers.x-id.regex: "(?=a)b" uses lookaround or backreferences, which RE2 does not support',
    ]);
  });

  it("rejects negative weights and weights that don't add up to 100", () => {
    expect(
      vsErrors(`
  - route:
    - { destination: { host: reviews, subset: v1 }, weight: -10 }
    - { destination: { host: reviews, subset: v2 }, weight: 100 }
  - route:
    - { destination: { host: reviews, subset: v1 }, weight: 50 }
    - { destination: { host: reviews, subset: v3 }, weight: 40 }`),
    ).toEqual([
      "spec.http[0].route: weights of several destinations must add up to 100, they add up to 90",
      "spec.http[1].route: weights of several destinations must add up to 100, they add up to 90",
      "spec.http[0].route[0].weight: must be an integer from 0 to 2147483647, got -10",
    ]);
  });

  it("rejects negative retry attempts, an abort percentage above 100 and bad durations", () => {
    expect(
      vsErrors(`
  - retries: { attempts: -1, perTryTimeout: soon }
    fault: { abort: { httpStatus: 503, percentage: { value: 150 } } }
    timeout: 10
    route: [{ destination: { host: reviews } }]`),
    ).toEqual([
      "spec.http[0].retries.attempts: must be an integer from 0 to 2147483647, got -1",
      'spec.http[0].retries.perTryTimeout: "soon" is not a duration (like "1.5s" or "300ms")',
      "spec.http[0].fault.abort.percentage.value: must be a number from 0 to 100, got 150",
      'spec.http[0].timeout: "10" is not a duration (like "1.5s" or "300ms")',
    ]);
  });

  it("rejects retry conditions the proxy doesn't implement (they would NACK the whole route table)", () => {
    expect(
      vsErrors(`
  - retries: { attempts: 2, retryOn: "gateway-error,retriable-headers, 409,unavailable,5XX" }
    route: [{ destination: { host: reviews } }]`),
    ).toEqual([
      'spec.http[0].retries.retryOn: "retriable-headers" needs retriable_headers, which Weft doesn\'t implement',
      'spec.http[0].retries.retryOn: unknown retry condition "5XX"',
    ]);
  });

  it("takes retryRemoteLocalities as a bool (the proxy leaves tried localities out of retries)", () => {
    expect(
      vsErrors(`
  - retries: { attempts: 2, retryRemoteLocalities: true }
    route: [{ destination: { host: reviews } }]
  - retries: { attempts: 2, retryRemoteLocalities: "yes" }
    route: [{ destination: { host: reviews } }]`),
    ).toEqual(['spec.http[1].retries.retryRemoteLocalities: expected true or false, got string "yes"']);
  });

  it("checks subsets against the DestinationRules it is given, passing over one without a host", () => {
    const broken = { name: "broken", namespace: "default", spec: {} as DestinationRule };
    const [vs] = parseYaml(`
kind: VirtualService
metadata: { name: reviews }
spec: { hosts: [reviews], http: [{ route: [{ destination: { host: reviews, subset: v1 } }] }] }`);
    expect(validateObject(vs ?? {}, { destinationRules: [broken, ...bookinfoRules] })).toEqual([]);
  });

  it("rejects a subset the DestinationRule doesn't define", () => {
    expect(vsErrors(`  - route: [{ destination: { host: reviews, subset: v9 } }]`)).toEqual([
      'spec.http[0].route[0].destination.subset: subset "v9" is not defined by DestinationRule default/reviews',
    ]);
    expect(vsErrors(`  - route: [{ destination: { host: nothing, subset: v1 } }]`)).toEqual([
      'spec.http[0].route[0].destination.subset: subset "v1" needs a DestinationRule for host "nothing", and there is none',
    ]);
  });

  it("requires an action, and hosts unless it is a delegate (routes without hosts)", () => {
    const [vs, empty] = parseYaml(`
kind: VirtualService
metadata: { name: x }
spec: { http: [{ match: [{ uri: { prefix: / } }] }] }
---
kind: VirtualService
metadata: { name: y }
spec: {}`);
    expect(validateObject(vs ?? {})).toEqual(["spec.http[0]: needs a route, a redirect or a directResponse"]);
    expect(validateObject(empty ?? {})).toEqual([
      "spec.hosts: at least one host is required (or, for a delegate, http routes)",
    ]);
  });
});

describe("validate DestinationRule", () => {
  it("accepts Istio's destination-rule-all.yaml", () => {
    for (const dr of sample("destination-rule-all.yaml")) expect(validateObject(dr)).toEqual([]);
  });

  it("refuses a sticky cookie name or path that can't go into Set-Cookie (the proxy makes the cookie when ttl is set)", () => {
    const dr = (cookie: string) =>
      parseYaml(`
kind: DestinationRule
metadata: { name: r }
spec:
  host: reviews
  trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: ${cookie} } } }`)[0] ?? {};
    expect(validateObject(dr("{ name: user, path: /, ttl: 0s }"))).toEqual([]);
    expect(validateObject(dr('{ name: "a b", ttl: 60s }'))).toEqual([
      'spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name: "a b" is not a cookie name (a token)',
    ]);
    expect(validateObject(dr('{ name: user, path: "/\\r\\nx: 1", ttl: 60s }'))).toEqual([
      expect.stringMatching(/^spec\.trafficPolicy\.loadBalancer\.consistentHash\.httpCookie\.path: /),
    ]);
  });

  it("names the fields of a bad traffic policy", () => {
    const [dr] = parseYaml(`
kind: DestinationRule
metadata: { name: r }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN, consistentHash: { httpHeaderName: a, useSourceIp: true } }
    connectionPool: { tcp: { maxConnections: -1 } }
    outlierDetection: { maxEjectionPercent: 101, interval: forever }
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v1, labels: { version: v2 } }`);
    expect(validateObject(dr ?? {})).toEqual([
      "spec.trafficPolicy.loadBalancer.consistentHash: set exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName",
      "spec.trafficPolicy.loadBalancer: set simple or consistentHash, not both",
      'spec.subsets[1].name: "v1" is defined twice',
      "spec.trafficPolicy.connectionPool.tcp.maxConnections: must be an integer from 0 to 2147483647, got -1",
      "spec.trafficPolicy.outlierDetection.maxEjectionPercent: must be an integer from 0 to 100, got 101",
      'spec.trafficPolicy.outlierDetection.interval: "forever" is not a duration (like "1.5s" or "300ms")',
    ]);
  });
});

describe("validate DestinationRule outlier detection the proxy can't carry out", () => {
  const errors = (od: string) =>
    validateObject(
      parseYaml(`
kind: DestinationRule
metadata: { name: r }
spec:
  host: reviews
  trafficPolicy: { outlierDetection: ${od} }`)[0] ?? {},
    );

  it("takes split local-origin errors (their count only with the split, as Istio) and a panic threshold (0 to 100)", () => {
    expect(
      errors("{ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 3, minHealthPercent: 50 }"),
    ).toEqual([]);
    expect(errors("{ consecutiveLocalOriginFailures: 3 }")).toEqual([
      "spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures: outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false",
    ]);
    expect(errors("{ minHealthPercent: 101 }")).toEqual([
      "spec.trafficPolicy.outlierDetection.minHealthPercent: must be an integer from 0 to 100, got 101",
    ]);
    expect(errors("{ splitExternalLocalOriginErrors: false, minHealthPercent: 0, consecutive5xxErrors: 3 }")).toEqual(
      [],
    );
  });
});

describe("validate DestinationRule TLS and keepalive", () => {
  const errors = (policy: string) =>
    validateObject(
      parseYaml(`
kind: DestinationRule
metadata: { name: r }
spec:
  host: ext.example.com
  trafficPolicy: ${policy}`)[0] ?? {},
    );

  it("rejects what the proxy can't do yet instead of sending plaintext or NACKing", () => {
    expect(errors("{ tls: { mode: ISTIO_MUTUAL } }")).toEqual([]);
    expect(errors("{ tls: { mode: ISTIO_MUTUAL, clientCertificate: /c.pem } }")).toEqual([
      "spec.trafficPolicy.tls.clientCertificate: cannot be set with ISTIO_MUTUAL (the mesh certificate and root are used)",
    ]);
    expect(errors("{ tls: { mode: SIMPLE, credentialName: ext-ca } }")).toEqual([]);
    expect(errors("{ tls: { mode: MUTUAL, credentialName: ext-client } }")).toEqual([]);
    // Istio's ValidateTLS: the Secret holds the certificates, so the files can't be given beside it.
    expect(
      errors("{ tls: { mode: MUTUAL, credentialName: c, clientCertificate: /c.pem, privateKey: /k.pem } }"),
    ).toEqual([
      "spec.trafficPolicy.tls: cannot specify client certificates or CA certificate or CA CRL If credentialName is set",
    ]);
    expect(errors("{ tls: { mode: SIMPLE, credentialName: c, caCrl: /crl.pem } }")).toEqual([
      "spec.trafficPolicy.tls: cannot specify client certificates or CA certificate or CA CRL If credentialName is set",
    ]);
    expect(errors("{ tls: { mode: SIMPLE, credentialName: c, insecureSkipVerify: true } }")).toEqual([
      "spec.trafficPolicy.tls: cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true",
    ]);
    // Under MUTUAL the Secret may hold only the client certificate: skipping verification is allowed.
    expect(errors("{ tls: { mode: MUTUAL, credentialName: c, insecureSkipVerify: true } }")).toEqual([]);
    expect(
      errors("{ tls: { mode: MUTUAL, credentialName: c, insecureSkipVerify: true, subjectAltNames: [a] } }"),
    ).toEqual([
      "spec.trafficPolicy.tls: cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true",
    ]);
    expect(errors("{ tls: { mode: ISTIO_MUTUAL, credentialName: c } }")).toEqual([
      "spec.trafficPolicy.tls.credentialName: cannot be set with ISTIO_MUTUAL (the mesh certificate and root are used)",
    ]);
    expect(
      errors(
        "{ portLevelSettings: [{ port: { number: 443 }, tls: { mode: SIMPLE, credentialName: c, caCertificates: /ca.pem } }] }",
      ),
    ).toEqual([
      "spec.trafficPolicy.portLevelSettings[0].tls: cannot specify client certificates or CA certificate or CA CRL If credentialName is set",
    ]);
    expect(errors("{ tls: { mode: MUTUAL, caCertificates: /ca.pem } }")).toEqual([
      "spec.trafficPolicy.tls: MUTUAL needs clientCertificate and privateKey",
    ]);
    expect(errors("{ connectionPool: { tcp: { tcpKeepalive: { probes: 3, interval: 10s } } } }")).toEqual([
      "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.probes: only the kernel default (9) is supported",
      "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.interval: only the kernel default (75s) is supported",
    ]);
    expect(
      errors(
        "{ tls: { mode: SIMPLE, sni: ext.example.com }, connectionPool: { tcp: { tcpKeepalive: { time: 30s } } } }",
      ),
    ).toEqual([]);
  });
});

describe("validate DestinationRule tcpKeepalive.time", () => {
  const errors = (time: string) =>
    validateObject(
      parseYaml(`
kind: DestinationRule
metadata: { name: r }
spec: { host: ext.example.com, trafficPolicy: { connectionPool: { tcp: { tcpKeepalive: { time: "${time}" } } } } }`)[0] ??
        {},
    );

  it("takes whole seconds the kernel takes (1 to 32767), as the proxy sets it, and names the field otherwise", () => {
    expect(errors("1s")).toEqual([]);
    expect(errors("2h")).toEqual([]);
    for (const bad of ["250ms", "1.5s", "0s", "10h"])
      expect(errors(bad)).toContain(
        `spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.time: "${bad}" is not a keepalive time the kernel takes (1s to 32767s, in whole seconds)`,
      );
    // Istio's own rule too: a duration is at least 1ms.
    expect(errors("0s")).toContain(
      'spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.time: duration must be at least 1ms, got "0s"',
    );
  });
});

describe("validate VirtualService destinations", () => {
  it("requires each destination and its host, in routes, mirror and mirrors, as istiod's validateDestination", () => {
    expect(
      vsErrors(`
  - route: [{ destination: { host: reviews, subset: v1 } }]
    mirror: { subset: v1 }
    mirrors: [{ percentage: { value: 5 } }, { destination: { host: "*" } }]
  - route: [{ destination: { host: "a b", port: { number: 70000 } } }]`),
    ).toEqual([
      "spec.http[0].mirror.host: is required",
      "spec.http[0].mirrors[0].destination: is required",
      'spec.http[0].mirrors[1].destination.host: "*" is not a destination; name a service',
      'spec.http[1].route[0].destination.host: "a b" is not a valid host name',
      "spec.http[1].route[0].destination.port.number: must be an integer from 1 to 65535, got 70000",
    ]);
    const [tcp] = parseYaml(`
kind: VirtualService
metadata: { name: db }
spec: { hosts: [db], tcp: [{ route: [{ destination: { host: db } }, { weight: 10 }] }] }`);
    expect(validateObject(tcp ?? {})).toEqual(["spec.tcp[0].route[1].destination: is required"]);
  });
});

describe("validate VirtualService tcp and tls", () => {
  it("accepts Istio's tcp-echo files, and TLS routes as Istio's webhook does (SNI hosts within the hosts)", () => {
    const tcpEcho = (f: string) => parseYaml(readFileSync(path.join(repoRoot(), "samples/tcp-echo", f), "utf8"));
    for (const o of [...tcpEcho("tcp-echo-all-v1.yaml"), ...tcpEcho("tcp-echo-20-v2.yaml")])
      expect(validateObject(o)).toEqual([]);
    const tls = (route: string) =>
      validateObject(
        parseYaml(
          `kind: VirtualService\nmetadata: { name: tls }\nspec:\n  hosts: ["*.example.com"]\n  tls:\n  - ${route}`,
        )[0] ?? {},
      );
    expect(
      tls("{ match: [{ sniHosts: [a.example.com] }], route: [{ destination: { host: a.example.com } }] }"),
    ).toEqual([]);
    expect(
      tls("{ match: [{ sniHosts: [a.example.org, '*'] }], route: [{ destination: { host: a.example.com } }] }"),
    ).toEqual([
      'spec.tls[0].match[0].sniHosts[0]: SNI host "a.example.org" is not a compatible subset of any of the virtual service hosts: [*.example.com]',
      'spec.tls[0].match[0].sniHosts[1]: a bare "*" matches no server name (Envoy\'s wildcards are "*.suffix")',
    ]);
    expect(tls("{ route: [{ destination: { host: a.example.com } }] }")).toEqual([
      "spec.tls[0].match: TLS route must have at least one match condition",
    ]);
    expect(tls("{ match: [{ sniHosts: [a.example.com], destinationSubnets: [10.0.0.0/8] }] }")).toEqual([
      "spec.tls[0].route: TLS route is required",
    ]);
    const to = "route: [{ destination: { host: a.example.com } }]";
    expect(
      tls(
        `{ match: [{ sniHosts: [a.example.com], destinationSubnets: [10.0.0.0/33, 10.1.2.3, 10.0.0.0/8, bad] }], ${to} }`,
      ),
    ).toEqual([
      "spec.tls[0].match[0].destinationSubnets[0]: 10.0.0.0/33 is not a valid CIDR block",
      "spec.tls[0].match[0].destinationSubnets[3]: bad is not a valid IP",
    ]);
  });

  it("takes a tcp match's destinationSubnets and sourceSubnet as CIDR blocks or IPs, as Istio's ValidateIPSubnet", () => {
    const tcp = (match: string) =>
      validateObject(
        parseYaml(
          `kind: VirtualService\nmetadata: { name: db }\nspec:\n  hosts: [db]\n  tcp:\n  - { match: [${match}], route: [{ destination: { host: db } }] }`,
        )[0] ?? {},
      );
    expect(tcp("{ sourceSubnet: 10.1.0.0/16, destinationSubnets: [10.0.0.0/8, '2001:db8::/32', 10.2.3.4] }")).toEqual(
      [],
    );
    expect(tcp("{ sourceSubnet: 10.1.2.3 }, { sourceSubnet: 'fd00::1' }")).toEqual([]);
    expect(tcp("{ sourceSubnet: 10.1.0.0/40 }, { sourceSubnet: 10.1.0.256 }, { sourceSubnet: 10.1.0.0/16/2 }")).toEqual(
      [
        "spec.tcp[0].match[0].sourceSubnet: 10.1.0.0/40 is not a valid CIDR block",
        "spec.tcp[0].match[1].sourceSubnet: 10.1.0.256 is not a valid IP",
        "spec.tcp[0].match[2].sourceSubnet: 10.1.0.0/16/2 is not a valid IP",
      ],
    );
    expect(tcp("{ destinationSubnets: [10.0.0.0/8, 010.0.0.0/8, 'fe80::1%eth0'] }")).toEqual([
      "spec.tcp[0].match[0].destinationSubnets[1]: 010.0.0.0/8 is not a valid CIDR block",
      "spec.tcp[0].match[0].destinationSubnets[2]: fe80::1%eth0 is not a valid IP",
    ]);
  });
});

describe("regexError", () => {
  it("accepts RE2-compatible patterns", () => {
    expect(regexError("^/api/v[0-9]+/.*$")).toBeUndefined();
  });
});
