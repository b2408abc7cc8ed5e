// The README's "Quick start on a cluster", as written: its ```sh blocks, run in bash from the repository's root.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { REPO_ROOT } from "../../hack/cluster/layout.js";

/** The ```sh blocks of the section, in order, each as its command lines. */
export function quickStartBlocks(readme = readFileSync(`${REPO_ROOT}/README.md`, "utf8")): string[][] {
  const start = readme.indexOf("## Quick start on a cluster");
  if (start < 0) throw new Error('README.md has no "## Quick start on a cluster"');
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    (m[1] ?? "").split("\n").filter((l) => l.trim() !== ""),
  );
}

/** Runs command lines in one bash (-euo pipefail), from the repository's root, with the test's KUBECONFIG. */
export function runLines(lines: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      "bash",
      ["-euo", "pipefail", "-c", lines.join("\n")],
      { cwd: REPO_ROOT, env: process.env, maxBuffer: 16 << 20 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`README commands failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
    ),
  );
}
