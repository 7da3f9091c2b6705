#!/bin/sh
# Remove what install.sh added for this user.
set -eu
data=${XDG_DATA_HOME:-$HOME/.local/share}
rm -f "$data/applications/storyloom.desktop" "$data/mime/packages/storyloom.xml" \
      "$data/icons/hicolor/scalable/apps/storyloom.svg"
if command -v update-mime-database >/dev/null 2>&1; then update-mime-database "$data/mime"; fi
echo "Storyloom's menu entry and file type are removed"
