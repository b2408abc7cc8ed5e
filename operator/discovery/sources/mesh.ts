// The mesh config in local mode: a YAML file shaped as Istio's MeshConfig (the `mesh` key of the weft-mesh
// ConfigMap), watched. Only the fields discovery uses are read; a bad value is reported and the last good one kept.
import { readFileSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { parse } from "yaml";
import type { OutboundTrafficMode } from "../model/config.js";

export interface MeshSettings {
  outboundTrafficPolicy: OutboundTrafficMode;
}

export const DEFAULT_MESH: MeshSettings = { outboundTrafficPolicy: "ALLOW_ANY" };

/** Parses a MeshConfig document; throws with the field path when a value is invalid. Pure. */
export function parseMeshConfig(text: string): MeshSettings {
  const doc: unknown = parse(text) ?? {};
  if (typeof doc !== "object" || Array.isArray(doc) || doc === null) throw new Error("the mesh config must be a mapping");
  const otp = (doc as Record<string, unknown>).outboundTrafficPolicy as Record<string, unknown> | undefined;
  const mode = otp?.mode ?? "ALLOW_ANY";
  if (mode !== "ALLOW_ANY" && mode !== "REGISTRY_ONLY") throw new Error(`outboundTrafficPolicy.mode: ${JSON.stringify(mode)} is not ALLOW_ANY or REGISTRY_ONLY`);
  return { outboundTrafficPolicy: mode };
}

/** Reads the file now and on every change; `onChange` gets each new good version, `onError` each bad one. */
export function watchMeshConfig(file: string, onChange: (m: MeshSettings) => void, onError: (message: string) => void): { current: MeshSettings; stop(): void } {
  let last = "";
  const state = { current: DEFAULT_MESH, stop: () => watcher.close() };
  const load = (): void => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      return onError(`${file}: ${(err as Error).message}`);
    }
    if (text === last) return;
    last = text;
    try {
      state.current = parseMeshConfig(text);
      onChange(state.current);
    } catch (err) {
      onError(`${file}: ${(err as Error).message}`);
    }
  };
  load();
  // The folder, not the file: editors and `kubectl cp` replace files, which ends a watch on the file itself.
  const watcher: FSWatcher = watch(dirname(file), (_event, name) => {
    if (name === null || name === basename(file)) load();
  });
  return state;
}
