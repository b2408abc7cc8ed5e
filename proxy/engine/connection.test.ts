import { createServer, connect, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { describeConnection } from "./connection.js";

/** A server-side socket on 127.0.0.1, and the client's. */
async function pair(): Promise<{ server: Server; port: number; accepted: Socket; client: Socket }> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const client = connect(port, "127.0.0.1");
  const [accepted] = (await once(server, "connection")) as [Socket];
  return { server, port, accepted, client };
}

describe("a connection's facts", () => {
  it("are the socket's own addresses: the client's, and where it connected", async () => {
    const { server, port, accepted, client } = await pair();
    const info = describeConnection(accepted);
    expect(info.remoteIp).toBe("127.0.0.1");
    expect([info.localIp, info.localPort]).toEqual(["127.0.0.1", port]);
    expect(info.sni).toBeUndefined();
    client.destroy();
    server.close();
  });

  it("are the original destination's when the connection was redirected", async () => {
    const { server, accepted, client } = await pair();
    const info = describeConnection(accepted, { address: "10.1.2.3", port: 9080 });
    expect([info.localIp, info.localPort]).toEqual(["10.1.2.3", 9080]);
    client.destroy();
    server.close();
  });
});
