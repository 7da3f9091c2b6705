#!/bin/sh
# The macOS disk image, on a Mac after `make bundle` (which builds dist/Storyloom.app with
# build/icons/storyloom.icns and the .storyloom document type in its Info.plist):
#     sh packaging/macos/make_dmg.sh 0.1.0   ->  dist/Storyloom-0.1.0.dmg
# hdiutil ships with macOS. Not built in this repository's CI (no Mac there). Unsigned: sign
# and notarise with `codesign --deep -s "Developer ID Application: ..."` and `xcrun notarytool`
# before giving it to people, or Gatekeeper will refuse to open it.
set -eu
version=${1:-0.1.0}
root=$(cd "$(dirname "$0")/../.." && pwd)
app="$root/dist/Storyloom.app"
[ -d "$app" ] || { echo "make_dmg.sh: no $app (run make bundle on a Mac)" >&2; exit 2; }
stage=$(mktemp -d)
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"  # drag the app onto it to install
hdiutil create -volname "Storyloom $version" -srcfolder "$stage" -ov -format UDZO \
  "$root/dist/Storyloom-$version.dmg"
rm -rf "$stage"
echo "dist/Storyloom-$version.dmg"
