// Test support: `weft discovery` in process on 127.0.0.1, every port picked by the OS, pushes 10 ms after a change.
import { startDiscovery, type Discovery, type DiscoveryOptions } from "../../../operator/discovery/server.js";

export function onLoopback(options: DiscoveryOptions): Promise<Discovery> {
  return startDiscovery({ address: "127.0.0.1", xdsPort: 0, monitoringPort: 0, pushDebounceMs: 10, ...options });
}
