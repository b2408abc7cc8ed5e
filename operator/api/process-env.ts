// The environment each long-running `weft` process runs with, wherever it runs (the manifests, the injector's patch,
// local mode, the benches), and the node flags the image's launcher takes from it. Pure data.

/**
 * The environment discovery's process runs with, wherever it runs (its Deployment, local mode, the benches).
 * glibc raises its mmap threshold each time a large block is freed, so after the first pushes the per-stream copies
 * of responses (grpc-js frames each one anew: 0.3–0.7 MiB for 600 clusters) come from the heap arenas, which keep
 * their pages: discovery's RSS stayed 80–100 MiB higher after 200 proxies synced. A fixed threshold keeps blocks
 * over 128 KiB in mappings of their own, returned when freed.
 */
export const DISCOVERY_PROCESS_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: "131072" };

/**
 * The environment a proxy's agent runs with, wherever it runs (the injected container, local mode, the benches), unless
 * the pod's template or proxyMetadata sets the same variable. The agent only decodes config pushes and answers the
 * admin port, yet V8 sizes it for a server: 16 MiB semi-spaces, and four helper threads. In local mode (Bookinfo's
 * seven proxies, idle after their first pushes) each agent measured 57 MiB private with V8's defaults, 32–42 MiB with
 * 1 MiB semi-spaces, 27–32 MiB with one helper thread as well. The engine it forks gets its own flags
 * (proxy/engine/reclaim.ts), never these.
 */
export const PROXY_PROCESS_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS: "--max-semi-space-size=1 --v8-pool-size=1",
  // V8's lite mode (no optimizing compiler): the agent's private memory 27.4 -> 24.0 MB idle and 23.0 -> 20.2 MB after
  // c=128 (bench:memory), for twice the time to decode and compile a push (500 services: 11 -> 22 ms) and 80 ms more
  // at start. NODE_OPTIONS can't carry it, so the image's launcher reads it from here (NODE_FLAGS_VAR); wasm goes
  // with it, said so that V8 doesn't warn.
  WEFT_NODE_FLAGS: "--lite-mode --no-expose-wasm",
};

/** The variable the image's launcher (hack/image/weft.c) reads: node flags NODE_OPTIONS can't carry (V8's own). */
export const NODE_FLAGS_VAR = "WEFT_NODE_FLAGS";

/** The node flags `env` asks the launcher for; local mode and the benches put them before the CLI as it does. */
export function launcherNodeFlags(env: Readonly<Record<string, string | undefined>>): string[] {
  return (env[NODE_FLAGS_VAR] ?? "").split(" ").filter(Boolean);
}
