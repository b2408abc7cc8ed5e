// Validation of Istio objects (VirtualService, DestinationRule, …, AuthorizationPolicy) that a proxy would NACK or that can't mean what the
// user wrote. Pure. Each message starts with the field path: `spec.http[0].route[1].weight: ...`.
import { clientTlsProblems } from "./client-tls.js";
import { durationSeconds } from "../model/duration.js";
import { retryOnProblem } from "../../../proxy/xds/retry-on.js";
import { DEFAULT_DOMAIN_SUFFIX } from "../model/config.js";
import type { Named } from "../model/config.js";
import { fqdn } from "../translate/hosts.js";
import type {
  DestinationRule,
  Headers,
  HTTPRoute,
  StringMatch,
  TrafficPolicy,
  VirtualService,
} from "../model/istio.js";
import type { KubeObject } from "../model/kube.js";
import { compileRe2, compileSubstitution, re2Error } from "../../../proxy/xds/regex.js";
import { headerNameError, headerValueError } from "../../../proxy/xds/header-field.js";
import { destinationErrors } from "./destination.js";
import { validateGateway, validateServiceEntry, validateWorkloadEntry } from "./gateway-entry.js";
import { validateTlsRoute } from "./tls-route.js";
import { subnetErrors } from "./subnets.js";
import { gatewaySubnetWarnings } from "./gateway-subnets.js";
import { mappedRangeWarnings } from "./mapped-ranges.js";
import { OBJECT_FIELDS, SPEC_SHAPES } from "./istio-shapes.js";
import { checkShape, suggest, type Shape } from "./shape.js";
import { AUTHORIZATION_POLICY_SHAPE, validateAuthorizationPolicy } from "./authorization.js";
import { PEER_AUTHENTICATION_SHAPE, validatePeerAuthentication } from "./peer-authentication.js";
import { REQUEST_AUTHENTICATION_SHAPE, validateRequestAuthentication } from "./request-authentication.js";
import { selectorProblems, validateExportTo, validateSidecar } from "./sidecar.js";
import { localityLbProblems } from "./locality.js";
import { consistentHashProblems } from "./consistent-hash.js";
import { TELEMETRY_SHAPE, validateTelemetry } from "./telemetry.js";

/** The spec of each security.istio.io kind Weft enforces. */
const SECURITY_SHAPES: Readonly<Record<string, Shape>> = {
  AuthorizationPolicy: AUTHORIZATION_POLICY_SHAPE,
  PeerAuthentication: PEER_AUTHENTICATION_SHAPE,
  RequestAuthentication: REQUEST_AUTHENTICATION_SHAPE,
};

export interface ValidationContext {
  /** The DestinationRules a VirtualService's subsets must be defined in. Omit to skip the subset check. */
  destinationRules?: Named<DestinationRule>[];
  domainSuffix?: string;
}

/** Why the proxy's regex engine (RE2, the same module the engine compiles with) rejects a pattern. */
export const regexError = (pattern: string): string | undefined => re2Error(pattern);

class Errors {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
  stringMatch(path: string, m: StringMatch | undefined): void {
    if (!m) return;
    const set = [m.exact, m.prefix, m.regex].filter((x) => x !== undefined).length;
    if (set > 1) this.add(path, "set only one of exact, prefix, regex");
    if (m.regex !== undefined) {
      const e = regexError(m.regex);
      if (e) this.add(`${path}.regex`, e);
    }
  }
  /** A string that becomes a header value or part of the request line: no CR, LF or NUL. */
  headerValue(path: string, value: string | undefined): void {
    const err = value === undefined ? undefined : headerValueError(value);
    if (err) this.add(path, err);
  }
  /** Istio's header operations: names must be tokens, values free of CR, LF and NUL. */
  headers(path: string, h: Headers | undefined): void {
    for (const dir of ["request", "response"] as const) {
      const ops = h?.[dir];
      for (const op of ["set", "add"] as const) {
        for (const [name, value] of Object.entries(ops?.[op] ?? {})) {
          const p = `${path}.${dir}.${op}[${JSON.stringify(name)}]`;
          const bad = headerNameError(name);
          if (bad) this.add(p, bad);
          this.headerValue(p, value);
        }
      }
      (ops?.remove ?? []).forEach((name, i) => {
        const bad = headerNameError(name);
        if (bad) this.add(`${path}.${dir}.remove[${i}]`, bad);
      });
    }
  }
  /**
   * Istio's validatePercentage beyond the field's 0 to 100: a fraction below 0.0001 would be 0 on the wire (the
   * proxy counts in millionths), so it is refused.
   */
  percent(path: string, value: unknown): void {
    if (typeof value === "number" && value > 0 && value < 0.0001)
      this.add(path, `percentage ${value} is neither 0.0, nor in range [0.0001, 100.0]`);
  }
}

