// Driving the local mesh (hack/local) from a test: change the watched config folder and wait until every proxy
// has ACKed the result, and load the product page through the gateway.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import path from "node:path";
import type { LocalMesh } from "../../hack/local/mesh.js";
import { get, poll } from "../../hack/local/procs.js";

interface Sync {
  node: string;
  configVersion?: string;
  types: Record<string, { sent?: string; acked?: string; nack?: unknown }>;
}

export const json = async <T>(url: string): Promise<T> => JSON.parse((await get(url))?.body ?? "null") as T;

const key = (o: { kind?: string; metadata?: { name?: string; namespace?: string } }): string =>
  `${o.kind}/${o.metadata?.namespace ?? "default"}/${o.metadata?.name}`;

/**
 * Writes (text) or removes (null) files in the watched folder, then waits until every proxy ACKed the new
 * generation. Written as `kubectl apply -f` and `kubectl delete -f` behave: an object in a new file replaces the
 * object of the same kind and name in the other files (the folder keeps one definition of each).
 */
export async function change(mesh: LocalMesh, files: Record<string, string | null>): Promise<void> {
  const removals: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    if (text === null) {
      removals.push(name);
      continue;
    }
    // The new file first: until its namesakes elsewhere are gone, the first definition (the old one) still wins.
    writeFileSync(path.join(mesh.configDir, name), text);
    const replaced = new Set(parseAllDocuments(text).map((d) => key(d.toJS() ?? {})));
    for (const other of readdirSync(mesh.configDir).filter((f) => /\.ya?ml$/.test(f) && f !== name)) {
      const otherFile = path.join(mesh.configDir, other);
      const docs = parseAllDocuments(readFileSync(otherFile, "utf8"));
      const kept = docs.filter((d) => !replaced.has(key(d.toJS() ?? {})));
      if (kept.length !== docs.length) writeFileSync(otherFile, kept.map((d) => d.toString()).join("---\n"));
    }
  }
  for (const name of removals) rmSync(path.join(mesh.configDir, name), { force: true });
  await settled(mesh);
}

let marker = 0;

/**
 * Waits until discovery has read everything written so far and every proxy ACKed it: a marker ServiceEntry,
 * written last, must reach a proxy (the folder source reads the whole folder, so what came before is in too): the
 * gateway, which no Sidecar scopes, when there is one.
 */
export async function settled(mesh: LocalMesh): Promise<void> {
  const host = `sync-${++marker}.marker`;
  writeFileSync(
    path.join(mesh.configDir, "zz-sync-marker.yaml"),
    `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: sync-marker }\nspec: { hosts: [${host}], ports: [{ number: 1, name: tcp, protocol: TCP }], resolution: STATIC, endpoints: [{ address: 127.0.0.1 }] }\n`,
  );
  const admin = mesh.admin["gateway"] ?? (Object.values(mesh.admin)[0] as string);
  await poll(
    `${host} in ${admin}/config_dump`,
    async () => ((await get(`${admin}/config_dump`))?.body.includes(`outbound|1||${host}`) ? true : undefined),
    60_000,
  );
  const version = Number((await json<{ version: string }>(`${mesh.monitoringUrl}/debug/configz`)).version);
  await synced(mesh, version);
}

/** Waits until discovery is at `version` or later and every proxy has ACKed it. */
export async function synced(mesh: LocalMesh, atLeast: number): Promise<void> {
  const version = await poll(
    "a new config generation",
    async () => {
      const v = Number((await json<{ version: string }>(`${mesh.monitoringUrl}/debug/configz`)).version);
      return v >= atLeast ? v : undefined;
    },
    60_000,
  );
  await poll(
    `every proxy synced at ${version}`,
    async () => {
      const proxies = await json<Sync[]>(`${mesh.monitoringUrl}/debug/syncz`);
      const ok = (p: Sync) =>
        Number(p.configVersion) >= version && Object.values(p.types).every((t) => !t.nack && t.sent === t.acked);
      return proxies.length === mesh.layout.workloads.length + 1 && proxies.every(ok) ? true : undefined;
    },
    60_000,
  );
}

export interface Pages {
  versions: Record<string, number>;
  ratingsDown: number;
  /** Pages that say "Sorry, product reviews are currently unavailable for this book." */
  reviewsDown: number;
  failed: number;
  /** Each page's time in ms. */
  ms: number[];
}

/** `n` product pages (`concurrency` at a time): which reviews version served each, and how ratings fared. */
export async function pages(mesh: LocalMesh, n: number, user?: string, concurrency = 8): Promise<Pages> {
  const out: Pages = { versions: {}, ratingsDown: 0, reviewsDown: 0, failed: 0, ms: [] };
  const url = `${mesh.gatewayUrl}/productpage${user ? `?u=${user}` : ""}`;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next++ < n) {
      const started = performance.now();
      const r = await get(url, {}, 20_000); // a page can take Istio's "about 6 s" (fault injection)
      out.ms.push(performance.now() - started);
      if (r?.status !== 200) {
        out.failed++;
        continue;
      }
      const v = /Reviews served by: <b>(reviews-v\d)</.exec(r.body)?.[1] ?? "none";
      out.versions[v] = (out.versions[v] ?? 0) + 1;
      if (r.body.includes("Ratings service is currently unavailable")) out.ratingsDown++;
      if (r.body.includes("Sorry, product reviews are currently unavailable for this book.")) out.reviewsDown++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}
