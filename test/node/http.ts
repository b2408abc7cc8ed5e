// Plain HTTP GETs from the host to pod and Service IPs on the real node's bridge.
import { get } from "node:http";

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
