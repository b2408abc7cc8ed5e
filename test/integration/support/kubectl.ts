// kubectl, the client users have, run against the process cluster.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile("kubectl", args, { env: process.env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** kubectl that must succeed; returns stdout. */
export async function kube(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export async function getJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return JSON.parse(await kube([...args, "-o", "json"])) as T;
}

/** A kubeconfig file for the process cluster that authenticates as ServiceAccount `sa` (a TokenRequest token). */
export async function serviceAccountKubeconfig(sa: string, namespace: string, duration = "1h"): Promise<string> {
  const token = (await kube(["create", "token", sa, "-n", namespace, `--duration=${duration}`])).trim();
  const admin = await getJson<{ clusters: { cluster: object }[] }>(["config", "view", "--raw", "--minify"]);
  const file = join(mkdtempSync(join(tmpdir(), `weft-${sa}-`)), "kubeconfig");
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: admin.clusters[0]?.cluster }],
      users: [{ name: sa, user: { token } }],
      contexts: [{ name: "c", context: { cluster: "c", user: sa } }],
      "current-context": "c",
    }),
  );
  return file;
}
