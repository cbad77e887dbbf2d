// Builds the vendored CodeMirror 6 bundle served by the challenges app:
//   challenges/static/challenges/vendor/codemirror/codemirror.bundle.js
// and copies the LICENSE of every npm package that ends up inside it.
// Usage: cd frontend && npm ci && npm run build
import { build } from "esbuild";
import { mkdir, readFile, writeFile, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, "../challenges/static/challenges/vendor/codemirror");
const outFile = path.join(outDir, "codemirror.bundle.js");

const pkg = JSON.parse(await readFile(path.join(here, "package.json"), "utf8"));
const cmViewVersion = JSON.parse(
  await readFile(path.join(here, "node_modules/@codemirror/view/package.json"), "utf8"),
).version;

await mkdir(outDir, { recursive: true });
const result = await build({
  entryPoints: [path.join(here, "src/editor.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  platform: "browser",
  legalComments: "none",
  metafile: true,
  outfile: outFile,
  define: { "__VERSION__": JSON.stringify(`cm-view-${cmViewVersion}`) },
  banner: {
    js: `/*! learnpath CodeMirror 6 bundle (${Object.entries(pkg.dependencies)
      .map(([n, v]) => `${n}@${v}`).join(", ")}). MIT licensed; see LICENSE files beside this file. Rebuild: cd frontend && npm ci && npm run build */`,
  },
});

// Which npm packages went into the bundle? Read them from esbuild's metafile.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (!m) continue;
  const name = m[1];
  if (packages.has(name)) continue;
  const dir = path.join(here, "node_modules", name);
  const meta = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8"));
  packages.set(name, { dir, version: meta.version, license: meta.license });
}

const licensesDir = path.join(outDir, "licenses");
await rm(licensesDir, { recursive: true, force: true });
await mkdir(licensesDir, { recursive: true });
const names = [...packages.keys()].sort();
let notice = "Third-party software bundled in codemirror.bundle.js\n" +
  "=====================================================\n\n";
for (const name of names) {
  const { dir, version, license } = packages.get(name);
  let text;
  for (const f of ["LICENSE", "LICENSE.md", "LICENSE.txt", "license"]) {
    try { text = await readFile(path.join(dir, f), "utf8"); break; } catch { /* try next */ }
  }
  if (!text) throw new Error(`No LICENSE file found for bundled package ${name}`);
  if (license !== "MIT") throw new Error(`Unexpected licence ${license} for ${name}; review before vendoring`);
  const fileName = `${name.replace("@", "").replace("/", "__")}.LICENSE`;
  await writeFile(path.join(licensesDir, fileName), text);
  notice += `${name}@${version} (${license})\n${"-".repeat(name.length + version.length + license.length + 4)}\n${text.trim()}\n\n`;
}
await writeFile(path.join(outDir, "LICENSE"), notice);
await writeFile(
  path.join(outDir, "packages.json"),
  JSON.stringify(Object.fromEntries(names.map((n) => [n, packages.get(n).version])), null, 2) + "\n",
);

const bytes = (await readFile(outFile)).length;
console.log(`wrote ${path.relative(process.cwd(), outFile)} (${(bytes / 1024).toFixed(1)} KiB), ${names.length} packages: ${names.join(", ")}`);
