#!/usr/bin/env bash
# Makes Debian's headless-capable Chromium available for the report page's browser test
# (tests/test_report_page.py). Installs the `chromium` package when it is missing and we
# are root; otherwise does nothing (the test then skips with a reason). Never fails CI.
set -uo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium.sh: no chromium and cannot install it (not root or no apt-get)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
(apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
  { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; }) ||
  echo "chromium.sh: installing chromium failed; the browser test will skip" >&2
exit 0
