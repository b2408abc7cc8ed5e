// The last steps of Envoy's filter chain match, among the chains transport and ALPN kept, in FilterChainManagerImpl's
// order: direct source IP (direct_source_prefix_ranges), source type (source_type), source IP
// (source_prefix_ranges), source port (source_ports). Each keeps the chains that match the connection most
// specifically and never goes back, as the steps before. The engine reads no PROXY protocol, so a connection's direct
// source is its source. A listener whose chains list none of these has none of these steps (and costs nothing).
import { parseIp } from "../../xds/ip.js";
import { addressChains, chainsForKey } from "./address-chains.js";
import type { ChainMatch } from "./chain-match.js";
import { node } from "./chain-node.js";
import type { Reader } from "./read.js";
import type { Listener, PortChains, SourceTypeChains } from "./types.js";

/** source_type's values other than ANY (unset), as Envoy names them. */
export const SOURCE_TYPES = ["SAME_IP_OR_LOOPBACK", "EXTERNAL"] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** Whether a chain's match goes on past ALPN: it names a direct source, a source type, a source range or port. */
export const matchesSource = (m: ChainMatch): boolean =>
  !!(m.directSources || m.sourceType || m.sources || m.sourcePorts);

/** The steps after ALPN for one transport side's chains; `one` compiles a single chain. */
export function sourceSteps<M extends ChainMatch & { i: number }>(
  r: Reader,
  chains: M[],
  one: (m: M) => Listener,
): Listener {
  const same = (m: M) => r.fail(`filter_chains[${m.i}].filter_chain_match`, "is the same as another chain's");
  const byPort = (ms: M[]): Listener => {
    if (ms.length === 1 && !ms[0]!.sourcePorts) return one(ms[0]!);
    if (!ms.some((m) => m.sourcePorts)) return same(ms[1]!);
    const ports = new Map<number, Listener>();
    let any: Listener | undefined;
    for (const m of ms) {
      const chain = one(m);
      if (!m.sourcePorts) any = any ? same(m) : chain;
      for (const p of m.sourcePorts ?? []) {
        if (ports.has(p))
          r.fail(`filter_chains[${m.i}].filter_chain_match.source_ports`, `${p} is matched by another chain`);
        ports.set(p, chain);
      }
    }
    return node(any ?? ports.values().next().value!, { bySourcePort: { ports, any } });
  };
  // As before source ports were read: where no chain lists any, one source range must pick one chain.
  const bySourceIp = (ms: M[]): Listener => {
    if (!ms.some((m) => m.sources)) return byPort(ms);
    const unique = !ms.some((m) => m.sourcePorts);
    const bySource = addressChains(r, ms, (m) => m.sources, "source_prefix_ranges", byPort, unique);
    return node(bySource.fallback ?? bySource.groups[0]!.listener, { bySource });
  };
  const byType = (ms: M[]): Listener => {
    if (!ms.some((m) => m.sourceType)) return bySourceIp(ms);
    const of = (t: SourceType | undefined) => {
      const kind = ms.filter((m) => m.sourceType === t);
      return kind.length ? bySourceIp(kind) : undefined;
    };
    const bySourceType = { local: of("SAME_IP_OR_LOOPBACK"), external: of("EXTERNAL"), any: of(undefined) };
    return node((bySourceType.any ?? bySourceType.local ?? bySourceType.external)!, { bySourceType });
  };
  if (!chains.some((m) => m.directSources)) return byType(chains);
  const byDirectSource = addressChains(r, chains, (m) => m.directSources, "direct_source_prefix_ranges", byType, false);
  return node(byDirectSource.fallback ?? byDirectSource.groups[0]!.listener, { byDirectSource });
}

const src = new Uint8Array(16);
const dst = new Uint8Array(16);

/**
 * Envoy's Utility::isSameIpOrLoopback: the client is 127.0.0.1 or ::1 (that address alone, as Envoy's
 * isLoopbackAddress: 127.0.0.2 is not), or has the connection's own IP (its destination). IPv4-mapped addresses count
 * as the IPv4 ones they are.
 */
export function isLocalClient(source: string | undefined, destination: string | undefined): boolean {
  const family = source === undefined ? 0 : parseIp(source, src);
  if (family === 0) return false;
  const loopback = family === 4 ? src[0] === 127 && src[1] === 0 && src[2] === 0 && src[3] === 1 : isV6Loopback(src);
  if (loopback) return true;
  if (destination === undefined || parseIp(destination, dst) !== family) return false;
  for (let i = 0; i < family; i++) if (src[i] !== dst[i]) return false;
  return true;
}

function isV6Loopback(b: Uint8Array): boolean {
  for (let i = 0; i < 15; i++) if (b[i] !== 0) return false;
  return b[15] === 1;
}

/** The chains for a client's kind ("SAME_IP_OR_LOOPBACK", "EXTERNAL", or "": ANY's, where its kind has none). */
export function chainsForSourceType(
  chains: SourceTypeChains,
  local: boolean,
): { key: string; listener: Listener | undefined } {
  const own = local ? chains.local : chains.external;
  if (own) return { key: local ? "SAME_IP_OR_LOOPBACK" : "EXTERNAL", listener: own };
  return { key: "", listener: chains.any };
}

/** The chain for a client's port, else the chain listing none ("" its key). */
export function chainsForPort(
  chains: PortChains,
  port: number | undefined,
): { key: string; listener: Listener | undefined } {
  const hit = port === undefined ? undefined : chains.ports.get(port);
  return hit ? { key: String(port), listener: hit } : { key: "", listener: chains.any };
}

/**
 * The chain the keys of the steps after ALPN name below `entry` (a key "": the step's chains that list none, or no
 * such step), as `pick` found it; undefined when the current config has no such chain.
 */
export function chainsBelow(
  entry: Listener | undefined,
  direct: string,
  type: string,
  source: string,
  port: string,
): Listener | undefined {
  let l = entry;
  l = l?.byDirectSource ? chainsForKey(l.byDirectSource, direct) : direct === "" ? l : undefined;
  const t = l?.bySourceType;
  l = t ? (type === "" ? t.any : type === "EXTERNAL" ? t.external : t.local) : type === "" ? l : undefined;
  l = l?.bySource ? chainsForKey(l.bySource, source) : source === "" ? l : undefined;
  const p = l?.bySourcePort;
  return p ? (port === "" ? p.any : p.ports.get(Number(port))) : port === "" ? l : undefined;
}
