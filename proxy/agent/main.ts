// `weft proxy --agent --bootstrap FILE [--binary-path P] [--engines-dir D]`: the agent owns the sockets and admin
// ports and runs the engine as a child; POST /hot_restart[?binary_path=P] on the admin port (or SIGUSR2)
// hot-restarts it, from P only when P is inside the engines directory (engines.ts).
import { loadBootstrap } from "../engine/bootstrap.js";
import type { ProxyFlags } from "../engine/main.js";
import { Agent } from "./agent.js";

export async function runAgent(
  flags: ProxyFlags & { binaryPath?: string; enginesDir?: string; concurrency?: number },
): Promise<number> {
  const boot = await loadBootstrap(flags.bootstrap);
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const adminAddress = boot.adminAddress ?? "127.0.0.1";
  const agent = new Agent({
    resources: boot.resources,
    adminAddress,
    bindAddress: flags.bindAddress ?? adminAddress,
    binaryPath: flags.binaryPath,
    enginesDir: flags.enginesDir,
    concurrency: flags.concurrency,
    adminPort: flags.adminPort ?? boot.adminPort,
    statsPort: flags.statsPort,
    readyPort: flags.readyPort,
    accessLog: flags.accessLog,
    drainMs: (flags.drainSeconds ?? 5) * 1000,
    onQuit: () => stop(),
  });
  await agent.start();
  process.stderr.write(`weft proxy (agent): engine running; admin ${adminAddress}:${agent.ports.admin}\n`);
  process.once("SIGTERM", () => stop());
  process.once("SIGINT", () => stop());
  process.on("SIGUSR2", () => {
    agent.hotRestart().then(
      (r) => process.stderr.write(`weft proxy (agent): hot restart → epoch ${r.epoch}\n`),
      (err: unknown) => process.stderr.write(`weft proxy (agent): hot restart failed: ${String(err)}\n`),
    );
  });
  await stopped;
  await agent.stop();
  return 0;
}
