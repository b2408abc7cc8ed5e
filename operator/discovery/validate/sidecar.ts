// Validation of Sidecar and of exportTo beyond their fields' types: what istiod's webhook rejects
// (pilot/pkg/config/validation: ValidateSidecar, validateExportTo). Pure; messages start with the field path.
import type { Named } from "../model/config.js";
import type { DestinationRule, Sidecar } from "../model/istio.js";
import { parseEgressHost } from "../translate/scope.js";
import { hostError } from "./gateway-entry.js";

/** A DNS-1123 label: a namespace name, a subset name. */
export const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `exportTo`: ".", "*", "~" (nowhere) or namespace names; "*" and "~" stand alone; no duplicates. */
export function validateExportTo(value: unknown, path: string): string[] {
  if (!Array.isArray(value)) return []; // the field check says what it should be
  const out: string[] = [];
  const seen = new Set<unknown>();
  value.forEach((e, i) => {
    if (typeof e !== "string") return;
    if (seen.has(e)) out.push(`${path}[${i}]: "${e}" is listed twice`);
    seen.add(e);
    if (e !== "." && e !== "*" && e !== "~" && !LABEL.test(e))
      out.push(`${path}[${i}]: "${e}" is not ".", "*", "~" or a namespace name`);
  });
  if (value.length > 1 && (seen.has("*") || seen.has("~")))
    out.push(`${path}: "*" (every namespace) and "~" (none) cannot be listed with other values`);
  return out;
}

/** One egress host, `[~]namespace/dnsName`: namespace `*`, `.` or a name; dnsName `*`, `*.suffix` or a DNS name. */
function egressHostError(host: string): string | undefined {
  const parsed = parseEgressHost(host);
  if (!parsed) return `"${host}" must be namespace/dnsName (like "./*", "*/reviews.default.svc.cluster.local")`;
  const ns = parsed.namespace;
  if (!parsed.dnsName) return `"${host}": the dnsName after "/" is empty`;
  if (ns !== "*" && ns !== "." && !LABEL.test(ns)) return `"${host}": "${ns}" is not "*", "." or a namespace name`;
  return hostError(parsed.dnsName, false);
}

export function validateSidecar(spec: Sidecar): string[] {
  const out: string[] = [];
  const selector = spec.workloadSelector;
  if (selector && !Object.keys(selector.labels ?? {}).length)
    out.push("spec.workloadSelector.labels: is required (leave out workloadSelector for the namespace's default)");
  if (!spec.egress?.length && !spec.outboundTrafficPolicy)
    out.push("spec.egress: is required (Weft implements egress hosts and outboundTrafficPolicy)");
  (spec.egress ?? []).forEach((listener, i) => {
    const hosts = listener?.hosts;
    if (!Array.isArray(hosts) || !hosts.length) out.push(`spec.egress[${i}].hosts: at least one host is required`);
    else
      hosts.forEach((h, j) => {
        const e = typeof h === "string" ? egressHostError(h) : undefined;
        if (e) out.push(`spec.egress[${i}].hosts[${j}]: ${e}`);
      });
  });
  return out;
}

/**
 * A DestinationRule's workloadSelector, as istiod's validateWorkloadSelector and validateExportTo: no empty key, no
 * wildcard, and the rule kept to its namespace (exportTo "." or the namespace's name, alone). A selector without
 * labels, which istiod takes with a warning as every workload of the namespace, is refused, as a Sidecar's is.
 */
export function selectorProblems(dr: Named<DestinationRule>): string[] {
  const selector = dr.spec.workloadSelector;
  if (!selector) return [];
  const out: string[] = [];
  const at = "spec.workloadSelector.matchLabels";
  const labels = Object.entries(selector.matchLabels ?? {});
  if (!labels.length)
    out.push(`${at}: workload selector specified without labels (leave out workloadSelector for every workload)`);
  for (const [k, v] of labels) {
    if (k === "") out.push(`${at}: empty key is not supported in selector: "${k}=${v}"`);
    if (k.includes("*") || v.includes("*")) out.push(`${at}: wildcard is not supported in selector: "${k}=${v}"`);
  }
  const exportTo = new Set((dr.spec.exportTo ?? []).map((e) => (e === "." ? dr.namespace : e)));
  if (exportTo.size && !exportTo.has(dr.namespace))
    out.push("spec.exportTo: destination rule with workload selector cannot have exportTo beyond current namespace");
  else if (exportTo.size > 1)
    out.push("spec.exportTo: destination rule with workload selector cannot have multiple entries in exportTo");
  return out;
}
