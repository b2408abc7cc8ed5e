import { parseRole } from "../../operator/api/contract.js";
import { initRole } from "../../operator/api/roles.js";
import { captureRules, parseCaptureOptions } from "./rules.js";

const options = (argv: string[] = []) => parseCaptureOptions(parseRole(initRole, argv));

describe("weft init's capture rules (Istio's REDIRECT mode)", () => {
  it("sends inbound TCP to 15006 and outbound to 15001, exempting the proxy's UID/GID, loopback and its own ports", () => {
    const rules = captureRules(options()).split("\n");
    expect(rules[0]).toBe("*nat");
    expect(rules).toContain("-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001");
    expect(rules).toContain("-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006");
    for (const p of [15006, 15090, 15021, 15020])
      expect(rules).toContain(`-A ISTIO_INBOUND -p tcp --dport ${p} -j RETURN`);
    expect(rules).toContain("-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN");
    expect(rules).toContain("-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN");
    expect(rules).toContain("-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN");
    // Order matters: every exemption comes before the catch-all redirects.
    expect(rules.indexOf("-A ISTIO_OUTPUT -j ISTIO_REDIRECT")).toBeGreaterThan(
      rules.indexOf("-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN"),
    );
    expect(rules.indexOf("-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT")).toBeGreaterThan(
      rules.indexOf("-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN"),
    );
    expect(rules).toEqual(
      expect.arrayContaining(["-A PREROUTING -p tcp -j ISTIO_INBOUND", "-A OUTPUT -p tcp -j ISTIO_OUTPUT", "COMMIT"]),
    );
  });

  it("captures only the listed ports and CIDRs when given, and leaves out excluded ones", () => {
    const rules = captureRules(
      options([
        "--inbound-ports",
        "9080,8080",
        "--outbound-cidrs",
        "10.96.0.0/12",
        "--exclude-outbound-cidrs",
        "10.96.0.1",
        "--exclude-outbound-ports",
        "5432",
        "--proxy-uid",
        "1001",
      ]),
    );
    expect(rules).toContain(
      "-A ISTIO_INBOUND -p tcp --dport 9080 -j ISTIO_IN_REDIRECT\n-A ISTIO_INBOUND -p tcp --dport 8080 -j ISTIO_IN_REDIRECT",
    );
    expect(rules).not.toContain("-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT");
    expect(rules).toContain("-A ISTIO_OUTPUT -d 10.96.0.0/12 -j ISTIO_REDIRECT");
    expect(rules).not.toContain("-A ISTIO_OUTPUT -j ISTIO_REDIRECT");
    expect(rules).toContain("-A ISTIO_OUTPUT -d 10.96.0.1/32 -j RETURN");
    expect(rules).toContain("-A ISTIO_OUTPUT -p tcp --dport 5432 -j RETURN");
    expect(rules).toContain("--uid-owner 1001");
  });

  it("leaves out the jumps a previous run already added (an init container restarted in the same pod)", () => {
    const again = captureRules(
      options(),
      "*nat\n-A PREROUTING -p tcp -j ISTIO_INBOUND\n-A OUTPUT -p tcp -j ISTIO_OUTPUT\nCOMMIT\n",
    );
    expect(again).not.toContain("-A PREROUTING");
    expect(again).not.toContain("-A OUTPUT ");
    expect(again).toContain(":ISTIO_OUTPUT - [0:0]"); // declared: iptables-restore --noflush empties our chains first
  });

  it.each([
    [["--exclude-inbound-ports", "15021,http"], '--exclude-inbound-ports: "http" is not a port'],
    [["--inbound-ports", "0"], '--inbound-ports: "0" is not a port'],
    [["--outbound-cidrs", "10.0.0.0/33"], '--outbound-cidrs: "10.0.0.0/33" is not an IPv4 CIDR'],
    [["--exclude-outbound-cidrs", "fd00::/8"], '--exclude-outbound-cidrs: "fd00::/8" is not an IPv4 CIDR'],
  ])("refuses %j, naming the flag", (argv, message) => {
    expect(() => options(argv)).toThrow(message);
  });
});
