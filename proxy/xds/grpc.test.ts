// The agent's gRPC client against grpc-js's server (the one discovery runs): messages that span HTTP/2 frames and
// frames that hold several, the status and its message as the server set them, the size limit, and the deadline.
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { Server, ServerCredentials, status, type ServerDuplexStream, type ServerUnaryCall } from "@grpc/grpc-js";
import { GrpcChannel, GrpcError, Status } from "./grpc.js";

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const service = {
  Echo: {
    path: "/test.T/Echo",
    requestStream: true,
    responseStream: true,
    requestSerialize: raw.serialize,
    requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize,
    responseDeserialize: raw.deserialize,
  },
  Fail: {
    path: "/test.T/Fail",
    requestStream: false,
    responseStream: false,
    requestSerialize: raw.serialize,
    requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize,
    responseDeserialize: raw.deserialize,
  },
};

let server: Server;
let address: string;

beforeAll(async () => {
  server = new Server();
  server.addService(service, {
    // Answers each message with it and a 3 MB one, then ends OK when the client ends.
    Echo: (call: ServerDuplexStream<Buffer, Buffer>) => {
      call.on("data", (m: Buffer) => {
        if (m.toString() === "hang") return;
        if (m.toString() === "big") return void call.write(Buffer.alloc(48 << 20, 9));
        call.write(m);
        call.write(Buffer.alloc(3 << 20, 7));
      });
      call.on("end", () => call.end());
    },
    Fail: (_call: ServerUnaryCall<Buffer, Buffer>, cb: (e: { code: number; details: string }) => void) =>
      cb({ code: status.PERMISSION_DENIED, details: "not you: 100% sure, ü" }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(() => server.forceShutdown());

function collect(ch: GrpcChannel, path: string, send: string[], deadlineMs?: number) {
  const call = ch.call(path, { deadlineMs });
  const got: Buffer[] = [];
  call.onMessage = (m) => got.push(Buffer.from(m));
  const done = new Promise<{ code: number; details: string }>((r) => (call.onStatus = r));
  for (const m of send) call.write(Buffer.from(m));
  return { call, got, done };
}

describe("GrpcChannel (the agent's gRPC client)", () => {
  it("reads whole messages across HTTP/2 frames, in order, then the server's OK", async () => {
    const ch = new GrpcChannel(address);
    const { call, got, done } = collect(ch, "/test.T/Echo", ["a", "bb"]);
    while (got.length < 4) await new Promise((r) => setImmediate(r));
    call.end();
    expect(await done).toEqual({ code: Status.OK, details: "OK" });
    expect(got.map((m) => m.length)).toEqual([1, 3 << 20, 2, 3 << 20]);
    expect(got[2]!.toString()).toBe("bb");
    expect(got[1]!.equals(Buffer.alloc(3 << 20, 7))).toBe(true);
    ch.close();
  });

  it("ends a call RESOURCE_EXHAUSTED on a message over its limit", async () => {
    const ch = new GrpcChannel(address, { maxMessageBytes: 1 << 20 });
    const { done } = collect(ch, "/test.T/Echo", ["a"]);
    expect((await done).code).toBe(Status.RESOURCE_EXHAUSTED);
    ch.close();
  });

  it("rejects a unary call with the server's code and message, percent-decoded", async () => {
    const ch = new GrpcChannel(address);
    const err = await ch.unary("/test.T/Fail", Buffer.from("x")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrpcError);
    expect({ ...(err as GrpcError) }).toEqual({ code: status.PERMISSION_DENIED, details: "not you: 100% sure, ü" });
    ch.close();
  });

  it("ends a call DEADLINE_EXCEEDED at its deadline, and a call to nowhere UNAVAILABLE", async () => {
    const ch = new GrpcChannel(address);
    const { done } = collect(ch, "/test.T/Echo", ["hang"], 200);
    expect((await done).code).toBe(Status.DEADLINE_EXCEEDED);
    ch.close();
    const nowhere = new GrpcChannel("127.0.0.1:1");
    expect((await collect(nowhere, "/test.T/Echo", ["a"]).done).code).toBe(Status.UNAVAILABLE);
    nowhere.close();
  });
});

it("takes a large message in time linear in its size (a 48 MiB push arrives in well under a second or two)", async () => {
  const ch = new GrpcChannel(address);
  const started = performance.now();
  const { call, got } = collect(ch, "/test.T/Echo", ["big"]);
  while (!got.length) await new Promise((r) => setTimeout(r, 10));
  const ms = performance.now() - started;
  call.cancel();
  ch.close();
  expect(got[0]!.length).toBe(48 << 20);
  expect(ms).toBeLessThan(3000);
}, 60_000);

it("drops a connection whose server stops answering (its host gone, no FIN): the call ends UNAVAILABLE", async () => {
  // A TCP relay to the server that, once cut, swallows everything both ways, as a vanished host does.
  let cut = false;
  const sockets: Socket[] = [];
  const relay = createServer((down) => {
    const [host, port] = address.split(":");
    const up = connect(Number(port), host);
    sockets.push(down, up);
    down.on("data", (d: Buffer) => cut || up.write(d));
    up.on("data", (d: Buffer) => cut || down.write(d));
    down.on("error", () => undefined);
    up.on("error", () => undefined);
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
  const via = `127.0.0.1:${(relay.address() as AddressInfo).port}`;
  // keepaliveTimeoutMs also bounds the HTTP/2 handshake (twice it): 200 ms failed there once on a loaded machine.
  const ch = new GrpcChannel(via, { keepaliveMs: 100, keepaliveTimeoutMs: 1000 });
  const { got, done } = collect(ch, "/test.T/Echo", ["a"]);
  // The first message proves the connection carries calls. (Waiting for the 3 MB one too hung a loaded machine: a
  // PING could go unanswered for 200 ms behind it, ending the call before it came, as the assertion below expects.)
  let ended = false;
  void done.then(() => (ended = true));
  while (!got.length && !ended) await new Promise((r) => setTimeout(r, 5));
  cut = true;
  expect(await done).toMatchObject({ code: Status.UNAVAILABLE, details: "keepalive PING unanswered" });
  // And a server that never completes the HTTP/2 handshake.
  const mute = new GrpcChannel(via, { keepaliveTimeoutMs: 100 });
  expect(await collect(mute, "/test.T/Echo", ["a"]).done).toMatchObject({ code: Status.UNAVAILABLE });
  ch.close();
  mute.close();
  for (const x of sockets) x.destroy();
  await new Promise((r) => relay.close(r));
}, 20_000); // its timeouts are 100-200 ms; a loaded machine took over jest's 5 s default once
