// The checks on spec.meshConfig's extensionProviders and defaultProviders that ajv doesn't run: the CEL rules of
// schema-providers.ts, the list's unique names (x-kubernetes-list-type: map), and the provider kinds Weft doesn't
// implement, which the API server prunes and ajv keeps. Each message names the field as the API server does. Pure.
import {
  BUILTIN_LOG,
  ENVOY_IS_A_LOG,
  LOG_DEFAULTS,
  ONE_KIND,
  ONE_TRACER_SETTING,
  PROVIDER_KINDS,
  SHORTCUT_NAME,
  SHORTCUT_TRACER,
  TEXT_OR_LABELS,
  TRACER_IS_DEFAULT,
  TRACING_DEFAULTS,
  type Rule,
} from "./schema-providers.js";
import type { ExtensionProvider, MeshSpec } from "./types.js";

const AT = "spec.meshConfig";
const KNOWN = new Set<string>(["name", ...PROVIDER_KINDS]);
/** As the API server words a failed CEL rule: the type of the value the rule is on, not the value. */
const invalid = (path: string, value: object, rule: Rule) =>
  `${path}: Invalid value: "${Array.isArray(value) ? "array" : "object"}": ${rule.message}`;
const isTracer = (p: ExtensionProvider) => p.zipkin !== undefined || p.opentelemetry !== undefined;

function providerProblems(p: ExtensionProvider, at: string): string[] {
  const out: string[] = [];
  for (const k of Object.keys(p))
    if (!KNOWN.has(k)) out.push(`${at}.${k}: unsupported provider kind (Weft implements ${PROVIDER_KINDS.join(", ")})`);
  if (PROVIDER_KINDS.filter((k) => p[k] !== undefined).length !== 1) out.push(invalid(at, p, ONE_KIND));
  if (p.name === BUILTIN_LOG && p.envoyFileAccessLog === undefined) out.push(invalid(at, p, ENVOY_IS_A_LOG));
  const format = p.envoyFileAccessLog?.logFormat;
  if (format?.text !== undefined && format.labels !== undefined)
    out.push(invalid(`${at}.envoyFileAccessLog.logFormat`, format, TEXT_OR_LABELS));
  return out;
}

/** What the API server would refuse in spec.meshConfig's providers, one message per problem. */
export function meshProviderProblems(mesh: MeshSpec["meshConfig"]): string[] {
  const list = mesh.extensionProviders ?? [];
  const defaults = mesh.defaultProviders ?? {};
  const out: string[] = [];
  const seen = new Set<string>();
  list.forEach((p, i) => {
    const at = `${AT}.extensionProviders[${i}]`;
    if (seen.has(p.name)) out.push(`${at}: Duplicate value: ${JSON.stringify({ name: p.name })}`);
    seen.add(p.name);
    out.push(...providerProblems(p, at));
  });
  const fieldOf = (rule: Rule) => `${AT}${rule.fieldPath ?? ""}`;
  const logs = defaults.accessLogging ?? [];
  if (!logs.every((n) => n === BUILTIN_LOG || list.some((p) => p.name === n && p.envoyFileAccessLog !== undefined)))
    out.push(invalid(fieldOf(LOG_DEFAULTS), mesh, LOG_DEFAULTS));
  const tracing = defaults.tracing ?? [];
  if (!tracing.every((n) => list.some((p) => p.name === n && isTracer(p))))
    out.push(invalid(fieldOf(TRACING_DEFAULTS), mesh, TRACING_DEFAULTS));
  if (!list.every((p) => !isTracer(p) || tracing.includes(p.name)))
    out.push(invalid(fieldOf(TRACER_IS_DEFAULT), mesh, TRACER_IS_DEFAULT));
  const shortcut = mesh.tracing.openTelemetry !== undefined;
  if (shortcut && tracing.length > 0) out.push(invalid(fieldOf(ONE_TRACER_SETTING), mesh, ONE_TRACER_SETTING));
  if (shortcut && list.some((p) => p.name === SHORTCUT_TRACER))
    out.push(invalid(fieldOf(SHORTCUT_NAME), mesh, SHORTCUT_NAME));
  return out;
}
