// Starts the process cluster once per test run (unless one is already up, as during
// development) and installs the CRDs. `cluster up` prints `export KUBECONFIG=…`; every
// suite inherits that from the environment.
import { execFileSync } from "node:child_process";

const cli = `${process.cwd()}/dist/hack/cluster/main.js`;

export default async function globalSetup(): Promise<void> {
  let alreadyUp = true;
  try {
    execFileSync("node", [cli, "status"], { stdio: "ignore" });
  } catch {
    alreadyUp = false;
  }
  const out = execFileSync("node", [cli, "up"], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  const kubeconfig = /^export KUBECONFIG=(.+)$/m.exec(out)?.[1];
  if (!kubeconfig) throw new Error(`cluster up printed no KUBECONFIG: ${out}`);
  process.env.KUBECONFIG = kubeconfig;
  process.env.WEFT_STARTED_CLUSTER = alreadyUp ? "" : "1";
  execFileSync("kubectl", ["apply", "--server-side", "--force-conflicts", "-f", `${process.cwd()}/crds/`], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  execFileSync("kubectl", ["wait", "--for=condition=Established", "crd", "--all", "--timeout=30s"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}
