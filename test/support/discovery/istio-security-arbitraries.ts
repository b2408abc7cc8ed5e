// Test support: fast-check arbitraries for Istio's security objects (PeerAuthentication, AuthorizationPolicy),
// valid-looking and hostile (bad CIDRs, ports, wildcards, unknown condition keys).
import fc from "fast-check";
import { dict, host, labelsArb, list, mostly, namespace, opt, pick, withSpec, type Arb } from "./istio-arbitraries.js";

const mtlsMode = mostly(pick("STRICT", "PERMISSIVE", "DISABLE", "UNSET"), pick("strict", "NOPE"));
export const peerAuthentication = withSpec(
  "PeerAuthentication",
  opt({
    selector: opt({ matchLabels: labelsArb }),
    mtls: opt({ mode: mtlsMode }),
    portLevelMtls: dict(pick("9080", "0", "65536", "abc", "080", "8080"), opt({ mode: mtlsMode })),
  }),
  "security.istio.io/v1",
);

const ipBlock = mostly(
  pick("10.0.0.0/8", "10.0.0.12", "::1"),
  pick("10.0.0.0/33", "10.0.0.1/8", "bad", "10.0.0.0/", "/8", "::/129", "1.2.3.4/-1", "10.0.0.0/08"),
);
const strs = (a: Arb<unknown>): Arb<unknown[]> => fc.array(a, { minLength: 1, maxLength: 2 });
export const authorizationPolicy = withSpec(
  "AuthorizationPolicy",
  opt({
    selector: opt({ matchLabels: labelsArb }),
    action: mostly(pick("ALLOW", "DENY", "AUDIT"), pick("CUSTOM", "allow")),
    rules: list(
      opt({
        from: list(
          fc.record({
            source: opt({
              principals: strs(
                mostly(pick("cluster.local/ns/default/sa/bookinfo-reviews", "*"), pick("a*b", "", "*x*", "é")),
              ),
              notPrincipals: strs(pick("*", "x")),
              namespaces: strs(namespace),
              ipBlocks: strs(ipBlock),
              notIpBlocks: strs(ipBlock),
              remoteIpBlocks: strs(ipBlock),
              serviceAccounts: strs(pick("default/reviews", "reviews", "a/b/c", "x*")),
            }),
          }),
        ),
        to: list(
          fc.record({
            operation: opt({
              hosts: strs(host),
              ports: strs(pick("9080", "0", "65536", "abc", "-1")),
              methods: strs(mostly(pick("GET", "POST"), pick("get", "G*T", "", "GET\r\n"))),
              notMethods: strs(pick("DELETE")),
              paths: strs(mostly(pick("/api/*", "/reviews", "*"), pick("/a*b", "/{*}/x", "", "/é", "a\nb", "/%2F"))),
              notPaths: strs(pick("/admin*")),
            }),
          }),
        ),
        when: list(
          opt({
            key: mostly(
              pick("source.ip", "request.headers[x-user]", "destination.port", "source.namespace"),
              pick(
                "request.auth.claims[iss]",
                "nope",
                "",
                "request.headers[]",
                "request.headers[X\r\nY]",
                "destination.ip",
                "connection.sni",
              ),
            ),
            values: strs(mostly(pick("10.0.0.0/8", "9080", "default", "alice"), pick("bad", "70000", "", "*a*"))),
            notValues: strs(pick("10.0.0.1", "x")),
          }),
        ),
      }),
    ),
  }),
  "security.istio.io/v1",
);
