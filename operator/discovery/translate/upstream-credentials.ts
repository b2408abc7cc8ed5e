// A DestinationRule's `tls.credentialName` (SIMPLE and MUTUAL origination), as istiod serves it: the clusters name
// SDS Secrets `kubernetes://<name>` (MUTUAL's client certificate and key) and `kubernetes://<name>-cacert` (the CA the
// server is verified against: Secret `<name>-cacert`, else `<name>`'s own `cacert`/`ca.crt`), read from the proxy's
// own namespace. Gateways get them, and sidecars only from a rule with a workloadSelector that selects them, when
// their ServiceAccount may read Secrets (translate/sidecar-credentials.ts); istiod leaves a sidecar's cluster without
// TLS when its rule has no workloadSelector (every sidecar it reaches would need the Secret), which here would send
// plaintext, so the sidecar keeps the references and gets no Secret. A cluster whose Secret isn't served fails closed in the proxy (Envoy's
// `upstream_context_secrets_not_ready`: its connections are refused, never made without TLS or verification), and a
// warning says why. Pure.
import type { Cluster, Secret } from "../../../proxy/xds/resources.js";
import type { JsonObject } from "../../../proxy/xds/types.js";
import { sdsNames } from "../../../proxy/xds/references.js";
import { CA_SUFFIX, CREDENTIAL_PREFIX } from "../model/credentials.js";
import type { ConfigModel } from "../model/config.js";
import { caCredential, credential, pairSecret, rootSecret } from "./gateway-credentials.js";
import type { ProxyIdentity } from "./proxy.js";
import { sidecarRefusal } from "./sidecar-credentials.js";

/** `DestinationRule/<ns>/<name>` from the cluster's istio metadata, as istiod writes it. */
function ruleOf(c: Cluster): string {
  const config = c.metadata?.filter_metadata?.["istio"]?.["config"];
  const m = typeof config === "string" ? /namespaces\/([^/]+)\/destination-rule\/(.+)$/.exec(config) : null;
  return m ? `DestinationRule/${m[1]}/${m[2]}` : "DestinationRule";
}

/**
 * The Secrets the clusters' `kubernetes://` names ask for that this proxy may have, and a warning for each it can't:
 * `refusal` says why a gateway may not read its namespace's Secrets (credentialRefusal), undefined when it may; a
 * sidecar's is decided per Secret, by the rules whose clusters name it (sidecarRefusal).
 */
export function clusterCredentials(
  model: ConfigModel,
  proxy: ProxyIdentity,
  clusters: Cluster[],
  refusal: string | undefined,
): { secrets: Secret[]; warnings: string[] } {
  const users = new Map<string, { clusters: string[]; rules: Set<string> }>();
  for (const c of clusters) {
    for (const name of sdsNames([], [c as JsonObject])) {
      if (!name.startsWith(CREDENTIAL_PREFIX)) continue;
      const u = users.get(name) ?? { clusters: [], rules: new Set<string>() };
      u.clusters.push(c.name ?? "");
      u.rules.add(ruleOf(c));
      users.set(name, u);
    }
  }
  const secrets: Secret[] = [];
  const warnings: string[] = [];
  const ns = proxy.namespace;
  for (const [name, u] of [...users].sort((a, b) => a[0].localeCompare(b[0]))) {
    const fail = (why: string) =>
      warnings.push(
        `${[...u.rules].join(", ")}: tls.credentialName: ${why}; connections of ${u.clusters.join(", ")} are refused until it is served`,
      );
    const isCa = name.endsWith(CA_SUFFIX);
    const base = name.slice(CREDENTIAL_PREFIX.length, isCa ? -CA_SUFFIX.length : undefined);
    const refused =
      proxy.kind === "router"
        ? refusal && `secret ${ns}/${base}: ${refusal}`
        : sidecarRefusal(model, proxy, u.rules, `${ns}/${base}`);
    if (refused) {
      fail(refused);
      continue;
    }
    const found = isCa ? caCredential(model, ns, base) : credential(model, ns, base);
    if (!found) {
      fail(
        `secret ${ns}/${base} not found (a ${proxy.kind === "router" ? "gateway" : "sidecar"} reads Secrets of its own namespace)`,
      );
      continue;
    }
    const secret = isCa ? rootSecret(found, name) : pairSecret(found, name);
    if (typeof secret === "string") fail(`secret ${ns}/${found.name}: ${secret}`);
    else secrets.push(secret);
  }
  return { secrets, warnings };
}
