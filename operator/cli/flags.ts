// Flag value parsing shared by the commands, with errors that name the flag.
import { hostname } from "node:os";
import pino, { type Logger } from "pino";
import { durationSeconds } from "../discovery/model/duration.js";

/** "1.5s", "10m", "250ms", "1h30m" (Go's duration syntax, as Istio writes them) → milliseconds. */
export function parseDuration(flag: string, value: string): number {
  const seconds = durationSeconds(value);
  if (seconds === undefined) throw new Error(`--${flag}: invalid duration "${value}" (want e.g. 500ms, 15s, 10m)`);
  return seconds * 1000;
}

export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

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
