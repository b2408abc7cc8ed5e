// `weft operator`: installs and upgrades control planes from MeshInstallation objects.
import type { Command } from "./commands.js";
import { defaultIdentity, logger, parseDuration, str, terminated } from "./flags.js";

export const operatorCommand: Command = {
  summary: "run the operator that installs MeshInstallations",
  options: {
    kubeconfig: { type: "string" },
    "metrics-addr": { type: "string", default: ":8080" },
    "health-addr": { type: "string", default: ":8081" },
    "leader-elect": { type: "boolean", default: true },
    "no-leader-elect": { type: "boolean", default: false },
    "leader-election-namespace": { type: "string" },
    "lease-duration": { type: "string", default: "15s" },
    "renew-deadline": { type: "string", default: "10s" },
    "retry-period": { type: "string", default: "2s" },
    resync: { type: "string", default: "10m" },
    identity: { type: "string" },
    "log-level": { type: "string" },
  },
  async run(v) {
    const log = logger("weft-operator", str(v["log-level"]));
    const { loadKubeConfig } = await import("../runtime/kube.js");
    const { Operator } = await import("../install/operator.js");
    const kc = loadKubeConfig(str(v.kubeconfig));
    const leaderElect = v["leader-elect"] === true && v["no-leader-elect"] !== true;
    const operator = new Operator(
      kc,
      {
        metricsAddr: str(v["metrics-addr"]) as string,
        healthAddr: str(v["health-addr"]) as string,
        resyncMs: parseDuration("resync", str(v.resync) as string),
        leader: leaderElect
          ? {
              namespace: str(v["leader-election-namespace"]) ?? process.env.POD_NAMESPACE ?? "weft-system",
              identity: str(v.identity) ?? defaultIdentity(),
              leaseDurationMs: parseDuration("lease-duration", str(v["lease-duration"]) as string),
              renewDeadlineMs: parseDuration("renew-deadline", str(v["renew-deadline"]) as string),
              retryPeriodMs: parseDuration("retry-period", str(v["retry-period"]) as string),
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
  },
};
