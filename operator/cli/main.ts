#!/usr/bin/env node
// The `weft` command: one binary, several long-running roles.
import { roleHelp, UsageError } from "../api/contract.js";
import { commands, usage } from "./commands.js";

const HELP = ["--help", "-h", "help"];

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || HELP.includes(name)) {
    const topic = name ? commands[rest[0] ?? ""] : undefined;
    process.stdout.write(topic ? roleHelp(topic.role) : usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`weft: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.some((a) => a === "--help" || a === "-h")) {
    process.stdout.write(roleHelp(command.role));
    return 0;
  }
  try {
    return await command.start(rest, process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw new CommandError(name, err);
    process.stderr.write(`weft ${name}: ${err.message} ('weft ${name} --help' lists the flags)\n`);
    return 2;
  }
}

/** A command that failed: its name and the cause, printed as one line. */
class CommandError extends Error {
  constructor(
    readonly command: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A role that fails to start may have opened servers already: exit rather than linger.
    const debug = process.env.WEFT_LOG_LEVEL === "debug";
    const cause = err instanceof CommandError ? err.cause : err;
    const where = err instanceof CommandError ? `weft ${err.command}` : "weft";
    const text = cause instanceof Error ? (debug && cause.stack) || cause.message : String(cause);
    // One line naming the problem; the stack only with WEFT_LOG_LEVEL=debug.
    process.stderr.write(`${where}: ${debug ? text : text.split("\n")[0]}\n`);
    process.exit(1);
  },
);