const ruleIndexes = new WeakMap<Named<DestinationRule>[], Map<string, Named<DestinationRule>[]>>();

/** DestinationRules by their host as written and as FQDN; built once per list. */
function rulesByHost(rules: Named<DestinationRule>[], suffix: string): Map<string, Named<DestinationRule>[]> {
  let index = ruleIndexes.get(rules);
  if (!index) {
    index = new Map();
    for (const r of rules) {
      // A rule the cluster holds without a host (stored before this webhook, or never admitted) names no subsets.
      if (typeof r.spec.host !== "string" || !r.spec.host) continue;
      for (const h of new Set([r.spec.host, fqdn(r.spec.host, r.namespace, suffix)]))
        index.set(h, [...(index.get(h) ?? []), r]);
    }
    ruleIndexes.set(rules, index);
  }
  return index;
}

function subsetDefined(host: string, subset: string, namespace: string, ctx: ValidationContext): string | undefined {
  const suffix = ctx.domainSuffix ?? DEFAULT_DOMAIN_SUFFIX;
  // A short host is relative to its object's namespace; compare what both resolve to.
  const index = rulesByHost(ctx.destinationRules ?? [], suffix);
  const rules = [...new Set([...(index.get(host) ?? []), ...(index.get(fqdn(host, namespace, suffix)) ?? [])])];
  if (!rules.length) return `subset "${subset}" needs a DestinationRule for host "${host}", and there is none`;
  if (rules.some((r) => r.spec.subsets?.some((s) => s.name === subset))) return undefined;
  const names = rules.map((r) => `${r.namespace}/${r.name}`).join(", ");
  return `subset "${subset}" is not defined by DestinationRule ${names}`;
}

function validateHttp(e: Errors, http: HTTPRoute, path: string, namespace: string, ctx: ValidationContext): void {
  (http.match ?? []).forEach((m, j) => {
    const mp = `${path}.match[${j}]`;
    e.stringMatch(`${mp}.uri`, m.uri);
    e.stringMatch(`${mp}.method`, m.method);
    e.stringMatch(`${mp}.authority`, m.authority);
    e.stringMatch(`${mp}.scheme`, m.scheme);
    for (const [k, v] of Object.entries(m.headers ?? {})) e.stringMatch(`${mp}.headers.${k}`, v);
    for (const [k, v] of Object.entries(m.withoutHeaders ?? {})) e.stringMatch(`${mp}.withoutHeaders.${k}`, v);
    for (const [k, v] of Object.entries(m.queryParams ?? {})) e.stringMatch(`${mp}.queryParams.${k}`, v);
  });
  const routes = http.route ?? [];
  if (!routes.length && !http.redirect && !http.directResponse)
    e.add(path, "needs a route, a redirect or a directResponse");
  if (routes.length && (http.redirect || http.directResponse))
    e.add(path, "route cannot be combined with redirect or directResponse");
  routes.forEach((r, j) => {
    const rp = `${path}.route[${j}]`;
    e.list.push(...destinationErrors(r.destination, `${rp}.destination`));
    if (r.destination?.subset && r.destination.host && ctx.destinationRules) {
      const problem = subsetDefined(r.destination.host, r.destination.subset, namespace, ctx);
      if (problem) e.add(`${rp}.destination.subset`, problem);
    }
  });
  if (routes.length > 1) {
    const sum = routes.reduce((acc, r) => acc + (r.weight ?? 0), 0);
    if (sum !== 100)
      e.add(`${path}.route`, `weights of several destinations must add up to 100, they add up to ${sum}`);
  }
  if (http.retries) {
    // Numbers are status codes; the rest must be conditions the proxy implements, or its whole route table is NACKed.
    for (const part of (http.retries.retryOn ?? "").split(",").map((p) => p.trim())) {
      const problem = part && !/^\d{3}$/.test(part) ? retryOnProblem(part) : undefined;
      if (problem) e.add(`${path}.retries.retryOn`, problem);
    }
  }
  const fault = http.fault;
  e.percent(`${path}.fault.delay.percentage.value`, fault?.delay?.percentage?.value);
  e.percent(`${path}.fault.abort.percentage.value`, fault?.abort?.percentage?.value);
  if (http.mirror) e.list.push(...destinationErrors(http.mirror, `${path}.mirror`));
  (http.mirrors ?? []).forEach((m, j) => {
    e.list.push(...destinationErrors(m.destination, `${path}.mirrors[${j}].destination`));
  });
  e.percent(`${path}.mirrorPercentage.value`, http.mirrorPercentage?.value);
  (http.mirrors ?? []).forEach((m, j) => e.percent(`${path}.mirrors[${j}].percentage.value`, m.percentage?.value));
  e.headers(`${path}.headers`, http.headers);
  routes.forEach((r, j) => e.headers(`${path}.route[${j}].headers`, r.headers));
  e.headerValue(`${path}.rewrite.uri`, http.rewrite?.uri);
  e.headerValue(`${path}.rewrite.authority`, http.rewrite?.authority);
  e.headerValue(`${path}.redirect.uri`, http.redirect?.uri);
  e.headerValue(`${path}.redirect.authority`, http.redirect?.authority);
  e.headerValue(`${path}.redirect.scheme`, http.redirect?.scheme);
  for (const k of ["allowMethods", "allowHeaders", "exposeHeaders"] as const) {
    (http.corsPolicy?.[k] ?? []).forEach((v, j) => e.headerValue(`${path}.corsPolicy.${k}[${j}]`, v));
  }
  (http.corsPolicy?.allowOrigins ?? []).forEach((o, j) => e.stringMatch(`${path}.corsPolicy.allowOrigins[${j}]`, o));
  const rr = http.rewrite?.uriRegexRewrite;
  if (rr?.match !== undefined) {
    const re = compileRe2(rr.match);
    if (typeof re === "string") e.add(`${path}.rewrite.uriRegexRewrite.match`, re);
    else {
      const sub = compileSubstitution(rr.rewrite ?? "", re.groups);
      if (typeof sub === "string") e.add(`${path}.rewrite.uriRegexRewrite.rewrite`, sub);
      e.headerValue(`${path}.rewrite.uriRegexRewrite.rewrite`, rr.rewrite);
    }
  }
}

