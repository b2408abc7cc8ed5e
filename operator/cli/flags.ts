// Helpers shared by the long-running commands: logging, identity, signals.
import { hostname } from "node:os";
import pino, { type Logger } from "pino";

export function logger(name: string, level: string | undefined): Logger {
  return pino({ name, level: level ?? process.env.WEFT_LOG_LEVEL ?? "info", base: { pid: process.pid } });
}

export const defaultIdentity = () => `${hostname()}_${process.pid}`;

/** Resolves on the first SIGTERM or SIGINT; a second one exits at once. */
export function terminated(log: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (sig: NodeJS.Signals) => {
      log.info({ signal: sig }, "shutting down");
      process.removeListener("SIGTERM", handler).removeListener("SIGINT", handler);
      process.once("SIGTERM", () => process.exit(1)).once("SIGINT", () => process.exit(1));
      resolve(sig);
    };
    process.on("SIGTERM", handler).on("SIGINT", handler);
  });
}
