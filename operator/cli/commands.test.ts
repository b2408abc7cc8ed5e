import { commands, usage } from "./commands.js";

describe("weft usage", () => {
  it("lists every command with its summary", () => {
    const text = usage();
    for (const [name, c] of Object.entries(commands)) {
      expect(text).toMatch(new RegExp(`^  ${name} +${c.summary}$`, "m"));
    }
  });
});
