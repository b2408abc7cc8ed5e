// A node of a listener's filter chain tree (config/chain-match.ts): one match step's chains, serving none itself.
import type { Listener } from "./types.js";

export type Steps = Pick<
  Listener,
  "byTransport" | "bySni" | "byDestination" | "byDirectSource" | "bySourceType" | "bySource" | "bySourcePort"
>;
/** Every match step a compiled chain node may carry: a new node takes one and none of its first chain's. */
const NO_STEPS: Steps = {
  byTransport: undefined,
  bySni: undefined,
  byDestination: undefined,
  byDirectSource: undefined,
  bySourceType: undefined,
  bySource: undefined,
  bySourcePort: undefined,
};

/**
 * A step's node: named after its first chain (name, address, direction, limits), serving nothing itself: only the
 * chain a connection's addresses pick, through the step (an address step's node has no filters of its own to serve).
 */
export function node(first: Listener, step: Partial<Steps>): Listener {
  const keep = step.byTransport || step.bySni; // as before these steps: the node still names the first chain's filters
  return {
    ...first,
    ...NO_STEPS,
    ...(keep ? {} : { hcm: undefined, tcp: undefined, tls: undefined }),
    ...step,
  };
}
