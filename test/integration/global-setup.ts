// Starts the process cluster once per test run (unless one is already up, as during
// development) and installs the CRDs. Every suite reads KUBECONFIG from the environment.
import { execFileSync } from "node:child_process";
import { KUBECONFIG, REPO_ROOT } from "../../hack/cluster/layout.js";

export default async function globalSetup(): Promise<void> {
  const cli = `${REPO_ROOT}/dist/hack/cluster/main.js`;
  let alreadyUp = true;
  try {
    execFileSync("node", [cli, "status"], { stdio: "ignore" });
  } catch {
    alreadyUp = false;
  }
  execFileSync("node", [cli, "up"], { stdio: ["ignore", "ignore", "inherit"] });
  process.env.KUBECONFIG = KUBECONFIG;
  process.env.WEFT_STARTED_CLUSTER = alreadyUp ? "" : "1";
  execFileSync("kubectl", ["apply", "--server-side", "-f", `${REPO_ROOT}/crds/`], { stdio: ["ignore", "ignore", "inherit"] });
  execFileSync("kubectl", ["wait", "--for=condition=Established", "crd", "--all", "--timeout=30s"], { stdio: ["ignore", "ignore", "inherit"] });
}
