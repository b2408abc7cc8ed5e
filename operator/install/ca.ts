// The mesh CA: kept in a Secret in the control plane's namespace, generated once. A pair
// this process just generated is remembered, so a reconcile that runs before the Secret
// reaches the informer cache never mints a second CA.
import type { V1Secret } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { caProblem, generateCa, type KeyPair } from "../runtime/pki.js";

const CA_DAYS = 3650; // as Istio's self-signed root: ten years

export class CaKeeper {
  private readonly minted = new Map<string, KeyPair>();

  constructor(private readonly log: Logger) {}

  async ensure(namespace: string, stored: V1Secret | undefined): Promise<KeyPair> {
    const data = stored?.data ?? {};
    const decode = (k: string) => (data[k] ? Buffer.from(data[k], "base64").toString("utf8") : undefined);
    const pair = { certPem: decode("ca-cert.pem"), keyPem: decode("ca-key.pem") };
    const problem = caProblem(pair);
    if (!problem) return pair as KeyPair;
    const recent = this.minted.get(namespace);
    if (recent && !caProblem(recent)) return recent;
    this.log.info({ namespace, reason: stored ? problem : "no CA secret" }, "generating the mesh CA");
    const fresh = await generateCa(`weft-ca.${namespace}`, CA_DAYS);
    this.minted.set(namespace, fresh);
    return fresh;
  }
}
