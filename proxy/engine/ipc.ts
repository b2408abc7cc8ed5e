// Messages between the agent and an engine child process (Node IPC; listening sockets and connections travel as
// handles alongside them).
import type { Resources } from "./config/types.js";

export type ToEngine =
  | { type: "listener"; name: string } // handle: the agent's bound TCP handle, which the engine listens on
  // slots: each cluster's circuit-breaker slot in the shared counts, when the workers share limits (shared-counts.ts)
  | { type: "config"; resources: Resources; slots?: Record<string, number> }
  | { type: "drain" } // drain, then exit
  | { type: "drain_listeners" } // close connections after their responses, keep running
  | { type: "stats"; id: number }
  | { type: "dump"; id: number };

export type FromEngine =
  | { type: "started"; version: string }
  | { type: "applied"; version: string }
  | { type: "nack"; error: string }
  | { type: "stats"; id: number; text: string }
  | { type: "dump"; id: number; dump: unknown }
  | { type: "final"; text: string }; // after a drain, just before exiting: the engine's Prometheus totals
