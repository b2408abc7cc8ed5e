// Runs the built `weft` binary as a user would, and returns what it printed and its exit code.
import { execFile } from "node:child_process";
import { REPO_ROOT } from "../../hack/paths.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function weft(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${REPO_ROOT}/dist/operator/cli/main.js`, ...args],
      { env, maxBuffer: 16 << 20, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The ✘ lines of `weft check`'s output, each with its hint. */
export function failedChecks(out: string): { line: string; hint: string }[] {
  const lines = out.split("\n");
  return lines.flatMap((l, i) =>
    l.startsWith("✘ ") ? [{ line: l, hint: (lines[i + 1] ?? "").replace(/^\s*hint: /, "") }] : [],
  );
}
