// Compiles a route's (or a virtual host's) RetryPolicy: the conditions, the backoff, and which hosts a retry avoids.
import type { RetryPolicy } from "./types.js";
import { anyType, isObj, join, onlyKnown, type Obj, type Reader } from "./read.js";
import { retryOnProblem } from "../../xds/retry-on.js";

/**
 * The fields this proxy implements. `host_selection_retry_max_attempts` is taken: a retry never picks a host it tried
 * while an untried one is usable, which is what those attempts are for.
 */
const KNOWN = [
  "retry_on",
  "retry_back_off",
  "retriable_status_codes",
  "retry_host_predicate",
  "num_retries",
  "per_try_timeout",
  "host_selection_retry_max_attempts",
  "retry_priority",
];

/** Envoy's one retry priority extension (Istio's retryRemoteLocalities), by name and by its config's type. */
const PREVIOUS_PRIORITIES = "envoy.retry_priorities.previous_priorities";
const PREVIOUS_PRIORITIES_CONFIG = "envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig";
const INT32_MAX = 2 ** 31 - 1;

export function retryPolicy(r: Reader, o: Obj, path: string): RetryPolicy {
  onlyKnown(r, o, path, KNOWN, "RetryPolicy");
  const on = new Set<string>();
  const ro = r.str(o, "retry_on", path) ?? "";
  for (const part of ro.split(",")) {
    const p = part.trim();
    if (!p) continue;
    const problem = retryOnProblem(p);
    if (problem) r.fail(join(path, "retry_on"), problem);
    on.add(p);
  }
  const backoff = r.optObj(o, "retry_back_off", path);
  const base = backoff ? (r.duration(backoff, "base_interval", join(path, "retry_back_off")) ?? 25) : 25;
  const max = backoff ? (r.duration(backoff, "max_interval", join(path, "retry_back_off")) ?? base * 10) : base * 10;
  const codes = r.list(o, "retriable_status_codes", path).map((c, i) => {
    if (typeof c !== "number") r.fail(join(join(path, "retriable_status_codes"), i), "expected a status code");
    return c;
  });
  const preds = r.list(o, "retry_host_predicate", path).map((p, i) => {
    const po = r.obj(p, join(join(path, "retry_host_predicate"), i));
    const name = `${typeof po.name === "string" ? po.name : ""} ${(isObj(po.typed_config) && anyType(po.typed_config)) || ""}`;
    if (!/previous_hosts|PreviousHostsPredicate/.test(name))
      r.fail(
        join(join(path, "retry_host_predicate"), i),
        `${name.trim() || "(unnamed)"}: only previous_hosts is supported`,
      );
    return name;
  });

  return {
    on,
    numRetries: r.num(o, "num_retries", path) ?? 1,
    perTryTimeoutMs: r.duration(o, "per_try_timeout", path) ?? 0,
    baseIntervalMs: base,
    maxIntervalMs: max,
    retriableStatusCodes: new Set(codes),
    previousHosts: preds.some((n) => n.includes("previous_hosts")),
    previousPriorities: retryPriority(r, o, path),
  };
}

/**
 * retry_priority: previous_priorities only, and its update_frequency, which Envoy requires above 0 (an extension
 * named without a typed_config has the default config, 0, refused as Envoy refuses it). 0 when there is none.
 */
function retryPriority(r: Reader, o: Obj, path: string): number {
  const rp = r.optObj(o, "retry_priority", path);
  if (!rp) return 0;
  const p = join(path, "retry_priority");
  onlyKnown(r, rp, p, ["name", "typed_config"], "RetryPolicy.RetryPriority");
  const name = r.str(rp, "name", p) ?? "";
  const typed = r.optObj(rp, "typed_config", p);
  const tp = join(p, "typed_config");
  // Envoy finds the extension by its config's type, else by its name: either must be previous_priorities.
  if (typed && anyType(typed) !== PREVIOUS_PRIORITIES_CONFIG)
    r.fail(tp, `${anyType(typed) ?? "(no @type)"}: only ${PREVIOUS_PRIORITIES} is supported`);
  if (name !== PREVIOUS_PRIORITIES && (name || !typed))
    r.fail(join(p, "name"), `${name || "(unnamed)"}: only ${PREVIOUS_PRIORITIES} is supported`);
  const config = typed ?? {};
  onlyKnown(r, config, tp, ["update_frequency"], "PreviousPrioritiesConfig");
  const every = r.num(config, "update_frequency", tp) ?? 0;
  if (!Number.isInteger(every) || every < 1 || every > INT32_MAX)
    r.fail(join(tp, "update_frequency"), `must be an integer from 1 to ${INT32_MAX}`);
  return every;
}
