// compile(): validates a whole resource set and builds the engine's immutable config, or throws ConfigError.
import type { Assignment } from "./cluster-types.js";
import type { EngineConfig, Resources, RouteConfig } from "./types.js";
import { ConfigError, isObj } from "./read.js";
import { compileCluster, compileEndpoints } from "./clusters.js";
import { compileRouteConfig } from "./routes.js";
import { compileListener } from "./listeners.js";
import { compileSecrets } from "./secrets.js";
import { checkPerFilter } from "./filters.js";

export { ConfigError } from "./read.js";
export type * from "./types.js";

export function compile(res: Resources): EngineConfig {
  const eds = new Map<string, Assignment>();
  (res.endpoints ?? []).forEach((e, i) => {
    const { clusterName, ...assignment } = compileEndpoints(e, i);
    eds.set(clusterName, assignment);
  });
  const secrets = compileSecrets(res.secrets);
  const clusters = new Map(
    (res.clusters ?? []).map((c, i) => {
      const cl = compileCluster(c, i, eds, secrets);
      return [cl.name, cl] as const;
    }),
  );
  if (clusters.size !== (res.clusters ?? []).length) throw duplicate("Cluster", res.clusters);
  const hasCluster = (n: string) => clusters.has(n);
  const routes = new Map<string, RouteConfig>();
  (res.routes ?? []).forEach((r, i) => {
    const rc = compileRouteConfig(r, hasCluster, i);
    if (routes.has(rc.name)) throw new ConfigError("RouteConfiguration", rc.name, "name", "duplicate name");
    routes.set(rc.name, rc);
  });
  const listeners = (res.listeners ?? []).map((l, i) => compileListener(l, i, routes, hasCluster, secrets));
  const seen = new Set<string>();
  for (const l of listeners) {
    if (seen.has(l.name)) throw new ConfigError("Listener", l.name, "name", "duplicate name");
    seen.add(l.name);
  }
  checkPerFilter(listeners, routes);
  return { version: res.version ?? "", listeners, routes, clusters, resources: res };
}

function duplicate(kind: string, list: unknown[] | undefined): ConfigError {
  const names = (list ?? []).map((c) => String(isObj(c) ? c.name : undefined));
  const dup = names.find((n, i) => names.indexOf(n) !== i) ?? "";
  return new ConfigError(kind, dup, "name", "duplicate name");
}
