#!/usr/bin/env bash
# Makes sure of the browser the console's tests drive: Debian's Chromium at /usr/bin/chromium
# (playwright-core launches it; Playwright's own browser download cannot work here). Installs it with
# apt-get where absent and permitted; otherwise says how, and the browser suites will fail clearly.
# Set HOTLINE_SKIP_BROWSER=1 to skip the check.
set -euo pipefail
[ "${HOTLINE_SKIP_BROWSER:-0}" = "1" ] && exit 0
[ -x /usr/bin/chromium ] && exit 0

say() { printf '[browser] %s\n' "$*" >&2; }
SUDO=""
[ "$(id -u)" = "0" ] || SUDO="sudo -n"
if ! command -v apt-get >/dev/null; then
  say "no /usr/bin/chromium and no apt-get: install Chromium yourself (the browser tests need /usr/bin/chromium)"
  exit 0
fi
say "installing Chromium (apt-get install chromium) for the console's browser tests"
[ -f /tmp/.hotline-apt-updated ] || { $SUDO apt-get update -qq && touch /tmp/.hotline-apt-updated; } || true
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; then
  say "Chromium could not be installed; the browser suites (test/browser) will fail"
fi
exit 0
