import { missingPrograms, parseWorkloads } from "./workloads.js";

describe("a workload whose program isn't installed", () => {
  const file = parseWorkloads(
    `workloads:
- { name: redis, port: 6379, protocol: TCP, install: "apt-get install redis-server", command: [redis-server, --port, "{port}"] }
- { name: web, port: 9080, command: [node, app.js] }
`,
    "weft.local.yaml",
  );

  it("is named with its install hint, before anything starts; node and installed programs pass", () => {
    expect(missingPrograms(file.workloads, () => false)).toEqual([
      "redis-v1: redis-server is not installed; install it: apt-get install redis-server",
    ]);
    expect(missingPrograms(file.workloads, (p) => p === "redis-server")).toEqual([]);
  });
});
