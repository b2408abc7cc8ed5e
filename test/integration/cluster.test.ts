// The process cluster itself: `up` is idempotent and `down` leaves no process behind.
// It runs a second cluster beside the suite's, in its own folder and on other ports.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../hack/cluster/layout.js";

const dir = mkdtempSync(join(tmpdir(), "weft-cluster-"));
// KWOK only: the machine's one real node belongs to the suite's cluster.
const env = { ...process.env, WEFT_CLUSTER_DIR: dir, WEFT_CLUSTER_PORT_OFFSET: "1000", WEFT_REAL_NODE: "0" };

function cluster(cmd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [`${REPO_ROOT}/dist/hack/cluster/main.js`, cmd], { env }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Live processes whose command line mentions the cluster's folder. */
function processesIn(folder: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(folder);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("npm run cluster", () => {
  afterAll(async () => {
    await cluster("down");
  });

  it("comes up, stays up on a second `up` without restarting anything, and reports itself", async () => {
    const first = await cluster("up");
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`export KUBECONFIG=${join(dir, "kubeconfig")}\n`);
    const pids = processesIn(dir).sort();
    expect(pids).toHaveLength(5); // etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok

    const second = await cluster("up");
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("kube-apiserver already running");
    expect(processesIn(dir).sort()).toEqual(pids);

    const status = await cluster("status");
    expect(status.code).toBe(0);
    expect(status.stdout.match(/ ready$/gm)).toHaveLength(5);
  });

  it("goes down leaving no process behind", async () => {
    expect((await cluster("down")).code).toBe(0);
    expect(processesIn(dir)).toEqual([]);
    expect((await cluster("status")).code).not.toBe(0);
  });
});
