import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { PROXY_PROCESS_ENV } from "./process-env.js";

interface Doc {
  kind?: string;
  spec?: { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } } };
}

describe("the proxy's process environment, where a manifest spells it out", () => {
  it("the sample ingress gateway's agent gets what an injected sidecar's does (PROXY_PROCESS_ENV)", () => {
    const docs = parseAllDocuments(readFileSync("samples/bookinfo/kube/ingressgateway.yaml", "utf8")).map(
      (d) => d.toJS() as Doc,
    );
    const env = docs.find((d) => d.kind === "Deployment")?.spec?.template?.spec?.containers?.[0]?.env ?? [];
    const values = Object.fromEntries(env.map((e) => [e.name, e.value]));
    for (const [name, value] of Object.entries(PROXY_PROCESS_ENV)) expect([name, values[name]]).toEqual([name, value]);
  });
});
