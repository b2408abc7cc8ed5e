// The parts of an Envoy route that come from one VirtualService http route: retries, fault, CORS, header
// edits, redirect, rewrite and mirroring.
import type {
  CorsPolicy as EnvoyCors,
  FractionalPercent,
  HTTPFault,
  HeaderValueOption,
  RedirectAction,
  RetryPolicy,
  Route,
  RouteAction,
} from "../../../proxy/xds/resources.js";
import { TYPE } from "../../../proxy/xds/types.js";
import type {
  CorsPolicy,
  HTTPFaultInjection,
  HTTPRedirect,
  HTTPRetry,
  HTTPRewrite,
  Headers,
  Percent,
} from "../model/istio.js";
import { stringMatch } from "./match.js";
import { durationSeconds, protoDuration } from "../model/duration.js";

export const DEFAULT_RETRY_ON = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
export const FAULT_FILTER = "envoy.filters.http.fault";
export const CORS_FILTER = "envoy.filters.http.cors";
export const ROUTER_FILTER = "envoy.filters.http.router";

/**
 * `retryRemoteLocalities: true`, as istiod renders it: Envoy's previous_priorities, which leaves the priorities (the
 * failover localities) of earlier attempts out of later ones, updating every 2 attempts.
 */
const retryRemoteLocalities = (): NonNullable<RetryPolicy["retry_priority"]> => ({
  name: "envoy.retry_priorities.previous_priorities",
  typed_config: { "@type": TYPE.previousPriorities, update_frequency: 2 },
});

/**
 * Istio's retry policy. None given: 2 attempts on connect-failure, refused-stream, unavailable, cancelled and
 * 503, avoiding previously tried hosts (unless the destination hashes consistently). `attempts: 0` disables
 * retries. Numbers in `retryOn` are status codes.
 */
export function retryPolicy(retries: HTTPRetry | undefined, consistentHash: boolean): RetryPolicy | undefined {
  if (retries && (retries.attempts ?? 0) <= 0) return undefined;
  const out: RetryPolicy = {
    retry_on: DEFAULT_RETRY_ON,
    num_retries: 2,
    retriable_status_codes: [503],
    host_selection_retry_max_attempts: 5,
  };
  let previousHosts = !consistentHash;
  if (retries) {
    out.num_retries = retries.attempts ?? 2;
    if (retries.retryOn) {
      const parts = retries.retryOn
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean);
      const codes = parts.filter((p) => /^\d{3}$/.test(p)).map(Number);
      const on = parts.filter((p) => !/^\d{3}$/.test(p));
      if (codes.length && !on.includes("retriable-status-codes")) on.push("retriable-status-codes");
      out.retry_on = on.join(",");
      out.retriable_status_codes = codes.length ? codes : undefined;
    }
    if (retries.perTryTimeout) out.per_try_timeout = protoDuration(retries.perTryTimeout);
    if (retries.backoff) out.retry_back_off = { base_interval: protoDuration(retries.backoff) };
    if (retries.retryIgnorePreviousHosts !== undefined) previousHosts = retries.retryIgnorePreviousHosts;
    if (retries.retryRemoteLocalities) out.retry_priority = retryRemoteLocalities();
  }
  if (previousHosts) {
    out.retry_host_predicate = [
      { name: "envoy.retry_host_predicates.previous_hosts", typed_config: { "@type": TYPE.previousHosts } },
    ];
  }
  return out;
}

/** A percentage (0–100, fractional) as Envoy's FractionalPercent over a million. */
export function fraction(percent: number): FractionalPercent {
  return { numerator: Math.round(percent * 10000), denominator: "MILLION" };
}

function faultPercent(p: { percentage?: Percent; percent?: number }): FractionalPercent {
  // Istio: no percentage means no request is affected. Envoy would read a missing one as 100%.
  return fraction(p.percentage?.value ?? p.percent ?? 0);
}

const GRPC_CODES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

export function grpcStatusCode(name: string): number | undefined {
  const i = GRPC_CODES.indexOf(name.toUpperCase());
  return i < 0 ? (/^\d+$/.test(name) ? Number(name) : undefined) : i;
}

