// `weft check --pre`: can this cluster take Weft? The API server's version, the caller's RBAC (one
// SelfSubjectAccessReview per permission the install needs), and every CRD through a server-side dry-run apply.
import { AuthorizationV1Api, VersionApi, type KubeConfig } from "@kubernetes/client-node";
import { errorMessage } from "../../runtime/kube.js";
import { fail, pass, type Check } from "./check-runner.js";
import { packagedCrds } from "./crds.js";
import { apiOptions, send } from "./reach.js";

/** The oldest Kubernetes Weft is tested with. */
export const MIN_KUBERNETES = { major: 1, minor: 29 };

/** What installing Weft (operator/deploy and the operator's own work) needs the caller to be allowed. */
export const INSTALL_PERMISSIONS: readonly { verb: string; group: string; resource: string }[] = [
  { verb: "create", group: "apiextensions.k8s.io", resource: "customresourcedefinitions" },
  { verb: "create", group: "", resource: "namespaces" },
  { verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterroles" },
  { verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings" },
  { verb: "create", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations" },
  { verb: "create", group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations" },
  { verb: "create", group: "apps", resource: "deployments" },
  { verb: "create", group: "", resource: "serviceaccounts" },
  { verb: "create", group: "weft.dev", resource: "meshinstallations" },
];

export function versionVerdict(major: string, minor: string, git: string) {
  const mj = Number(major);
  const mn = Number(minor.replace(/\D+$/, ""));
  if (!Number.isFinite(mj) || !Number.isFinite(mn)) return fail(`unreadable version ${git}`, "check the API server");
  const old = mj < MIN_KUBERNETES.major || (mj === MIN_KUBERNETES.major && mn < MIN_KUBERNETES.minor);
  return old
    ? fail(
        `${git} is older than ${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor}`,
        `upgrade the cluster to Kubernetes ${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor} or later`,
      )
    : pass(git);
}

export function apiServerCheck(kc: KubeConfig): Check {
  return {
    name: "Kubernetes API reachable and recent enough",
    run: async () => {
      const v = await kc
        .makeApiClient(VersionApi)
        .getCode()
        .catch((err: unknown) => {
          throw new Error(`${kc.getCurrentCluster()?.server ?? "?"}: ${errorMessage(err)}`);
        });
      return versionVerdict(v.major, v.minor, v.gitVersion);
    },
  };
}

export function preChecks(kc: KubeConfig): Check[] {
  const authz = kc.makeApiClient(AuthorizationV1Api);
  return [
    apiServerCheck(kc),
    {
      name: "RBAC: you may install Weft",
      run: async () => {
        const denied: string[] = [];
        for (const p of INSTALL_PERMISSIONS) {
          const r = await authz.createSelfSubjectAccessReview({
            body: { spec: { resourceAttributes: { verb: p.verb, group: p.group, resource: p.resource } } },
          });
          if (!r.status?.allowed) denied.push(`${p.verb} ${p.resource}${p.group ? `.${p.group}` : ""}`);
        }
        return denied.length
          ? fail(
              `not allowed: ${denied.join(", ")}`,
              "ask a cluster admin to bind you cluster-admin for the install (kubectl create clusterrolebinding ...)",
            )
          : pass(`${INSTALL_PERMISSIONS.length} permissions granted`);
      },
    },
    ...packagedCrds().map(({ file, crd }): Check => ({
      name: `CRD ${crd.metadata.name} can be installed`,
      run: async () => {
        try {
          // Raw JSON, not client-node's typed serializer: that drops the x-kubernetes-* schema fields.
          const server = kc.getCurrentCluster()?.server ?? "";
          const url = `${server}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}?dryRun=All&fieldManager=weft-check&force=true`;
          await send("PATCH", url, await apiOptions(kc), {
            type: "application/apply-patch+yaml",
            text: JSON.stringify(crd),
          });
          return pass(`server-side dry run of ${file}`);
        } catch (err) {
          return fail(
            (err as Error).message,
            `the API server refuses ${file}: read the message (a conflicting CRD from another install?)`,
          );
        }
      },
    })),
  ];
}
