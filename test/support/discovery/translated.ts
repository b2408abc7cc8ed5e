// Test support: Istio YAML as a proxy runs it: every object admitted by the webhook's validation, the model
// translated for `nodeId`, and an engine on loopback running the result.
import type { Engine } from "../../../proxy/engine/engine.js";
import { validateObject } from "../../../operator/discovery/validate/index.js";
import { parseNodeId, translate, type TranslateResult } from "../../../operator/discovery/translate/index.js";
import { testEngine } from "../engine/helpers.js";
import { parseYaml } from "./bookinfo.js";
import { meshModel } from "./mesh.js";

/**
 * Fails (via jest's expect) on a validation message or a translation warning. `mesh`: the proxy holds a mesh
 * certificate (connected on 15012), its agent's SDS `default` and `ROOTCA` (proxy/agent/secrets.ts workloadSecrets),
 * and gets the Secrets discovery serves it (a gateway's credentialName). Kubernetes Secrets aren't Istio's to validate.
 */
export async function runTranslated(
  yaml: string,
  nodeId: string,
  mesh?: { secrets: unknown[] },
): Promise<{ engine: Engine; out: TranslateResult }> {
  for (const o of parseYaml(yaml)) if (o.kind !== "Secret") expect(validateObject(o)).toEqual([]);
  const out = translate(meshModel(yaml), { ...parseNodeId(nodeId), ...(mesh ? { mtls: true } : {}) });
  expect(out.warnings).toEqual([]);
  const engine = await testEngine({
    listeners: out.listeners,
    routes: out.routes,
    clusters: out.clusters,
    endpoints: out.endpoints,
    ...(mesh ? { secrets: [...mesh.secrets, ...out.secrets] } : {}),
  });
  return { engine, out };
}
