// Plain HTTP GETs from the host to pod and Service IPs on the real node's bridge, and the suites' polling.
import { get } from "node:http";
import { kube } from "../integration/support/kubectl.js";

export function httpGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    get(url, { timeout: 10_000, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    })
      .on("timeout", function (this: { destroy(e: Error): void }) {
        this.destroy(new Error(`GET ${url}: no answer in 10 s`));
      })
      .on("error", reject);
  });
}

/**
 * Polls `probe` (every 250 ms; a throw counts as not yet) until it returns a value, or fails naming `what` and, when
 * the last try threw, its error.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let threw: unknown;
    const v = await probe().catch((err: unknown) => {
      threw = err;
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not within ${timeoutMs / 1000} s${threw === undefined ? "" : `; the last try: ${String(threw)}`}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `kubectl patch mesh default --type merge`: the node suites' one way of changing the real mesh's spec. */
export const patchMesh = (spec: Record<string, unknown>): Promise<string> =>
  kube(["patch", "mesh", "default", "--type", "merge", "-p", JSON.stringify({ spec })]);
