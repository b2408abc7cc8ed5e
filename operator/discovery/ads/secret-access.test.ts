// The gateway Secret access cache (istiod's Authorize cache): one review per ServiceAccount, not per proxy or push;
// the first answer awaited, later ones asked again on expiry while a proxy of it is connected (the answer in hand
// standing meanwhile), a changed answer announced; a failed review denies a ServiceAccount never answered and keeps
// one answered. The review here is a function standing for the API server's answer (the real one: the
// sds-authz integration suite).
import { until } from "../../../test/support/engine/helpers.js";
import { ALLOWED_TTL_FACTOR, SecretAccess, type ReviewAnswer } from "./secret-access.js";

const silent = { info: () => undefined, warn: () => undefined };

function harness(answer: (user: string) => ReviewAnswer | Error, deniedTtlMs = 40) {
  const asked: string[] = [];
  const changes: string[] = [];
  let connected = true;
  const access = new SecretAccess({
    review: async (user, namespace) => {
      asked.push(`${user} list secrets in ${namespace}`);
      const a = answer(user);
      if (a instanceof Error) throw a;
      return a;
    },
    deniedTtlMs,
    changed: (ns, sa) => changes.push(`${ns}/${sa}`),
    wanted: () => connected,
    log: silent,
  });
  return { access, asked, changes, disconnect: () => (connected = false) };
}

describe("gateway Secret access (SubjectAccessReview cache)", () => {
  it("asks once per ServiceAccount, as system:serviceaccount:<ns>:<sa> in its namespace; the answer comes through changed()", async () => {
    // Answers that outlive the test: on a loaded machine a 40 ms denial would expire, and be asked again, before
    // the checks below.
    const h = harness((u) => ({ allowed: u.endsWith(":gateway") }), 60_000);
    expect(h.access.decision("gateway", "shop")).toBeUndefined(); // asked: its proxies wait for the answer
    expect(h.access.decision("gateway", "shop")).toBeUndefined(); // not asked twice
    expect(h.access.decision("app", "shop")).toBeUndefined();
    await until(() => h.changes.length === 2);
    expect(h.asked).toEqual([
      "system:serviceaccount:shop:gateway list secrets in shop",
      "system:serviceaccount:shop:app list secrets in shop",
    ]);
    expect(h.access.decision("gateway", "shop")).toEqual({ allowed: true });
    expect(h.access.decision("app", "shop")).toEqual({
      allowed: false,
      reason: "app/shop is not authorized to read secrets: no RBAC rule allows it",
    });
    expect(h.asked).toHaveLength(2); // cached
    h.access.close();
  });

  it("asks a denial again after its lifetime while a proxy of it is connected: a Role granted later takes effect", async () => {
    let granted = false;
    const h = harness(() => ({ allowed: granted, reason: granted ? undefined : "forbidden" }));
    h.access.decision("app", "shop");
    await until(() => h.changes.length === 1);
    const denied = h.access.decision("app", "shop");
    expect(denied?.allowed).toBe(false);
    granted = true;
    await until(() => h.changes.length === 2, 2000); // no push, no request: the expiry alone
    expect(h.access.decision("app", "shop")).toEqual({ allowed: true });
    // Allowed is kept five times as long: no review in the denial's lifetime.
    const asked = h.asked.length;
    await new Promise((r) => setTimeout(r, 40 * (ALLOWED_TTL_FACTOR - 2)));
    expect(h.asked.length).toBe(asked);
    h.access.close();
  });

  it("keeps an unchanged answer as the same object (proxies keep their translation) and forgets it with no proxy", async () => {
    const h = harness(() => ({ allowed: false, reason: "forbidden" }));
    h.access.decision("app", "shop");
    await until(() => h.changes.length === 1);
    const first = h.access.decision("app", "shop");
    await until(() => h.asked.length === 2);
    await new Promise((r) => setImmediate(r));
    expect(h.access.decision("app", "shop")).toBe(first);
    expect(h.changes).toHaveLength(1);
    h.disconnect();
    const asked = h.asked.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(h.asked.length).toBe(asked); // expired with nobody connected: not asked, forgotten
    expect(h.access.decision("app", "shop")).toBeUndefined(); // asked anew for the next proxy
    h.access.close();
  });

  it("fails closed for a ServiceAccount never answered; an outage keeps the last answer", async () => {
    let down = true;
    const h = harness(() => (down ? new Error("connect ECONNREFUSED") : { allowed: true }));
    h.access.decision("gateway", "shop");
    await until(() => h.changes.length === 1);
    expect(h.access.decision("gateway", "shop")).toEqual({
      allowed: false,
      reason: "gateway/shop is not authorized to read secrets: SubjectAccessReview failed: connect ECONNREFUSED",
    });
    down = false;
    await until(() => h.changes.length === 2);
    const allowed = h.access.decision("gateway", "shop");
    expect(allowed).toEqual({ allowed: true });
    down = true;
    const asked = h.asked.length;
    await until(() => h.asked.length > asked, 2000);
    await new Promise((r) => setImmediate(r));
    expect(h.access.decision("gateway", "shop")).toBe(allowed);
    expect(h.changes).toHaveLength(2);
    h.access.close();
  });
});
