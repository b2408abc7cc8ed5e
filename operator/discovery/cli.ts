// `weft discovery`: flags, then serve until SIGTERM/SIGINT, then shut down gracefully.
import type { Values } from "../api/contract.js";
import type { discoveryRole } from "../api/roles.js";
import { startDiscovery } from "./server.js";
import type { Discovery } from "./server.js";

type Flags = Values<typeof discoveryRole>;

/** Without --config-dir: the Kubernetes source (--kubeconfig, $KUBECONFIG, or in-cluster config). */
async function startKube(v: Flags): Promise<Discovery> {
  const { loadKubeConfig } = await import("../runtime/kube.js");
  const { startKubeDiscovery } = await import("./kube-mode.js");
  const { default: pino } = await import("pino");
  return startKubeDiscovery({
    xdsPort: v["xds-port"],
    monitoringPort: v["monitoring-port"],
    webhookPort: v["webhook-port"],
    address: v.address,
    kc: loadKubeConfig(v.kubeconfig),
    log: pino({ name: "weft-discovery" }),
    namespace: v.namespace,
    mesh: v.mesh,
    watchNamespace: v["watch-namespace"] || undefined,
    ...(v["pod-name"] ? { replica: v["pod-name"] } : {}),
  });
}

async function startLocal(configDir: string, v: Flags): Promise<Discovery> {
  const file = v["mesh-config"];
  const { default: pino } = await import("pino");
  const log = pino({ name: "weft-discovery" });
  const { fileMeshSource } = await import("./sources/mesh.js");
  return startDiscovery({
    configDir,
    xdsPort: v["xds-port"],
    monitoringPort: v["monitoring-port"],
    address: v.address,
    log,
    ...(file ? { mesh: (onMesh) => fileMeshSource(file, log, onMesh) } : {}),
  });
}

export async function runDiscovery(v: Flags): Promise<number> {
  const configDir = v["config-dir"];
  const discovery = configDir ? await startLocal(configDir, v) : await startKube(v);
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
