#!/usr/bin/env bash
# Installs code-server (VS Code 1.100.3's server and web workbench) from the npm registry only, for
# the integration tests: its own postinstall downloads ripgrep and prebuilt binaries from outside
# the registry, so it runs without lifecycle scripts and this does the same steps offline.
# usage: scripts/install-code-server.sh [DIR]   (default .vscode-test/code-server)
set -euo pipefail
VERSION=4.100.3
DIR=$(realpath -m "${1:-$(dirname "$0")/../.vscode-test/code-server}")
BIN="$DIR/node_modules/.bin/code-server"
if [ -x "$BIN" ] && [ -f "$DIR/.complete-$VERSION" ]; then echo "code-server $VERSION: $DIR"; exit 0; fi

# Needs Debian's ripgrep and libkrb5-dev: `npm test` installs them first (scripts/system-packages.js).
command -v rg >/dev/null || { echo "ripgrep is missing: node scripts/system-packages.js installs it (as root)" >&2; exit 1; }
# node-gyp builds against this machine's Node headers instead of downloading them.
[ -f /usr/include/node/node.h ] && export npm_config_nodedir="${npm_config_nodedir:-/usr}"

rm -rf "$DIR" && mkdir -p "$DIR" && cd "$DIR"
echo '{"name":"code-server-host","private":true}' > package.json
npm install --no-audit --no-fund --ignore-scripts --loglevel=error "code-server@$VERSION"
npm rebuild argon2 --loglevel=error   # its prebuilt download fails offline; builds from source
cd node_modules/code-server/lib/vscode
npm install --no-audit --no-fund --omit=dev --ignore-scripts --loglevel=error
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg   # Debian's ripgrep, not a download
npm_config_yes=true npm rebuild --loglevel=error                  # native modules against local headers
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sf code-linux.sh code-server)
(cd bin/helpers && ln -sf browser-linux.sh browser.sh)
(cd extensions && npm install --no-audit --no-fund --omit=dev --loglevel=error)
cd "$DIR"
XDG_CONFIG_HOME="$DIR/.xdg-config" XDG_DATA_HOME="$DIR/.xdg-data" "$BIN" --version
touch "$DIR/.complete-$VERSION"