/** The ranges and durations of a spec's fields (validate/istio-shapes.ts), for a model's objects checked alone. */
const fieldValues = (spec: unknown, kind: string): string[] =>
  checkShape(spec, SPEC_SHAPES[kind] as Shape, "spec", [], false);

export function validateVirtualService(vs: Named<VirtualService>, ctx: ValidationContext = {}): string[] {
  const e = new Errors();
  // Without hosts, a delegate: its http routes are merged into the root routes that name it (model/delegate.ts).
  const delegate = !vs.spec.hosts?.length;
  if (delegate && !vs.spec.http?.length)
    e.add("spec.hosts", "at least one host is required (or, for a delegate, http routes)");
  if (delegate && vs.spec.gateways?.length)
    e.add("spec.gateways", "a delegate VirtualService (no hosts) must have no gateways: its root's apply");
  if (delegate && vs.spec.tcp?.length)
    e.add("spec.tcp", "a delegate VirtualService (no hosts) must have no tcp routes");
  (vs.spec.http ?? []).forEach((http, i) => {
    const path = `spec.http[${i}]`;
    if (!http.delegate) return validateHttp(e, http, path, vs.namespace, ctx);
    if (delegate) e.add(`${path}.delegate`, "a delegate's route cannot delegate again");
    if (!http.delegate.name) e.add(`${path}.delegate.name`, "is required");
  });
  if (delegate && vs.spec.tls?.length)
    e.add("spec.tls", "a delegate VirtualService (no hosts) must have no tls routes");
  (vs.spec.tls ?? []).forEach((tls, i) => e.list.push(...validateTlsRoute(tls, `spec.tls[${i}]`, vs.spec.hosts ?? [])));
  e.list.push(...fieldValues(vs.spec, "VirtualService"));
  (vs.spec.tcp ?? []).forEach((tcp, i) => {
    if (!tcp.route?.length) e.add(`spec.tcp[${i}].route`, "at least one destination is required");
    (tcp.route ?? []).forEach((r, j) => {
      e.list.push(...destinationErrors(r.destination, `spec.tcp[${i}].route[${j}].destination`));
    });
    (tcp.match ?? []).forEach((m, j) => e.list.push(...subnetErrors(m, `spec.tcp[${i}].match[${j}]`)));
  });
  return e.list;
}

