// A RetryPolicy's retry_priority: Envoy's previous_priorities as Istio's retryRemoteLocalities writes it is taken,
// with its update_frequency; any other extension, field or frequency is refused naming it.
import { compile, ConfigError } from "./index.js";
import type { ForwardAction } from "./types.js";
import { TYPE } from "../../xds/types.js";

const CLUSTER = {
  name: "a",
  type: "STATIC",
  connect_timeout: "0.25s",
  load_assignment: {
    cluster_name: "a",
    endpoints: [
      { lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 9000 } } } }] },
    ],
  },
};
const AT = 'RouteConfiguration "r1": virtual_hosts[0].routes[0].route.retry_policy.retry_priority';
const ISTIO = {
  name: "envoy.retry_priorities.previous_priorities",
  typed_config: { "@type": TYPE.previousPriorities, update_frequency: 2 },
};

const resources = (retryPriority: unknown) => ({
  clusters: [CLUSTER],
  routes: [
    {
      name: "r1",
      virtual_hosts: [
        {
          name: "vh",
          domains: ["*"],
          routes: [
            {
              match: { prefix: "/" },
              route: { cluster: "a", retry_policy: { retry_on: "5xx", retry_priority: retryPriority } },
            },
          ],
        },
      ],
    },
  ],
});

/** The update_frequency the engine took for this retry_priority. */
function taken(retryPriority: unknown): number {
  const rc = compile(resources(retryPriority)).routes.get("r1");
  return (rc?.virtualHosts[0]?.routes[0]?.action as ForwardAction).retry?.previousPriorities ?? -1;
}

/** The NACK's message, without the list of what is supported. */
function refused(retryPriority: unknown): string {
  try {
    compile(resources(retryPriority));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message.replace(/ \([\w.]+ supports .*\)$/, "");
  }
  throw new Error("expected the config to be refused");
}

describe("retry_priority", () => {
  it("takes previous_priorities as Istio writes it, and by its config's type alone", () => {
    expect(taken(ISTIO)).toBe(2);
    expect(taken({ typed_config: { "@type": TYPE.previousPriorities, update_frequency: 1 } })).toBe(1);
    expect(taken(undefined)).toBe(0);
  });

  it("refuses another extension, a field it doesn't read, and an update_frequency Envoy refuses", () => {
    expect(refused({ ...ISTIO, name: "envoy.retry_priorities.other" })).toBe(
      `${AT}.name: envoy.retry_priorities.other: only envoy.retry_priorities.previous_priorities is supported`,
    );
    expect(refused({ ...ISTIO, typed_config: { "@type": TYPE.previousHosts } })).toBe(
      `${AT}.typed_config: envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate: only envoy.retry_priorities.previous_priorities is supported`,
    );
    expect(refused({})).toBe(`${AT}.name: (unnamed): only envoy.retry_priorities.previous_priorities is supported`);
    expect(refused({ ...ISTIO, typed_config: { ...ISTIO.typed_config, extra: 1 } })).toBe(
      `${AT}.typed_config.extra: not supported by this proxy`,
    );
    expect(refused({ ...ISTIO, config: {} })).toBe(`${AT}.config: not supported by this proxy`);
    // Named without a config: the default, 0, which Envoy's validation refuses (update_frequency > 0).
    const range = "must be an integer from 1 to 2147483647";
    expect(refused({ name: ISTIO.name })).toBe(`${AT}.typed_config.update_frequency: ${range}`);
    expect(refused({ ...ISTIO, typed_config: { "@type": TYPE.previousPriorities, update_frequency: -1 } })).toBe(
      `${AT}.typed_config.update_frequency: ${range}`,
    );
    expect(refused({ ...ISTIO, typed_config: { "@type": TYPE.previousPriorities, update_frequency: 1.5 } })).toBe(
      `${AT}.typed_config.update_frequency: ${range}`,
    );
  });
});
