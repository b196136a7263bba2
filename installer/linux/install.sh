#!/bin/sh
# Install camfx for this user, no root needed:
#   the app in ~/.local/share/camfx/app, `camfx` on the PATH (~/.local/bin/camfx),
#   a menu entry and its icon; with --autostart camfx also starts in the tray at login.
#     ./install.sh [--autostart]
# Installing again (a newer version) replaces the app and keeps your settings.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
autostart=""
for arg in "$@"; do
  case "$arg" in
    --autostart) autostart=--autostart ;;
    *) echo "usage: ./install.sh [--autostart]" >&2; exit 2 ;;
  esac
done
dest="${XDG_DATA_HOME:-$HOME/.local/share}/camfx/app"
if [ "$here" != "$dest" ]; then
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest.new"
  cp -a "$here" "$dest.new"
  rm -rf "$dest"
  mv "$dest.new" "$dest"
fi
"$dest/camfx" shortcuts install $autostart
echo "camfx: installed in $dest; start it from the menu or with: camfx"
echo "camfx: virtual camera (Linux): camfx setup virtual-camera"
echo "camfx: to uninstall: $dest/uninstall.sh"