function validatePolicy(e: Errors, p: TrafficPolicy | undefined, path: string): void {
  if (!p) return;
  const od = p.outlierDetection;
  if (od?.consecutiveLocalOriginFailures && !od.splitExternalLocalOriginErrors)
    e.add(
      `${path}.outlierDetection.consecutiveLocalOriginFailures`,
      "outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false",
    );
  const lb = p.loadBalancer;
  const warm = lb?.warmup !== undefined ? "warmup" : lb?.warmupDurationSecs !== undefined ? "warmupDurationSecs" : "";
  // Envoy ramps hosts up only under ROUND_ROBIN and LEAST_REQUEST: anywhere else it would be ignored.
  if (warm && (lb?.consistentHash || lb?.simple === "RANDOM" || lb?.simple === "PASSTHROUGH"))
    e.add(`${path}.loadBalancer.${warm}`, "applies only with ROUND_ROBIN or LEAST_REQUEST load balancing");
  const at = `${path}.loadBalancer.localityLbSetting`;
  for (const { path: sub, message } of localityLbProblems(lb?.localityLbSetting))
    e.add(sub ? `${at}.${sub}` : at, message);
  for (const { path: sub, message } of consistentHashProblems(p.loadBalancer)) e.add(`${path}.${sub}`, message);

  const ka = p.connectionPool?.tcp?.tcpKeepalive;
  if (ka) {
    // The proxy sets only the keepalive idle time: probes and interval stay the kernel's (Linux: 9, 75 s).
    // Linux's TCP_KEEPIDLE takes 1 to 32767 whole seconds (the proxy would be refused "250ms" as 0 seconds).
    const time = ka.time === undefined ? undefined : durationSeconds(ka.time);
    if (time !== undefined && !(Number.isInteger(time) && time >= 1 && time <= 32767))
      e.add(
        `${path}.connectionPool.tcp.tcpKeepalive.time`,
        `"${ka.time}" is not a keepalive time the kernel takes (1s to 32767s, in whole seconds)`,
      );
    if (ka.probes !== undefined && ka.probes !== 9)
      e.add(`${path}.connectionPool.tcp.tcpKeepalive.probes`, "only the kernel default (9) is supported");
    if (ka.interval !== undefined && durationSeconds(ka.interval) !== 75)
      e.add(`${path}.connectionPool.tcp.tcpKeepalive.interval`, "only the kernel default (75s) is supported");
  }
  for (const [at, message] of clientTlsProblems(p.tls, `${path}.tls`)) e.add(at, message);
  (p.portLevelSettings ?? []).forEach((pl, i) => {
    if (!pl.port?.number) e.add(`${path}.portLevelSettings[${i}].port.number`, "is required");
    validatePolicy(e, pl, `${path}.portLevelSettings[${i}]`);
  });
}

export function validateDestinationRule(dr: Named<DestinationRule>): string[] {
  const e = new Errors();
  if (!dr.spec.host) e.add("spec.host", "is required");
  validatePolicy(e, dr.spec.trafficPolicy, "spec.trafficPolicy");
  const seen = new Set<string>();
  (dr.spec.subsets ?? []).forEach((s, i) => {
    if (!s.name) e.add(`spec.subsets[${i}].name`, "is required");
    else if (seen.has(s.name)) e.add(`spec.subsets[${i}].name`, `"${s.name}" is defined twice`);
    seen.add(s.name);
    validatePolicy(e, s.trafficPolicy, `spec.subsets[${i}].trafficPolicy`);
  });
  e.list.push(...selectorProblems(dr));
  e.list.push(...fieldValues(dr.spec, "DestinationRule"));
  return e.list;
}

const NETWORKING = "networking.istio.io";
const SECURITY = "security.istio.io";
const TELEMETRY = "telemetry.istio.io";
/** Istio's extension kinds (WasmPlugin): nothing Weft's proxy can run, so refused rather than stored and ignored. */
const EXTENSIONS = "extensions.istio.io";

function groupOf(obj: KubeObject): string {
  const api = obj.apiVersion ?? "";
  if (!api) return obj.kind && obj.kind in SPEC_SHAPES ? NETWORKING : ""; // local files may leave it out
  return api.includes("/") ? api.slice(0, api.indexOf("/")) : "";
}

/** Whether validateObject has anything to say about this object: the Istio API groups. */
export function isIstioObject(obj: KubeObject): boolean {
  const g = groupOf(obj);
  return g === NETWORKING || g === SECURITY || g === TELEMETRY || g === EXTENSIONS;
}

