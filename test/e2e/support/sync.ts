// Waiting on the local mesh's discovery: a new config generation, then every proxy synced at it.
import { get, poll } from "../../../hack/local/procs.js";
import type { LocalMesh } from "../../../hack/local/mesh.js";

export interface Sync {
  node: string;
  configVersion?: string;
  snapshotError?: string;
  types: Record<string, { sent?: string; acked?: string; nack?: { error: string } }>;
}

export interface Configz {
  version: string;
  warnings: string[];
  rejected: {
    kind: string;
    namespace: string;
    name: string;
    origin: string;
    errors: string[];
    keptPrevious: boolean;
  }[];
  failedSnapshots: string[];
}

export const json = async <T>(url: string): Promise<T> => JSON.parse((await get(url))?.body ?? "null") as T;

export const configz = (mesh: LocalMesh): Promise<Configz> => json<Configz>(`${mesh.monitoringUrl}/debug/configz`);

/** The NACKs standing on any proxy, as `node TYPE: error`. */
export async function nacks(mesh: LocalMesh): Promise<string[]> {
  const proxies = await json<Sync[]>(`${mesh.monitoringUrl}/debug/syncz`);
  return proxies.flatMap((p) =>
    Object.entries(p.types).flatMap(([t, s]) => (s.nack ? [`${p.node} ${t}: ${s.nack.error}`] : [])),
  );
}

/** Runs `edit` on the config folder, then waits for a newer generation that every proxy ACKed; fails on a NACK. */
export async function change(
  mesh: LocalMesh,
  edit: () => void | Promise<void>,
  proxies = mesh.layout.workloads.length + 1,
): Promise<number> {
  const before = Number((await configz(mesh)).version);
  await edit();
  const version = await poll("a new config generation", async () => {
    const v = Number((await configz(mesh)).version);
    return v > before ? v : undefined;
  });
  await poll(`every proxy synced at ${version}`, async () => {
    const all = await json<Sync[]>(`${mesh.monitoringUrl}/debug/syncz`);
    const nacked = all.flatMap((p) =>
      Object.values(p.types).flatMap((t) => (t.nack ? [`${p.node}: ${t.nack.error}`] : [])),
    );
    if (nacked.length) throw new Error(`NACK: ${nacked.join("; ")}`);
    const synced = (p: Sync) =>
      !p.snapshotError && Number(p.configVersion) >= version && Object.values(p.types).every((t) => t.sent === t.acked);
    return all.length === proxies && all.every(synced) ? true : undefined;
  }).catch(async (err: unknown) => {
    const all = await json<Sync[]>(`${mesh.monitoringUrl}/debug/syncz`);
    const behind = all.filter(
      (p) =>
        p.snapshotError || Number(p.configVersion) < version || Object.values(p.types).some((t) => t.sent !== t.acked),
    );
    throw new Error(`${(err as Error).message}; ${all.length} proxies; not synced: ${JSON.stringify(behind)}`);
  });
  return version;
}
