// `weft operator`: installs and upgrades control planes from MeshInstallation objects.
import type { Values } from "../api/contract.js";
import type { operatorRole } from "../api/roles.js";
import { defaultIdentity, logger, terminated } from "./flags.js";

export async function runOperator(v: Values<typeof operatorRole>): Promise<number> {
  const log = logger("weft-operator", v["log-level"]);
  const { loadKubeConfig } = await import("../runtime/kube.js");
  const { Operator } = await import("../install/operator.js");
  const kc = loadKubeConfig(v.kubeconfig);
  const operator = new Operator(
    kc,
    {
      metricsAddr: v["metrics-addr"],
      healthAddr: v["health-addr"],
      resyncMs: v.resync,
      leader: v["leader-elect"]
        ? {
            namespace: v["leader-election-namespace"],
            identity: v.identity ?? defaultIdentity(),
            leaseDurationMs: v["lease-duration"],
            renewDeadlineMs: v["renew-deadline"],
            retryPeriodMs: v["retry-period"],
          }
        : undefined,
    },
    log,
  );
  let lost = false;
  const stop = terminated(log);
  await operator.start(() => {
    lost = true;
    log.error("lost leadership; exiting so that a restart starts clean");
    process.exit(1);
  });
  log.info({ server: kc.getCurrentCluster()?.server }, "operator started");
  await stop;
  await operator.stop();
  return lost ? 1 : 0;
}
