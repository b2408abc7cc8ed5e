// Test support: every resource of a translate result passes Envoy's own field rules, and a whole result compiles in
// Weft's engine (what discovery sends, the engine takes: a field it writes that the engine would NACK shows here).
import { envoyRuleViolations } from "../../../proxy/xds/rules.js";
import type { JsonObject } from "../../../proxy/xds/types.js";
import type { TranslateResult } from "../../../operator/discovery/translate/index.js";
import { compile } from "../../../proxy/engine/config/index.js";
import { workloadSecrets } from "../../../proxy/agent/secrets.js";

export function violations(out: TranslateResult | JsonObject[]): string[] {
  const list: JsonObject[] = Array.isArray(out)
    ? out
    : [...out.listeners, ...out.routes, ...out.clusters, ...out.endpoints, ...out.secrets];
  const rules = list.flatMap((r) =>
    envoyRuleViolations(r).map((v) => `${String(r["name"] ?? r["cluster_name"])}: ${v}`),
  );
  return Array.isArray(out) ? rules : [...rules, ...engineRefusal(out)];
}

/** The engine's refusal of a whole result, with the workload secrets the agent adds (placeholders: not parsed here). */
function engineRefusal(out: TranslateResult): string[] {
  if (out.listeners.some((l) => l["api_listener"] !== undefined)) return []; // proxyless gRPC: no engine reads it
  try {
    const secrets = workloadSecrets({ certChainPem: "chain", keyPem: "key", rootPem: "root" });
    compile({
      listeners: out.listeners,
      routes: out.routes,
      clusters: out.clusters,
      endpoints: out.endpoints,
      secrets: [...secrets, ...out.secrets],
    });
    return [];
  } catch (err) {
    return [`the engine refuses it: ${(err as Error).message}`];
  }
}
