// `weft operator`: installs and upgrades control planes from MeshInstallation objects.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Values } from "../api/contract.js";
import type { operatorRole } from "../api/roles.js";
import { defaultIdentity, logger, terminated } from "./flags.js";

export async function runOperator(v: Values<typeof operatorRole>): Promise<number> {
  const log = logger("weft-operator", v["log-level"]);
  const { loadKubeConfig } = await import("../runtime/kube.js");
  const { Operator } = await import("../install/operator.js");
  const kc = loadKubeConfig(v.kubeconfig);
  if (v["leader-elect"]) await ensureLeaseNamespace(kc, v["leader-election-namespace"], log);
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

/**
 * The Lease's namespace must exist before leader election starts (from a laptop, `weft operator` against a fresh
 * cluster, it doesn't): create it if allowed, else fail at once naming the flag, as controller-runtime does, instead
 * of retrying the Lease forever.
 */
async function ensureLeaseNamespace(
  kc: KubeConfig,
  namespace: string,
  log: { info(o: object, m: string): void },
): Promise<void> {
  const { CoreV1Api } = await import("@kubernetes/client-node");
  const { errorMessage, isNotFound, statusCode } = await import("../runtime/kube.js");
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.readNamespace({ name: namespace });
    return;
  } catch (err) {
    if (!isNotFound(err) && statusCode(err) !== 403)
      throw new Error(`reading namespace ${namespace}: ${errorMessage(err)}`);
  }
  try {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    log.info({ namespace }, "created the leader Lease's namespace");
  } catch (err) {
    if (statusCode(err) === 409) return; // created meanwhile
    throw new Error(
      `the leader Lease's namespace "${namespace}" does not exist and could not be created (${errorMessage(err)}): create it, or pass --leader-election-namespace <an existing namespace> (or --no-leader-elect)`,
    );
  }
}
