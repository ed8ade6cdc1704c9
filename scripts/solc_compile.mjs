// Compile a Solidity standard-JSON input with the npm solc (solcjs) package.
// Usage: node scripts/solc_compile.mjs <input.json> <output.json>
// Imports resolve against node_modules/ first, then the project root.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const require = createRequire(path.join(root, "package.json"));
const solc = require("solc");

function findImports(p) {
  for (const base of [path.join(root, "node_modules"), root]) {
    const full = path.join(base, p);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, "utf8") };
  }
  return { error: `File not found: ${p}` };
}

const [inputPath, outputPath] = process.argv.slice(2);
const input = fs.readFileSync(inputPath, "utf8");
const output = solc.compile(input, { import: findImports });
fs.writeFileSync(outputPath, output);
console.error(`solc ${solc.version()}`);
