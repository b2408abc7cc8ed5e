// Envoy's "remote" address of a request when use_remote_address is false (a sidecar's default): the last address
// in x-forwarded-for, else the connection's peer.
import type { RequestView } from "../config/types.js";

/** The last x-forwarded-for entry, or undefined when there is none. */
export function forwardedClientIp(view: RequestView): string | undefined {
  const xff = view.header("x-forwarded-for");
  if (!xff) return undefined;
  const last = xff.slice(xff.lastIndexOf(",") + 1).trim();
  return last || undefined;
}
