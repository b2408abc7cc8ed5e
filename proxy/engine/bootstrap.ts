// A static bootstrap file: Envoy-style `static_resources: {listeners, clusters}`, YAML or JSON.
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import type { Resources } from "./config/types.js";

export interface Bootstrap {
  resources: Resources;
  /** admin.address.socket_address.port_value, when the file sets one. */
  adminPort: number | undefined;
  /** admin.address.socket_address.address, when the file sets one. */
  adminAddress: string | undefined;
}

export function parseBootstrap(text: string, source = "bootstrap"): Bootstrap {
  const doc = parse(text) as unknown;
  if (doc === null || typeof doc !== "object") throw new Error(`${source}: expected a mapping`);
  const d = doc as Record<string, unknown>;
  const sr = (d.static_resources ?? {}) as Record<string, unknown>;
  const list = (k: string): unknown[] => {
    const v = sr[k];
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new Error(`${source}: static_resources.${k}: expected a list`);
    return v;
  };
  const admin = d.admin as { address?: { socket_address?: { port_value?: unknown; address?: unknown } } } | undefined;
  const port = admin?.address?.socket_address?.port_value;
  const address = admin?.address?.socket_address?.address;
  return {
    resources: { version: "static", listeners: list("listeners"), clusters: list("clusters") },
    adminPort: typeof port === "number" ? port : undefined,
    adminAddress: typeof address === "string" && address ? address : undefined,
  };
}

export async function loadBootstrap(file: string): Promise<Bootstrap> {
  return parseBootstrap(await readFile(file, "utf8"), file);
}
