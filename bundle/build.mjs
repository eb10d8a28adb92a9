// Builds <name>-<version>.mcpb (both from manifest.json) with the pinned MCPB CLI: `node bundle/build.mjs [output]`.
// Needs only Node.js 20+: installs the CLI pinned in bundle/package.json first when it is
// missing, has the setup tool write manifest.json's name, version and tools as the server has them,
// then validates manifest.json and packs what .mcpbignore lets through.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const project = resolve(here, "..");
const mcpb = resolve(here, "node_modules/@anthropic-ai/mcpb/dist/cli/cli.js");
const run = (command, args, cwd = project) => execFileSync(command, args, { cwd, stdio: "inherit" });

if (!existsSync(mcpb)) {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  run(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], here);
}
run("uv", ["run", "--frozen", "host_setup.py", "manifest"]);
const { name, version } = JSON.parse(readFileSync(resolve(project, "manifest.json"), "utf8"));
const output = resolve(process.argv[2] ?? resolve(project, `${name}-${version}.mcpb`));
run(process.execPath, [mcpb, "validate", "manifest.json"]);
run(process.execPath, [mcpb, "pack", ".", output]);
console.log(`Built ${output} (${(statSync(output).size / 1024).toFixed(1)} KiB)`);
