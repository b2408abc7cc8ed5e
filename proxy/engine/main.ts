// `weft proxy --bootstrap FILE`: runs the engine from static resources until SIGTERM, then drains and exits.
import { Engine } from "./engine.js";
import { loadBootstrap } from "./bootstrap.js";

export interface ProxyFlags {
  bootstrap: string;
  adminPort?: number;
  statsPort?: number;
  readyPort?: number;
  accessLog?: boolean;
  drainSeconds?: number;
  /** Where Prometheus and readiness bind; default where the bootstrap's admin binds (127.0.0.1 without one). */
  bindAddress?: string;
}

export async function runProxy(flags: ProxyFlags): Promise<number> {
  const boot = await loadBootstrap(flags.bootstrap);
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const adminAddress = boot.adminAddress ?? "127.0.0.1";
  const engine = new Engine({
    adminPort: flags.adminPort ?? boot.adminPort,
    adminAddress,
    bindAddress: flags.bindAddress ?? adminAddress,
    statsPort: flags.statsPort,
    readyPort: flags.readyPort,
    accessLog: flags.accessLog ?? false,
    drainTimeoutMs: (flags.drainSeconds ?? 5) * 1000,
    onQuit: () => stop(),
  });
  await engine.start();
  try {
    await engine.apply(boot.resources);
  } catch (err) {
    await engine.stop();
    process.stderr.write(`weft proxy: ${(err as Error).message}\n`);
    return 1;
  }
  const names = engine.config?.listeners.map((l) => `${l.name}=${l.address}:${engine.listenerPort(l.name)}`).join(" ");
  process.stderr.write(`weft proxy: listening ${names}; admin ${adminAddress}:${engine.ports.admin}\n`);
  process.once("SIGTERM", () => stop());
  process.once("SIGINT", () => stop());
  await stopped;
  await engine.stop();
  return 0;
}
