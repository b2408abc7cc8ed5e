// Istio's retryRemoteLocalities through the engine: the retry policy discovery renders for a VirtualService, and a
// cluster whose nearest locality (priority 0) has one host, answering 503, and whose failover locality (priority 1)
// has a healthy one. Priority 0 is fully healthy, so it takes all the load: previous_hosts alone can't leave it (no
// other host there), so only previous_priorities takes a retry to priority 1.
import { retryPolicy } from "../../../operator/discovery/translate/actions.js";
import { cluster, engineHarness, get } from "../../../test/support/engine/helpers.js";
import { TYPE } from "../../xds/types.js";

const endpoint = (port: number) => ({
  endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } },
});

describe("retry_priority previous_priorities (Istio's retryRemoteLocalities) through the engine", () => {
  const { up, engineFor } = engineHarness();

  async function setup() {
    const near = await up("near", (_req, res) => res.writeHead(503).end("near"));
    const far = await up("far", (_req, res) => res.writeHead(200).end("far"));
    const policy = (path: string, retries: Parameters<typeof retryPolicy>[0]) => ({
      match: { prefix: path },
      route: { cluster: "zones", retry_policy: retryPolicy(retries, false) },
    });
    const frequency = (n: number) => ({
      ...retryPolicy({ attempts: 1, retryOn: "503" }, false),
      retry_priority: { typed_config: { "@type": TYPE.previousPriorities, update_frequency: n } },
    });
    const { engine, port } = await engineFor(
      [
        policy("/remote", { attempts: 2, retryOn: "503", retryRemoteLocalities: true }),
        policy("/local", { attempts: 2, retryOn: "503" }),
        { match: { prefix: "/every" }, route: { cluster: "zones", retry_policy: frequency(1) } },
      ],
      [
        {
          ...cluster("zones", []),
          load_assignment: {
            cluster_name: "zones",
            endpoints: [
              { locality: { region: "r", zone: "near" }, lb_endpoints: [endpoint(near.port)] },
              { locality: { region: "r", zone: "far" }, priority: 1, lb_endpoints: [endpoint(far.port)] },
            ],
          },
        },
      ],
    );
    /** The reply to `path` and which hosts its attempts went to. */
    const send = async (path: string) => {
      near.hits = 0;
      far.hits = 0;
      const r = await get(port, path);
      return { status: r.status, body: r.body, near: near.hits, far: far.hits };
    };
    return { engine, send };
  }

  it("sends the third attempt to the failover locality, where without it all three go to the failing one", async () => {
    const { engine, send } = await setup();
    // Without: every attempt goes to priority 0 (all of the load), previous_hosts finding no other host there.
    expect(await send("/local")).toEqual({ status: 503, body: "near", near: 3, far: 0 });
    // With Istio's update_frequency 2: attempts 1 and 2 use the cluster's loads; the 3rd leaves priority 0 out.
    expect(await send("/remote")).toEqual({ status: 200, body: "far", near: 2, far: 1 });
    // update_frequency 1: the first retry already leaves it out.
    expect(await send("/every")).toEqual({ status: 200, body: "far", near: 1, far: 1 });
    expect(engine.statsText()).toContain("cluster.zones.upstream_rq_retry: 5");
  });
});
