#!/bin/sh
# The AppImage: dist/Storyloom.AppDir (AppRun, .desktop, icons, the MIME type, the frozen
# program), packed by appimagetool when it is on PATH. appimagetool (github.com/AppImage/
# appimagetool) carries the type-2 runtime the AppImage starts with; Debian does not package
# it, so without it the AppDir is left for appimagetool to pack elsewhere.
#   sh packaging/linux/appimage.sh dist/Storyloom build/icons dist VERSION   (make appimage)
set -eu
bundle=$1 icons=$2 out=$3 version=${4:-0}
here=$(cd "$(dirname "$0")" && pwd)
appdir="$out/Storyloom.AppDir"
[ -x "$bundle/Storyloom" ] || { echo "appimage.sh: no bundle at $bundle (make bundle)" >&2; exit 2; }
[ -f "$icons/hicolor/256x256/apps/storyloom.png" ] || { echo "appimage.sh: no icons in $icons" >&2; exit 2; }

rm -rf "$appdir"
mkdir -p "$appdir/usr/share/applications" "$appdir/usr/share/mime/packages" "$appdir/usr/share/icons"
# hard links where the file system allows (the bundle is ~1 GB), else a copy
cp -al "$bundle" "$appdir/usr/lib-storyloom" 2>/dev/null || {
  rm -rf "$appdir/usr/lib-storyloom"; cp -a "$bundle" "$appdir/usr/lib-storyloom"; }
cp -a "$icons/hicolor" "$appdir/usr/share/icons/"
cp "$here/storyloom-mime.xml" "$appdir/usr/share/mime/packages/storyloom.xml"
# The same .desktop file as a normal install; in an AppImage, Exec names the program in AppRun.
sed -e 's|^TryExec=.*$||' "$here/storyloom.desktop" | sed '/^$/d' > "$appdir/storyloom.desktop"
cp "$appdir/storyloom.desktop" "$appdir/usr/share/applications/storyloom.desktop"
cp "$icons/hicolor/256x256/apps/storyloom.png" "$appdir/storyloom.png"
ln -sf storyloom.png "$appdir/.DirIcon"
cat > "$appdir/AppRun" <<'RUN'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
exec "$here/usr/lib-storyloom/Storyloom" "$@"
RUN
chmod +x "$appdir/AppRun"

target="$out/Storyloom-$version-$(uname -m).AppImage"
if command -v appimagetool >/dev/null 2>&1; then
  ARCH=$(uname -m) appimagetool --no-appstream "$appdir" "$target"
  echo "AppImage: $target (needs libfuse2 to run; or run it with --appimage-extract-and-run)"
else
  echo "appimage.sh: built $appdir; appimagetool is not on PATH, so no AppImage: get it from https://github.com/AppImage/appimagetool/releases and run make appimage again (or: appimagetool $appdir)"
fi
