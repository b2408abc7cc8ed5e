import js from "@eslint/js";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", ".weft/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  // Generated from protos: an empty message is an empty object type, which still rejects unknown fields in literals.
  { files: ["proxy/xds/generated/**/*.ts"], rules: { "@typescript-eslint/no-empty-object-type": "off" } },
  { files: ["**/*.js"], languageOptions: { globals: { process: "readonly", console: "readonly" } } },
  // Formatting is Prettier's (`npm run format`); `npm run lint` fails on unformatted code.
  prettier,
);
