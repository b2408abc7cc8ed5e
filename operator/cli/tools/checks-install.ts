// `weft check` on an installation: the CRDs, the operator's leader, then per MeshInstallation its conditions,
// weftd, the webhooks' CA bundles, the injector ConfigMap and the proxies (checks-mesh.ts).
import { ApiextensionsV1Api, CoordinationV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { GROUP, PLURAL, API_VERSION, type MeshInstallation } from "../../api/types.js";
import { errorMessage, isNotFound } from "../../runtime/kube.js";
import { fail, pass, type Check, type Verdict } from "./check-runner.js";
import { packagedCrds } from "./crds.js";

export const LEASE = "weft-operator";

export function crdChecks(kc: KubeConfig): Check[] {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  return packagedCrds().map(({ file, crd }) => ({
    name: `CRD ${crd.metadata.name}`,
    run: async (): Promise<Verdict> => {
      const hint = `kubectl apply --server-side -f ${file}`;
      let live;
      try {
        live = await api.readCustomResourceDefinition({ name: crd.metadata.name });
      } catch (err) {
        return fail(isNotFound(err) ? "not installed" : errorMessage(err), hint);
      }
      const established = live.status?.conditions?.find((c) => c.type === "Established")?.status === "True";
      if (!established) return fail("not Established", `kubectl describe crd ${crd.metadata.name}`);
      const served = new Set(live.spec.versions.filter((v) => v.served).map((v) => v.name));
      const missing = crd.spec.versions.filter((v) => v.served && !served.has(v.name)).map((v) => v.name);
      const storage = live.spec.versions.find((v) => v.storage)?.name;
      const wanted = crd.spec.versions.find((v) => v.storage)?.name;
      if (missing.length) return fail(`does not serve ${missing.join(", ")}`, hint);
      if (storage !== wanted) return fail(`stores ${storage ?? "?"}, this weft expects ${wanted ?? "?"}`, hint);
      return pass(`serves ${[...served].join(", ")}`);
    },
  }));
}

/** The leader Lease: held, and renewed within its duration. */
export function leaseVerdict(
  lease: { holderIdentity?: string; renewTime?: Date | string; leaseDurationSeconds?: number } | undefined,
  namespace: string,
  now = new Date(),
): Verdict {
  const hint = `start the operator: kubectl -n ${namespace} rollout restart deploy/weft-operator (or run weft operator --leader-election-namespace ${namespace}); its logs: kubectl -n ${namespace} logs deploy/weft-operator`;
  if (!lease) return fail(`no Lease ${namespace}/${LEASE}: the operator never ran here`, hint);
  if (!lease.holderIdentity) return fail("the Lease has no holder: the operator stopped", hint);
  const renewed = lease.renewTime ? new Date(lease.renewTime).getTime() : 0;
  const age = (now.getTime() - renewed) / 1000;
  if (age > (lease.leaseDurationSeconds ?? 15))
    return fail(`leader ${lease.holderIdentity} last renewed ${Math.round(age)}s ago: it is gone`, hint);
  return pass(`leader ${lease.holderIdentity}`);
}

export function operatorCheck(kc: KubeConfig, namespace: string): Check {
  const api = kc.makeApiClient(CoordinationV1Api);
  return {
    name: "operator leader elected",
    run: async () => {
      const lease = await api.readNamespacedLease({ name: LEASE, namespace }).then(
        (l) => l.spec,
        (err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        },
      );
      return leaseVerdict(lease, namespace);
    },
  };
}

export async function listMeshes(kc: KubeConfig, only: string | undefined): Promise<MeshInstallation[]> {
  const api = kc.makeApiClient(CustomObjectsApi);
  if (only) {
    try {
      return [
        (await api.getClusterCustomObject({
          group: GROUP,
          version: API_VERSION,
          plural: PLURAL,
          name: only,
        })) as MeshInstallation,
      ];
    } catch (err) {
      if (isNotFound(err)) throw new Error(`MeshInstallation ${only} not found (kubectl get mesh lists them)`);
      throw err;
    }
  }
  try {
    const list = (await api.listClusterCustomObject({ group: GROUP, version: API_VERSION, plural: PLURAL })) as {
      items: MeshInstallation[];
    };
    return list.items;
  } catch (err) {
    if (isNotFound(err)) throw new Error(`the ${PLURAL}.${GROUP} CRD is not installed (see the CRD checks)`);
    throw new Error(errorMessage(err));
  }
}

/** Reconciled, ControlPlaneReady and Ready must be True; ProxiesSynced and ProxiesUpgraded have their own checks. */
export function conditionsVerdict(m: MeshInstallation): Verdict {
  const name = m.metadata?.name ?? "";
  const conditions = m.status?.conditions ?? [];
  if (!conditions.length) return fail("no status yet", `is the operator running? kubectl describe mesh ${name}`);
  const bad = ["Reconciled", "ControlPlaneReady", "Ready"]
    .map((t) => conditions.find((c) => c.type === t) ?? { type: t, status: "Unknown", reason: "Missing", message: "" })
    .filter((c) => c.status !== "True");
  if ((m.status?.observedGeneration ?? 0) < (m.metadata?.generation ?? 0))
    return fail(
      `status is for generation ${m.status?.observedGeneration ?? 0}, the spec is at ${m.metadata?.generation ?? 0}`,
      "the operator hasn't caught up: is it running? (see the operator check)",
    );
  if (!bad.length) return pass(m.status?.state ?? "Healthy");
  return fail(
    bad.map((c) => `${c.type}=${c.status} ${c.reason}${c.message ? `: ${c.message}` : ""}`).join("; "),
    `kubectl describe mesh ${name}; the operator's logs say more`,
  );
}
