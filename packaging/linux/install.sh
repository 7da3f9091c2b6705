#!/bin/sh
# Register Storyloom with the Linux desktop for this user: a menu entry with its icon, and
# .storyloom project files recognised (by name and by their SQLite application id) and opened
# in Storyloom by a double-click. Undo with uninstall.sh. `make install-desktop` runs this.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
bin=${STORYLOOM_BIN:-$(command -v storyloom || echo "$root/.venv/bin/storyloom")}
[ -x "$bin" ] || { echo "install.sh: no storyloom program at $bin (run make first)" >&2; exit 2; }

mkdir -p "$data/applications" "$data/mime/packages" "$data/icons/hicolor/scalable/apps"
sed -e "s|^Exec=storyloom |Exec=\"$bin\" |" -e "s|^TryExec=storyloom$|TryExec=$bin|" \
    "$here/storyloom.desktop" > "$data/applications/storyloom.desktop.tmp"
mv "$data/applications/storyloom.desktop.tmp" "$data/applications/storyloom.desktop"
cp "$here/storyloom-mime.xml" "$data/mime/packages/storyloom.xml"
cp "$root/resources/icons/storyloom.svg" "$data/icons/hicolor/scalable/apps/storyloom.svg"
if command -v update-mime-database >/dev/null 2>&1; then update-mime-database "$data/mime"; fi
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database "$data/applications" || true
fi
echo "Storyloom is in the applications menu; .storyloom files open with it ($bin)"
