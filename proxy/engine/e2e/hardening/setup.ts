// One engine in front of a raw backend, with a route table that makes smuggling visible: /admin and the host "evil"
// are answered 403 by the proxy, so a request that reaches the backend for them got past the proxy's decision.
import type { Engine } from "../../engine.js";
import type { Resources } from "../../config/types.js";
import { cluster, ROUTER, testEngine } from "../../../../test/support/engine/helpers.js";
import { RawClient, rawBackend, type Forwarded, type RawBackend, type RawReply } from "./harness.js";

const HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

export function hardenedResources(
  backendPort: number,
  hcm: Record<string, unknown> = {},
  listenerFilters: unknown[] = [],
): Resources {
  return {
    version: "1",
    listeners: [
      {
        name: "http",
        address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
        filter_chains: [
          {
            filters: [
              ...listenerFilters,
              {
                name: "envoy.filters.network.http_connection_manager",
                typed_config: {
                  "@type": HCM,
                  stat_prefix: "hardened",
                  rds: { route_config_name: "routes" },
                  http_filters: [ROUTER],
                  normalize_path: true,
                  merge_slashes: true,
                  ...hcm,
                },
              },
            ],
          },
        ],
      },
    ],
    routes: [
      {
        name: "routes",
        virtual_hosts: [
          {
            name: "evil",
            domains: ["evil", "evil:*"],
            routes: [{ match: { prefix: "/" }, direct_response: { status: 403, body: { inline_string: "denied" } } }],
          },
          {
            name: "main",
            domains: ["*"],
            routes: [
              { match: { prefix: "/admin" }, direct_response: { status: 403, body: { inline_string: "denied" } } },
              { match: { prefix: "/" }, route: { cluster: "raw", timeout: "5s" } },
            ],
          },
        ],
      },
    ],
    clusters: [cluster("raw", [backendPort])],
  };
}

export interface Rig {
  engine: Engine;
  port: number;
  backend: RawBackend;
  stop(): Promise<void>;
}

export async function startRig(hcm: Record<string, unknown> = {}, listenerFilters: unknown[] = []): Promise<Rig> {
  const backend = await rawBackend();
  const engine = await testEngine(hardenedResources(backend.port, hcm, listenerFilters));
  return {
    engine,
    port: engine.listenerPort("http"),
    backend,
    stop: async () => {
      await engine.stop();
      await backend.close();
    },
  };
}

export interface Outcome {
  reply: RawReply;
  /** What the backend received for this case (the sentinel excluded). */
  forwarded: Forwarded[];
  malformed: string[];
}

const SENTINEL = "GET /__sentinel HTTP/1.1\r\nHost: sentinel\r\n\r\n";

/**
 * Sends a case's bytes on a fresh connection and reads the first response. Then a sentinel request follows on the
 * same connection if it is still open (so anything the proxy still had queued from the case reaches the backend
 * first), or on a new one: once the sentinel is answered, the backend has seen all the case will ever send.
 */
export async function runCase(rig: Rig, ...pieces: string[]): Promise<Outcome> {
  const from = rig.backend.requests.length;
  const fromBad = rig.backend.malformed.length;
  const c = new RawClient(rig.port);
  const reply = await c.send(...pieces);
  const answered = async (via: RawClient): Promise<boolean> => {
    const before = via.text.length;
    via.socket.write(SENTINEL);
    await via.until(() => via.text.includes("GET /__sentinel", before));
    via.close();
    return via.text.includes("GET /__sentinel", before);
  };
  // On the case's connection the proxy may still close it (over a 400 for queued junk): then on a new one.
  if (!((!c.closed && (await answered(c))) || (await answered(new RawClient(rig.port)))))
    throw new Error("the sentinel got no answer");
  c.close();
  const forwarded = rig.backend.requests.slice(from).filter((r) => r.target !== "/__sentinel");
  return { reply, forwarded, malformed: rig.backend.malformed.slice(fromBad) };
}

export const field = (r: Forwarded, name: string): string[] => r.fields.filter(([k]) => k === name).map(([, v]) => v);
