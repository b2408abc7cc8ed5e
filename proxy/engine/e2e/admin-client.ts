// An admin-port client for tests, and the hostile ways a mutating request can arrive.
import { request } from "node:http";

export function adminCall(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The ways a request that must not mutate anything arrives, with the status each must get. */
export const HOSTILE: [string, string, Record<string, string>, number][] = [
  ["a browser page's POST (Origin)", "POST", { origin: "http://evil.example" }, 403],
  ["Origin: null (a sandboxed page)", "POST", { origin: "null" }, 403],
  ["a rebinding name in Host", "POST", { host: "evil.example:15000" }, 403],
  ["a non-loopback IP in Host", "POST", { host: "10.1.2.3:15000" }, 403],
  ["a GET", "GET", {}, 405],
];
