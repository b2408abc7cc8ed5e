// Where discovery's mesh settings come from: ConfigMap weft-mesh (key `mesh`) in its namespace, watched, in
// Kubernetes mode; a file (--mesh-config), watched, in local mode. A change is reported at once; a value that
// doesn't parse is logged, naming the field, and the last good settings stay.
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { Informer } from "../../runtime/informer.js";
import { parseMeshConfig, type MeshSettings } from "../model/mesh.js";

export const MESH_CONFIGMAP = "weft-mesh";

export interface MeshSource {
  start(): Promise<void>;
  stop(): void;
}

type OnMesh = (mesh: MeshSettings | undefined) => void;

function parsed(
  text: string | undefined,
  where: string,
  log: Logger,
): { ok: true; mesh: MeshSettings | undefined } | { ok: false } {
  if (text === undefined) return { ok: true, mesh: undefined };
  try {
    const mesh = parseMeshConfig(text);
    for (const w of mesh.warnings) log.warn({ source: where, warning: w }, "mesh config");
    return { ok: true, mesh };
  } catch (err) {
    log.warn({ source: where, error: (err as Error).message }, "mesh config rejected; the last good one stays");
    return { ok: false };
  }
}

/** Local mode: the file, polled (a rename-replace, as editors and kubectl cp do, is seen too). */
export function fileMeshSource(file: string, log: Logger, onMesh: OnMesh): MeshSource {
  let last: string | undefined;
  const read = (): void => {
    let text: string | undefined;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      text = undefined; // no file: the defaults
    }
    if (text === last) return;
    last = text;
    const r = parsed(text, file, log);
    if (r.ok) onMesh(r.mesh);
  };
  return {
    start: async () => {
      read();
      watchFile(file, { interval: 200 }, read);
    },
    stop: () => unwatchFile(file, read),
  };
}

/** Kubernetes mode: ConfigMap weft-mesh in discovery's namespace, key `mesh`; deleted means the defaults. */
export function configMapMeshSource(kc: KubeConfig, namespace: string, log: Logger, onMesh: OnMesh): MeshSource {
  const informer = new Informer<KubernetesObject & { data?: Record<string, string> }>(
    kc,
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      plural: "configmaps",
      namespace,
      fieldSelector: `metadata.name=${MESH_CONFIGMAP}`,
    },
    log,
  );
  let last: string | undefined;
  informer.on((type, cm) => {
    const text = type === "delete" ? undefined : cm.data?.mesh;
    if (text === last) return;
    last = text;
    const r = parsed(text, `ConfigMap ${namespace}/${MESH_CONFIGMAP} key "mesh"`, log);
    if (r.ok) onMesh(r.mesh);
  });
  return {
    start: async () => {
      await informer.start();
      await informer.synced;
    },
    stop: () => informer.stop(),
  };
}