export function faultConfig(fault: HTTPFaultInjection): HTTPFault {
  const out: HTTPFault = { "@type": TYPE.fault };
  if (fault.delay)
    out.delay = { fixed_delay: protoDuration(fault.delay.fixedDelay) ?? "0s", percentage: faultPercent(fault.delay) };
  if (fault.abort) {
    const abort: NonNullable<HTTPFault["abort"]> = { percentage: faultPercent(fault.abort) };
    if (fault.abort.grpcStatus !== undefined) abort.grpc_status = grpcStatusCode(fault.abort.grpcStatus);
    else abort.http_status = fault.abort.httpStatus ?? 500;
    out.abort = abort;
  }
  return out;
}

/** maxAge "24h" → "86400": Envoy's CORS wants whole seconds as a string. */
function seconds(duration: string): string {
  const s = durationSeconds(duration);
  return s === undefined ? duration : String(Math.floor(s));
}

export function corsConfig(cors: CorsPolicy): EnvoyCors {
  const origins = [
    ...(cors.allowOrigins ?? []).map((o) => stringMatch(o)),
    ...(cors.allowOrigin ?? []).map((o) => (o === "*" ? { prefix: "" } : { exact: o })),
  ];
  return {
    "@type": TYPE.corsPolicy,
    allow_origin_string_match: origins.length ? origins : undefined,
    allow_methods: cors.allowMethods?.join(","),
    allow_headers: cors.allowHeaders?.join(","),
    expose_headers: cors.exposeHeaders?.join(","),
    max_age: cors.maxAge ? seconds(cors.maxAge) : undefined,
    allow_credentials: cors.allowCredentials,
    ...(cors.unmatchedPreflights === "IGNORE" ? { forward_not_matching_preflights: false } : {}),
  };
}

function headerValues(values: Record<string, string> | undefined, append: boolean): HeaderValueOption[] {
  return Object.entries(values ?? {}).map(([key, value]) => ({
    header: { key, value },
    append_action: append ? "APPEND_IF_EXISTS_OR_ADD" : "OVERWRITE_IF_EXISTS_OR_ADD",
  }));
}

/** Header edits for a route or a weighted cluster: `set` overwrites, `add` appends, `remove` drops. */
/** The header-edit fields a Route, a VirtualHost and a weighted cluster share. */
export type HeaderEdits = Pick<
  Route,
  "request_headers_to_add" | "request_headers_to_remove" | "response_headers_to_add" | "response_headers_to_remove"
>;

export function headerEdits(headers: Headers | undefined): HeaderEdits {
  const list = (xs: HeaderValueOption[]): HeaderValueOption[] | undefined => (xs.length ? xs : undefined);
  return {
    request_headers_to_add: list([
      ...headerValues(headers?.request?.set, false),
      ...headerValues(headers?.request?.add, true),
    ]),
    request_headers_to_remove: headers?.request?.remove?.length ? headers.request.remove : undefined,
    response_headers_to_add: list([
      ...headerValues(headers?.response?.set, false),
      ...headerValues(headers?.response?.add, true),
    ]),
    response_headers_to_remove: headers?.response?.remove?.length ? headers.response.remove : undefined,
  };
}

const REDIRECT_CODES: Record<number, RedirectAction["response_code"]> = {
  301: "MOVED_PERMANENTLY",
  302: "FOUND",
  303: "SEE_OTHER",
  307: "TEMPORARY_REDIRECT",
  308: "PERMANENT_REDIRECT",
};

export function redirectAction(r: HTTPRedirect): RedirectAction {
  return {
    path_redirect: r.uri,
    host_redirect: r.authority,
    port_redirect: r.port,
    scheme_redirect: r.scheme,
    response_code: REDIRECT_CODES[r.redirectCode ?? 301] ?? "MOVED_PERMANENTLY",
  };
}

/** Rewrite fields of a RouteAction. */
export function rewriteFields(
  r: HTTPRewrite | undefined,
): Pick<RouteAction, "prefix_rewrite" | "regex_rewrite" | "host_rewrite_literal"> {
  if (!r) return {};
  return {
    prefix_rewrite: r.uri,
    regex_rewrite: r.uriRegexRewrite
      ? { pattern: { regex: r.uriRegexRewrite.match ?? "" }, substitution: r.uriRegexRewrite.rewrite ?? "" }
      : undefined,
    host_rewrite_literal: r.authority,
  };
}