function semantic(kind: string, named: Named<never>, ctx: ValidationContext): string[] {
  if (kind === "VirtualService") return validateVirtualService(named, ctx);
  if (kind === "DestinationRule") return validateDestinationRule(named);
  if (kind === "Gateway") return validateGateway(named.spec);
  if (kind === "ServiceEntry") return validateServiceEntry(named.spec);
  if (kind === "WorkloadEntry") return validateWorkloadEntry(named.spec);
  if (kind === "Sidecar") return validateSidecar(named.spec);
  if (kind === "AuthorizationPolicy") return validateAuthorizationPolicy(named.spec);
  if (kind === "PeerAuthentication") return validatePeerAuthentication(named.spec);
  if (kind === "RequestAuthentication") return validateRequestAuthentication(named.spec);
  if (kind === "Telemetry") return validateTelemetry(named.spec);
  return [];
}

/**
 * Validates an Istio object the way istiod's webhook does, the same for the webhook and the config folder: its
 * kind, strict fields (unknown ones are errors, with a "did you mean"), then what the values mean. Objects outside
 * the Istio API groups pass.
 */
export function validateObject(obj: KubeObject, ctx: ValidationContext = {}): string[] {
  const group = groupOf(obj);
  const kind = obj.kind ?? "";
  if (group === SECURITY && !SECURITY_SHAPES[kind])
    return [`kind: ${kind} (${SECURITY}) is not supported by Weft yet; it would have no effect`];
  if (group === EXTENSIONS) return [`kind: ${kind} (${EXTENSIONS}) is not supported by Weft; it would have no effect`];
  if (group === TELEMETRY && kind !== "Telemetry")
    return [`kind: ${kind} (${TELEMETRY}) is not supported by Weft; supported: Telemetry`];
  if (group !== NETWORKING && group !== SECURITY && group !== TELEMETRY) return [];
  const shape = group === SECURITY ? SECURITY_SHAPES[kind] : group === TELEMETRY ? TELEMETRY_SHAPE : SPEC_SHAPES[kind];
  if (!shape)
    return [
      `kind: ${kind || "(none)"} (${NETWORKING}) is not supported by Weft; supported: ${Object.keys(SPEC_SHAPES).join(", ")}`,
    ];
  const out: string[] = [];
  for (const k of Object.keys(obj)) {
    if (!OBJECT_FIELDS.has(k)) out.push(`${k}: unknown field${suggestion(k, OBJECT_FIELDS)}`);
  }
  if (!obj.metadata?.name) out.push("metadata.name: is required");
  if (kind === "AuthorizationPolicy" && obj.metadata?.annotations?.["istio.io/dry-run"] !== undefined)
    out.push(
      'metadata.annotations["istio.io/dry-run"]: dry-run policies are not supported by Weft yet; the policy would be enforced, so it is refused',
    );
  const fields = checkShape(obj.spec ?? {}, shape, "spec");
  const named = {
    name: obj.metadata?.name ?? "",
    namespace: obj.metadata?.namespace ?? "default",
    spec: (obj.spec ?? {}) as never,
  };
  let meaning: string[] = [];
  try {
    meaning = semantic(kind, named, ctx);
    if (kind === "VirtualService" || kind === "DestinationRule" || kind === "ServiceEntry")
      meaning.push(...validateExportTo((named.spec as { exportTo?: unknown }).exportTo, "spec.exportTo"));
  } catch (err) {
    // A value of the wrong type (the field check says which) that the checks of meaning can't read; fail closed.
    if (!fields.length) meaning = [`spec: cannot be validated: ${(err as Error).message}`];
  }
  return [...out, ...meaning, ...fields.filter((f) => !meaning.includes(f))];
}

/**
 * What an Istio object would be accepted with but not do as written (validateObject's errors aside): the webhook's
 * `warnings`. Never throws.
 */
export function validationWarnings(obj: KubeObject): string[] {
  const group = groupOf(obj);
  if (!obj.spec || typeof obj.spec !== "object") return [];
  if (group === SECURITY && obj.kind === "AuthorizationPolicy") return mappedRangeWarnings(obj.kind, obj.spec);
  if (group !== NETWORKING || obj.kind !== "VirtualService") return [];
  return [...gatewaySubnetWarnings(obj.spec as VirtualService), ...mappedRangeWarnings(obj.kind, obj.spec)];
}

function suggestion(name: string, known: Iterable<string>): string {
  const hint = suggest(name, known);
  return hint ? ` (did you mean "${hint}"?)` : "";
}
