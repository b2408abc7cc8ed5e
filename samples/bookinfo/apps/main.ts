// One Bookinfo app as a process: `node dist/samples/bookinfo/apps/main.js APP VERSION LISTEN_HOST:PORT PROXY_HOST:PORT`.
// PROXY `direct` calls the other apps by their Service names (in pods, where the sidecar captures the traffic).
// It serves until SIGTERM/SIGINT, then closes its server and exits.
import { handlerFor } from "./apps.js";
import { serve } from "./http.js";

const [app, version, listen, proxy] = process.argv.slice(2);
if (!app || !version || !listen || !proxy) {
  process.stderr.write("usage: main.js APP VERSION LISTEN_HOST:PORT PROXY_HOST:PORT\n");
  process.exit(2);
}
const [host, port] = listen.split(":");
const server = await serve(handlerFor({ app, version, proxy }), host ?? "127.0.0.1", Number(port));
process.stderr.write(`bookinfo ${app}-${version}: listening on ${listen}, calling through ${proxy}\n`);
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
