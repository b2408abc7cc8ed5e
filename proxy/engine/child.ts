// The engine as a child process of the agent: it takes its listening sockets and config over IPC, carries the
// traffic, answers stats and config-dump requests, and drains and exits when told to.
import { Engine } from "./engine.js";
import { ConfigError } from "./config/index.js";
import type { FromEngine, ToEngine } from "./ipc.js";
import { SharedCounts } from "./shared-counts.js";

const send = (m: FromEngine) => process.send?.(m);
const version = process.env.WEFT_ENGINE_VERSION ?? "dev";
const engine = new Engine({
  adminPort: false,
  statsPort: false,
  readyPort: false,
  accessLog: process.env.WEFT_ACCESS_LOG === "1",
  nodeId: process.env.WEFT_NODE_ID,
  drainTimeoutMs: Number(process.env.WEFT_DRAIN_MS ?? 5000),
  shared: SharedCounts.fromEnv(process.env),
});

process.on("message", (msg: ToEngine, handle: unknown) => {
  switch (msg.type) {
    case "listener":
      engine.adoptHandle(msg.name, handle);
      break;
    case "config":
      engine.apply(msg.resources, msg.slots).then(
        () => send({ type: "applied", version: engine.config?.version ?? "" }),
        (err: unknown) => send({ type: "nack", error: err instanceof ConfigError ? err.message : String(err) }),
      );
      break;
    case "drain":
      // Once drained, its totals go to the agent, which carries them into the next engine's /stats/prometheus.
      engine
        .stop()
        .then(() => engine.prometheus())
        .then(
          (text) => process.send?.({ type: "final", text } satisfies FromEngine, () => process.exit(0)),
          () => process.exit(0),
        );
      break;
    case "drain_listeners":
      engine.drainListeners();
      break;
    case "stats":
      engine.prometheus().then((text) => send({ type: "stats", id: msg.id, text }));
      break;
    case "dump":
      send({ type: "dump", id: msg.id, dump: { ...(engine.configDump() as object), stats: engine.statsText() } });
      break;
  }
});
process.on("disconnect", () => process.exit(0)); // the agent is gone: so are we
send({ type: "started", version });
