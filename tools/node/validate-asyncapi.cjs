#!/usr/bin/env node
// Validate AsyncAPI documents with the official parser (@asyncapi/parser).
//
// Usage: node validate-asyncapi.cjs FILE...
// Prints one JSON object: {"FILE": [{"severity", "code", "message", "path"}, ...], ...}
// and exits 1 when any document has a diagnostic of severity "error" (or cannot
// be read), 0 otherwise. Modules come from NODE_PATH (the test suite points it
// at tools/node/node_modules), so the script runs from any checkout.
"use strict";

const fs = require("fs");
const path = require("path");
const { Parser, DiagnosticSeverity } = require("@asyncapi/parser");

const SEVERITY = {
  [DiagnosticSeverity.Error]: "error",
  [DiagnosticSeverity.Warning]: "warning",
  [DiagnosticSeverity.Information]: "information",
  [DiagnosticSeverity.Hint]: "hint",
};

async function validate(parser, file) {
  const source = fs.readFileSync(file, "utf8");
  const { diagnostics } = await parser.parse(source, { source: path.resolve(file) });
  return diagnostics.map((d) => ({
    severity: SEVERITY[d.severity] || String(d.severity),
    code: String(d.code),
    message: d.message,
    path: d.path.join("/"),
  }));
}

async function main(files) {
  if (files.length === 0) {
    process.stderr.write("usage: node validate-asyncapi.cjs FILE...\n");
    return 2;
  }
  const parser = new Parser();
  const report = {};
  let failed = false;
  for (const file of files) {
    try {
      report[file] = await validate(parser, file);
    } catch (err) {
      report[file] = [{ severity: "error", code: "unreadable", message: String(err), path: "" }];
    }
    failed = failed || report[file].some((d) => d.severity === "error");
  }
  process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
    process.exit(2);
  },
);
