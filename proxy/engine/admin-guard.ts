// Who may talk to the admin port. It binds loopback only, and it refuses what a browser sends: a page on this host
// can POST to 127.0.0.1 (CSRF), and a name that resolves to 127.0.0.1 can reach it with its own Host (DNS
// rebinding). Browsers always send Origin on a cross-origin POST and their page's name in Host; curl and agents
// send neither, so a request with an Origin, or with a Host that is not a loopback address, is not from an operator.
import { BlockList, isIP } from "node:net";

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** 127.0.0.0/8, ::1, or the IPv4-mapped form of a 127 address. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(a);
  return family !== 0 && LOOPBACK.check(a, family === 4 ? "ipv4" : "ipv6");
}

/** A Host header naming loopback: `127.x.y.z`, `[::1]` or `localhost`, with an optional port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(host);
  if (!m) return false;
  const name = (m[1] ?? m[2] ?? "").toLowerCase();
  return name === "localhost" || isLoopbackAddress(name);
}

/** Why the admin port refuses this request, or undefined when it may proceed. */
export function adminRefusal(headers: { host?: string; origin?: string | string[] }): string | undefined {
  if (headers.origin !== undefined) return "requests carrying Origin are refused (the admin port is not for browsers)";
  if (!isLoopbackHost(headers.host)) return `Host ${JSON.stringify(headers.host ?? "")} is not a loopback address`;
  return undefined;
}

/** An error whose HTTP status the admin server answers with (default: 500). */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "AdminError";
  }
}
