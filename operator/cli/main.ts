#!/usr/bin/env node
// The `weft` command: one binary, several long-running roles.
import { parseArgs } from "node:util";
import { commands, usage } from "./commands.js";

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`weft: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: command.positionals ?? false, strict: true });
  } catch (err) {
    process.stderr.write(`weft ${name}: ${(err as Error).message}\n`);
    return 2;
  }
  return command.run(parsed.values, parsed.positionals);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A role that fails to start may have opened servers already: exit rather than linger.
    const debug = process.env.WEFT_LOG_LEVEL === "debug";
    process.stderr.write(`weft: ${err instanceof Error ? ((debug && err.stack) || err.message) : String(err)}\n`);
    process.exit(1);
  },
);
