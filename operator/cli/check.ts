// `weft check [--pre]`: prints each check as it runs; exit 0 when all pass, 1 otherwise.
import type { Values } from "../api/contract.js";
import type { checkRole } from "../api/tool-roles.js";
import { loadKubeConfig } from "../runtime/kube.js";
import { runChecks } from "./tools/check-runner.js";
import { apiServerCheck, preChecks } from "./tools/checks-pre.js";
import { conditionsVerdict, crdChecks, listMeshes, operatorCheck } from "./tools/checks-install.js";
import { meshChecks } from "./tools/checks-mesh.js";

export async function runCheck(v: Values<typeof checkRole>): Promise<number> {
  const kc = loadKubeConfig(v.kubeconfig);
  const write = (s: string) => void process.stdout.write(s);
  if (v.pre) return (await runChecks([{ title: "Before installing", checks: () => preChecks(kc) }], write)) ? 0 : 1;
  const operatorNamespace = v["operator-namespace"];
  const ok = await runChecks(
    [
      { title: "Kubernetes API", checks: () => [apiServerCheck(kc)] },
      { title: "CRDs", checks: () => crdChecks(kc) },
      { title: "Operator", checks: () => [operatorCheck(kc, operatorNamespace)] },
      {
        title: "Meshes",
        checks: async () => {
          const meshes = await listMeshes(kc, v.mesh);
          if (!meshes.length)
            return [
              {
                name: "a MeshInstallation exists",
                run: () =>
                  Promise.resolve({
                    ok: false,
                    detail: "none found",
                    hint: "kubectl apply -f samples/mesh.yaml",
                  }),
              },
            ];
          return meshes.flatMap((m) => [
            { name: `mesh ${m.metadata?.name ?? ""}: Ready`, run: () => Promise.resolve(conditionsVerdict(m)) },
            ...meshChecks(kc, m, {
              operatorNamespace,
              ...(v["webhook-address"] ? { webhookAddress: v["webhook-address"] } : {}),
            }),
          ]);
        },
      },
    ],
    write,
  );
  return ok ? 0 : 1;
}
