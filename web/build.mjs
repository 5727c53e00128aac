// Bundle tus-js-client for the browser into the Python package's static files,
// exposed as the global `tus` (the page loads it with a plain <script> tag).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const out = fileURLToPath(
  new URL("../src/blobstream/web/static/vendor/tus.js", import.meta.url),
);

await build({
  entryPoints: ["tus-js-client"],
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "tus",
  platform: "browser",
  target: ["es2020"],
  outfile: out,
  legalComments: "inline",
  logLevel: "warning",
});
console.log(`built ${out}`);
