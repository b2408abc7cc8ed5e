// Only engines accept. The agent binds the listening sockets and keeps them across engines, but never takes a
// connection from them: with the engine stopped, new connections wait in the kernel's accept queue (where `ss`
// shows them), not in the agent, and the engine serves each once it runs again. Forks the built engine (dist/).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { Agent } from "./agent.js";
import { ListenSocket } from "./listen-socket.js";
import { backend, cluster, get, resources } from "../../test/support/engine/helpers.js";

const BUILT = join(process.cwd(), "dist/proxy/engine/child.js");

/** Connections waiting to be accepted on 127.0.0.1:port (Recv-Q of the listening socket). */
function acceptQueue(port: number): number {
  const line = execFileSync("ss", ["-Hltn", `sport = :${port}`], { encoding: "utf8" }).trim();
  return Number(line.split(/\s+/)[1] ?? -1);
}

function enginePid(): number {
  const out = execFileSync("pgrep", ["-P", String(process.pid), "-f", "child.js"], { encoding: "utf8" });
  return Number(out.trim().split("\n")[0]);
}

describe("the agent's listening sockets", () => {
  beforeAll(() => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` first`);
  });

  it("are accepted on by the engine only: a stopped engine's connections queue in the kernel, then are served", async () => {
    const b = await backend("b");
    const agent = new Agent({
      resources: resources([{ match: { prefix: "/" }, route: { cluster: "b" } }], [cluster("b", [b.port])]),
      binaryPath: BUILT,
      adminPort: false,
      statsPort: false,
      readyPort: false,
      bindAddress: "127.0.0.1",
      drainMs: 500,
    });
    await agent.start();
    const port = agent.listenerPort("http");
    try {
      expect((await get(port, "/", {}, { agent: false })).status).toBe(200);
      const pid = enginePid();
      process.kill(pid, "SIGSTOP");
      let replies: Promise<number[]>;
      try {
        replies = Promise.all([1, 2, 3].map(() => get(port, "/", {}, { agent: false }).then((r) => r.status)));
        const deadline = Date.now() + 10_000;
        while (acceptQueue(port) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(acceptQueue(port)).toBe(3);
      } finally {
        process.kill(pid, "SIGCONT");
      }
      expect(await replies).toEqual([200, 200, 200]);
      expect(acceptQueue(port)).toBe(0);
    } finally {
      await agent.stop();
      await b.close();
    }
  });

  it("refuse an address in use at bind, naming it (libuv defers that error to listen, which the engine does)", async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen({ host: "127.0.0.1", port: 0 }, resolve));
    const port = (squatter.address() as AddressInfo).port;
    try {
      expect(() => ListenSocket.bind("127.0.0.1", port)).toThrow(`EADDRINUSE 127.0.0.1:${port}`);
    } finally {
      squatter.close();
    }
    const free = ListenSocket.bind("127.0.0.1", 0);
    expect(free.port).toBeGreaterThan(0);
    free.close();
  });
});
