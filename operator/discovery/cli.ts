// `weft discovery`: flags, then serve until SIGTERM/SIGINT, then shut down gracefully.
import type { Values } from "../api/contract.js";
import type { discoveryRole } from "../api/roles.js";
import { startDiscovery } from "./server.js";
import type { Discovery, SecureOptions } from "./server.js";
import { isIP } from "node:net";

/** Local mode's serving names: localhost, and the bound address when it is one. */
function servingNames(address: string): SecureOptions["names"] {
  const ips = isIP(address) && address !== "0.0.0.0" && address !== "::" ? [address] : ["127.0.0.1"];
  return { dnsNames: ["localhost"], ips };
}

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
    securePort: v["secure-port"],
    workloadCertTtlMs: v["workload-cert-ttl"],
    secretReviewTtlMs: v["secret-review-ttl"],
  });
}

async function startLocal(configDir: string, v: Flags): Promise<Discovery> {
  const file = v["mesh-config"];
  const { default: pino } = await import("pino");
  const log = pino({ name: "weft-discovery" });
  const { fileMeshSource } = await import("./sources/mesh.js");
  const caDir = v["ca-dir"];
  let secure: SecureOptions | undefined;
  if (caDir && v["secure-port"] >= 0) {
    const { localCa } = await import("./ca/local.js");
    const { LocalAuthenticator } = await import("./ca/authn.js");
    const { ca, tokenKey } = await localCa(caDir);
    secure = {
      port: v["secure-port"],
      ca,
      authn: new LocalAuthenticator(tokenKey),
      ttlMs: v["workload-cert-ttl"],
      names: servingNames(v.address),
    };
  }
  return startDiscovery({
    configDir,
    xdsPort: v["xds-port"],
    monitoringPort: v["monitoring-port"],
    address: v.address,
    log,
    ...(secure ? { secure } : {}),
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
