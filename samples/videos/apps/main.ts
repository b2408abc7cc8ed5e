// One videos app as a process:
//   node dist/samples/videos/apps/main.js APP VERSION LISTEN_HOST:PORT PROXY_HOST:PORT REDIS_HOST:PORT
// APP is videos-web, playlists-api or videos-api. PROXY `direct` calls the other apps by their Service names (in
// pods, where the sidecar captures the traffic). FLAKY=true in the environment makes videos-api fail every third
// request. Serves until SIGTERM/SIGINT.
import { serve } from "../../bookinfo/apps/http.js";
import { handlerFor, seed, type AppContext } from "./apps.js";
import { Redis } from "./redis.js";

const [app, version, listen, proxy, redisAt] = process.argv.slice(2);
if (!app || !version || !listen || !proxy || !redisAt) {
  process.stderr.write("usage: main.js APP VERSION LISTEN_HOST:PORT PROXY_HOST:PORT REDIS_HOST:PORT\n");
  process.exit(2);
}
const [rh, rp] = redisAt.split(":");
const ctx: AppContext = {
  app,
  version,
  proxy,
  redis: new Redis(rh ?? "127.0.0.1", Number(rp ?? 6379)),
  flaky: process.env.FLAKY === "true",
};
// Redis (and the sidecar in front of it) may come up after this app: seed once it answers, then serve.
for (let tries = 0; ; tries++) {
  try {
    await seed(ctx);
    break;
  } catch (err) {
    if (tries === 300) throw err;
    await new Promise((r) => setTimeout(r, 200));
  }
}
const [host, port] = listen.split(":");
const server = await serve(handlerFor(ctx), host ?? "127.0.0.1", Number(port));
process.stderr.write(`videos ${app}-${version}: listening on ${listen}, redis ${redisAt}, flaky ${ctx.flaky}\n`);
const stop = (): void => {
  ctx.redis.close();
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
