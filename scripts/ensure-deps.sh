#!/usr/bin/env bash
# Installs the project's dependencies (npm ci) when node_modules is missing or no longer matches
# package-lock.json: a package the lock names is absent or at another version. A no-op otherwise,
# so `npm test`, `npm run test:faults`, `npm run bench` and `npm run demo` can call it first.
# Set HOTLINE_SKIP_DEPS=1 to skip the check.
set -euo pipefail
[ "${HOTLINE_SKIP_DEPS:-0}" = "1" ] && exit 0
cd "$(dirname "$0")/.."

say() { printf '[deps] %s\n' "$*" >&2; }

reason=$(node -e '
  const fs = require("fs");
  if (!fs.existsSync("node_modules")) { console.log("node_modules is missing"); process.exit(0); }
  const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
  for (const [dir, entry] of Object.entries(lock.packages || {})) {
    if (!dir.startsWith("node_modules/") || entry.link) continue;
    let installed = null;
    try { installed = JSON.parse(fs.readFileSync(dir + "/package.json", "utf8")).version; } catch {}
    // Optional packages (other platforms'"'"' binaries) are legitimately absent.
    if (installed === null && (entry.optional || entry.devOptional)) continue;
    if (installed !== entry.version) {
      console.log(`${dir} is ${installed ?? "missing"}, package-lock.json wants ${entry.version}`);
      process.exit(0);
    }
  }
')

[ -z "$reason" ] && exit 0
say "installing dependencies (npm ci): $reason"
npm ci --no-audit --no-fund >&2
