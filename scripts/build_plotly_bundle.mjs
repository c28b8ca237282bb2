// Builds the dashboards' partial plotly widget bundle (run by scripts/build_plotly_bundle.py,
// with the working directory holding node_modules with plotly.js, esbuild and acorn).
//
// Why a splice and not a rebuild of plotly's widget: the widget's front-end code (its
// FigureModel/FigureView, which must match the installed Python plotly's messages) ships only
// as the built `plotly/package_data/widgetbundle.js`, with all of plotly.js inside as one
// CommonJS module. This script bundles plotly.js's core with only the trace modules the
// charts use (plotly.js's own custom-bundle recipe: lib/core + lib/<trace>), and puts it in
// place of that module, so the widget code is byte for byte the installed one.
//
//   node build_plotly_bundle.mjs --widget WIDGETBUNDLE.js --plotly-js 4.1.1 \
//        --traces bar,funnel,heatmap,scatter --plotly-py 7.1.0 --out OUT.js

import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.cwd(), "package.json"));
const esbuild = require("esbuild");
const acorn = require("acorn");

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, "")] = argv[i + 1];
  for (const k of ["widget", "plotly-js", "traces", "plotly-py", "out"]) {
    if (!out[k]) throw new Error(`missing --${k}`);
  }
  return out;
}

const opt = args(process.argv.slice(2));
const traces = opt.traces.split(",").map((t) => t.trim()).filter(Boolean).sort();
const installed = require("plotly.js/package.json").version;
if (installed !== opt["plotly-js"]) {
  throw new Error(`node_modules has plotly.js ${installed}, the pin is ${opt["plotly-js"]}`);
}

// 1. plotly.js with only these traces (scatter is part of core and always there).
const entry = [
  "var Plotly = require('plotly.js/lib/core');",
  `Plotly.register([${traces.filter((t) => t !== "scatter").map((t) => `require('plotly.js/lib/${t}')`).join(", ")}]);`,
  "module.exports = Plotly;",
].join("\n");
const built = await esbuild.build({
  stdin: { contents: entry, resolveDir: process.cwd(), loader: "js" },
  bundle: true,
  write: false,
  format: "iife",
  globalName: "Plotly",
  target: "es2016",
  // As plotly.js's own esbuild-config.js; CSS is only maplibre's, required by map traces alone.
  define: { global: "window", "define.amd": "false", "process.env.NODE_DEBUG": "false" },
  alias: { stream: "stream-browserify", regl: "@plotly/regl" },
  loader: { ".css": "empty" },
  logLevel: "warning",
});
// Minified as a second step so the module keys ("node_modules/plotly.js/src/traces/bar/index.js")
// stay in the file as strings: the bundle names the trace modules it carries (tests read them).
const partial = (await esbuild.transform(built.outputFiles[0].text, { minify: true, target: "es2016" })).code;
for (const t of traces) {
  if (!partial.includes(`"node_modules/plotly.js/src/traces/${t}/index.js"`)) {
    throw new Error(`trace ${t} is missing from the partial bundle`);
  }
}

// 2. Find plotly.js inside the installed widget bundle: the top-level `var X = cjs((exports,
//    module) => {...})` whose body holds plotly.js's src/version.js.
const widget = readFileSync(opt.widget, "utf8");
const marker = widget.indexOf('"src/version.js"');
if (marker < 0) throw new Error("plotly.js not found in the widget bundle");
const ast = acorn.parse(widget, { ecmaVersion: "latest", sourceType: "module" });
let body = null;
let moduleParam = null;
for (const stmt of ast.body) {
  if (stmt.type !== "VariableDeclaration" || stmt.start > marker || stmt.end < marker) continue;
  for (const d of stmt.declarations) {
    const fn = d.init && d.init.type === "CallExpression" && d.init.arguments[0];
    if (fn && fn.type === "ArrowFunctionExpression" && fn.params.length === 2 && fn.body.type === "BlockStatement"
        && fn.body.start < marker && marker < fn.body.end) {
      body = fn.body;
      moduleParam = fn.params[1].name;
    }
  }
}
if (!body) throw new Error("plotly.js's module wrapper not found in the widget bundle");
const old = widget.slice(body.start, body.end);
const oldVersion = /\.version="([0-9.]+)"/.exec(old.slice(old.indexOf('"src/version.js"')));
if (!oldVersion || oldVersion[1] !== opt["plotly-js"]) {
  throw new Error(`the widget bundle carries plotly.js ${oldVersion && oldVersion[1]}, the pin is ${opt["plotly-js"]}`);
}

const banner = `/* octopus: plotly's widget (plotly ${opt["plotly-py"]}, package_data/widgetbundle.js) with a partial `
  + `plotly.js ${opt["plotly-js"]} (MIT, Plotly, Inc.) holding the traces ${traces.join(", ")}. `
  + "Rebuilt by scripts/build_plotly_bundle.py. */\n";
const result = banner + widget.slice(0, body.start)
  + `{${partial}\n${moduleParam}.exports=Plotly;}` + widget.slice(body.end);
writeFileSync(opt.out, result);
console.log(`${opt.out}: ${result.length} bytes (installed widget bundle ${widget.length}; plotly.js part ${old.length} -> ${partial.length})`);
