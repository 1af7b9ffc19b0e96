// Parse and validate one AsyncAPI document with the official parser, as its own process.
// Usage: NODE_PATH=<tools>/node_modules node asyncapi_parse.cjs FILE
// Exits 1 (printing the errors) when the document has a diagnostic of severity error.
"use strict";

const fs = require("fs");
const { Parser, DiagnosticSeverity } = require("@asyncapi/parser");

async function main(file) {
  const { document, diagnostics } = await new Parser().parse(fs.readFileSync(file, "utf8"));
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  for (const e of errors) process.stderr.write(`${e.path.join("/")}: ${e.message}\n`);
  return document && errors.length === 0 ? 0 : 1;
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
    process.exit(2);
  },
);
