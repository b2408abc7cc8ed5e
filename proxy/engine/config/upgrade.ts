// upgrade_configs, on the HCM (HttpConnectionManager.UpgradeConfig) and on a route (RouteAction.UpgradeConfig): only
// `websocket` (any case, as Envoy compares it) with `enabled` (default true). Other upgrade types (CONNECT among them),
// the HCM's per-upgrade `filters` and the route's `connect_config` are refused, naming the field.
import { join, type Obj, type Reader, onlyKnown } from "./read.js";

const KNOWN = ["upgrade_type", "enabled"];

/** Whether the list at `o.upgrade_configs` allows WebSocket upgrades; undefined when it doesn't say. */
export function websocketUpgrade(r: Reader, o: Obj, path: string): boolean | undefined {
  const lp = join(path, "upgrade_configs");
  let websocket: boolean | undefined;
  r.list(o, "upgrade_configs", path).forEach((u, i) => {
    const up = join(lp, i);
    const uo = r.obj(u, up);
    onlyKnown(r, uo, up, KNOWN, "UpgradeConfig");
    const type = r.reqStr(uo, "upgrade_type", up).toLowerCase();
    if (type !== "websocket") r.fail(join(up, "upgrade_type"), "only websocket is supported by this proxy");
    if (websocket !== undefined) r.fail(join(up, "upgrade_type"), "duplicate upgrade websocket"); // Envoy refuses it too
    websocket = r.bool(uo, "enabled", up) ?? true;
  });
  return websocket;
}
