#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright; they never download
# a browser. Install it when missing and possible, else say what to install.
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    && [ -x /usr/bin/chromium ] && exit 0
fi
echo "MISSING: /usr/bin/chromium — install Debian's chromium package (apt-get install chromium); the browser tests will fail without it" >&2
exit 0
