// `weft discovery`: flags, then serve until SIGTERM/SIGINT, then shut down gracefully.
import type { Values } from "../cli/commands.js";
import { startDiscovery } from "./server.js";
import type { Discovery } from "./server.js";

function port(value: unknown, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${flag}: not a port: ${String(value)}`);
  return n;
}

/** Without --config-dir: the Kubernetes source (--kubeconfig, $KUBECONFIG, or in-cluster config). */
async function startKube(values: Values, ports: { xdsPort: number; monitoringPort: number; webhookPort: number; address: string }): Promise<Discovery> {
  const str = (k: string) => (typeof values[k] === "string" && values[k] ? (values[k] as string) : undefined);
  const { loadKubeConfig } = await import("../runtime/kube.js");
  const { startKubeDiscovery } = await import("./kube-mode.js");
  const { default: pino } = await import("pino");
  return startKubeDiscovery({
    ...ports,
    kc: loadKubeConfig(str("kubeconfig")),
    log: pino({ name: "weft-discovery" }),
    namespace: str("namespace") ?? process.env.POD_NAMESPACE ?? "weft-system",
    mesh: str("mesh") ?? "default",
    watchNamespace: str("watch-namespace"),
  });
}

export async function runDiscovery(values: Values): Promise<number> {
  const configDir = typeof values["config-dir"] === "string" ? values["config-dir"] : "";
  let xdsPort: number;
  let monitoringPort: number;
  let webhookPort = -1;
  try {
    xdsPort = port(values["xds-port"], 15010, "xds-port");
    monitoringPort = port(values["monitoring-port"], 15014, "monitoring-port");
    if (!configDir) webhookPort = values["webhook-port"] === "-1" ? -1 : port(values["webhook-port"], 15017, "webhook-port");
  } catch (err) {
    process.stderr.write(`weft discovery: ${(err as Error).message}\n`);
    return 2;
  }
  const address = typeof values["address"] === "string" ? values["address"] : "0.0.0.0";
  const discovery = configDir
    ? await startDiscovery({ configDir, xdsPort, monitoringPort, address })
    : await startKube(values, { xdsPort, monitoringPort, webhookPort, address });
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
