#!/bin/sh
# Remove camfx: the menu and autostart entries, the icon, ~/.local/bin/camfx and the app.
# Your settings and presets (~/.config/camfx) are kept; delete that folder to remove them too.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
"$here/camfx" shortcuts remove || true
case "$here" in
  */camfx/app) rm -rf "$here"; rmdir "$(dirname "$here")" 2>/dev/null || true
    echo "camfx: removed $here" ;;
  *) echo "camfx: $here is not an installed copy; delete the folder yourself if you want" ;;
esac
echo "camfx: your settings in ${XDG_CONFIG_HOME:-$HOME/.config}/camfx are kept"
