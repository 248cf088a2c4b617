// Parses YAML files with webMUSHRA's own bundled reader (yaml.js, lib/external/yaml/yaml.min.js), as
// webMUSHRA's startup.js does in the browser (YAML.load -> YAML.parse of the file's text).
// Usage: node webmushra_yaml.js YAML_MIN_JS FILE... ; prints one JSON array: each file's parse result.
"use strict";

const fs = require("fs");

const [reader, ...files] = process.argv.slice(2);
const window = {};
new Function("window", fs.readFileSync(reader, "utf8"))(window);  // the bundle sets window.YAML
process.stdout.write(JSON.stringify(files.map((f) => window.YAML.parse(fs.readFileSync(f, "utf8")))) + "\n");
