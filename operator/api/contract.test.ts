import { commandLine, parseRole, readCommandLine, roleHelp, UsageError, type Role } from "./contract.js";

const role = {
  name: "demo",
  summary: "a demo role",
  example: "weft demo --port 80",
  flags: {
    port: { type: "port", default: 15000, description: "the port" },
    wait: { type: "duration", default: "2s", description: "how long" },
    mode: { type: "string", choices: ["A", "B"], default: "A", description: "the mode" },
    name: { type: "string", env: "DEMO_NAME", description: "a name" },
    on: { type: "boolean", default: true, description: "switch" },
    level: { type: "int", min: -1, description: "a level" },
  },
} as const satisfies Role;

describe("a role's contract", () => {
  it("parses flags to typed values, with defaults, env, and --no-", () => {
    const v = parseRole(role, ["--port", "80", "--wait=1m", "--no-on", "--level=-1"], { DEMO_NAME: "from-env" });
    expect(v).toEqual({ port: 80, wait: 60_000, mode: "A", name: "from-env", on: false, level: -1 });
    expect(parseRole(role, ["--name", "flag"], { DEMO_NAME: "env" }).name).toBe("flag");
    expect(parseRole(role, [], {}).name).toBeUndefined();
  });

  it.each([
    [["sidecar"], /Unexpected argument 'sidecar'/],
    [["--bogus"], /Unknown option '--bogus'/],
    [["--port", "70000"], /--port: invalid value "70000"/],
    [["--wait", "soon"], /--wait: invalid value "soon" \(want a duration/],
    [["--mode", "C"], /--mode: .*want one of A, B/],
    [["--level=-2"], /--level: .*≥ -1/],
    [["--on", "--no-on"], /contradict/],
  ])("refuses %j with a message naming the problem", (argv, message) => {
    expect(() => parseRole(role, argv, {})).toThrow(UsageError);
    expect(() => parseRole(role, argv, {})).toThrow(message);
  });

  it("names the env var when its value is bad", () => {
    expect(() =>
      parseRole({ ...role, flags: { p: { type: "port", env: "P", description: "" } } }, [], { P: "x" }),
    ).toThrow('$P (for --p): invalid value "x"');
  });

  it("renders a command line in declaration order that parses back to the same values", () => {
    const line = commandLine(role, { level: 3, on: false, port: 8080, wait: "500ms" });
    expect(line).toEqual(["demo", "--port", "8080", "--wait", "500ms", "--no-on", "--level", "3"]);
    expect(parseRole(role, line.slice(1))).toMatchObject({ port: 8080, wait: 500, on: false, level: 3 });
    expect(commandLine(role, readCommandLine(role, line))).toEqual(line);
    expect(commandLine(role, { level: -1 })).toEqual(["demo", "--level=-1"]);
  });

  it("refuses to render a value the command would refuse", () => {
    expect(() => commandLine(role, { port: 123456 })).toThrow("--port");
  });

  it("--help shows the summary, each flag with its description, default and env, and the example", () => {
    const help = roleHelp(role);
    expect(help).toMatch(/^weft demo: a demo role$/m);
    expect(help).toMatch(/^ {2}--port port +the port \(default 15000\)$/m);
    expect(help).toMatch(/^ {2}--name string +a name \(env \$DEMO_NAME\)$/m);
    expect(help).toMatch(/^ {2}--mode A\|B +the mode \(default A\)$/m);
    expect(help).toMatch(/^ {2}--on +switch \(default true; --no-on turns it off\)$/m);
    expect(help).toMatch(/^Example:\n {2}weft demo --port 80$/m);
  });
});
