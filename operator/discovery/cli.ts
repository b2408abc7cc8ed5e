// `weft discovery`: flags, then serve until SIGTERM/SIGINT, then shut down gracefully.
import type { Values } from "../cli/commands.js";
import { startDiscovery } from "./server.js";

function port(value: unknown, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${flag}: not a port: ${String(value)}`);
  return n;
}

export async function runDiscovery(values: Values): Promise<number> {
  const configDir = values["config-dir"];
  if (typeof configDir !== "string" || !configDir) {
    process.stderr.write("weft discovery: --config-dir DIR is required (the Kubernetes source comes later)\n");
    return 2;
  }
  let xdsPort: number;
  let monitoringPort: number;
  try {
    xdsPort = port(values["xds-port"], 15010, "xds-port");
    monitoringPort = port(values["monitoring-port"], 15014, "monitoring-port");
  } catch (err) {
    process.stderr.write(`weft discovery: ${(err as Error).message}\n`);
    return 2;
  }
  const address = typeof values["address"] === "string" ? values["address"] : "0.0.0.0";
  const discovery = await startDiscovery({ configDir, xdsPort, monitoringPort, address });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      resolve();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  const started = Date.now();
  await discovery.close();
  process.stderr.write(`weft discovery: shut down in ${Date.now() - started} ms\n`);
  return 0;
}
