// Reads YAML files with @stoplight/yaml, the YAML 1.2 reader behind @asyncapi/parser,
// and prints what each holds as one JSON array (flowgen's tests compare it with the data written).
const fs = require("fs");
const { parse } = require("@stoplight/yaml");

const out = process.argv.slice(2).map((file) => parse(fs.readFileSync(file, "utf8")));
process.stdout.write(JSON.stringify(out));
