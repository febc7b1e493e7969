import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";

export default tseslint.config(
  { ignores: ["dist", "src/bindings.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.{ts,tsx}"],
    languageOptions: { globals: globals.browser },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      // Only backend.ts may talk to Tauri; screens go through it.
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["@tauri-apps/*", "./bindings", "../bindings"], message: "Import from backend.ts instead." }] },
      ],
    },
  },
  { files: ["src/backend.ts"], rules: { "no-restricted-imports": "off" } },
);
