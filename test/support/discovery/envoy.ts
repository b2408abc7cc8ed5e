// Test support: every resource of a translate result passes Envoy's own field rules.
import { envoyRuleViolations } from "../../../proxy/xds/rules.js";
import type { JsonObject } from "../../../proxy/xds/types.js";
import type { TranslateResult } from "../../../operator/discovery/translate/index.js";

export function violations(out: TranslateResult | JsonObject[]): string[] {
  const list: JsonObject[] = Array.isArray(out)
    ? out
    : [...out.listeners, ...out.routes, ...out.clusters, ...out.endpoints];
  return list.flatMap((r) => envoyRuleViolations(r).map((v) => `${String(r["name"] ?? r["cluster_name"])}: ${v}`));
}
