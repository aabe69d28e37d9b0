#!/usr/bin/env bash
# Builds the photo sets of the style-network recipe (packages/synthesis/README.md) from Debian's opencv-doc,
# python3-skimage and darknet packages (licences in NOTICE):
#
#   bash bench/src/style-photos.sh [OUT]      (default /tmp/photos)
#
# OUT/train: the 19 photos of stage A; OUT/train2: those and 16 more (stages B and C); OUT/heldout: the 8 photos
# style-network-eval.ts judges the networks on, never trained on. Each file is checked against its SHA-256, so a
# package that changed its pictures stops the script instead of silently changing the recipe. `apt-get download`
# needs the package lists (`apt-get update`) but installs nothing.
set -euo pipefail
out=${1:-/tmp/photos}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -o APT::Sandbox::User=root opencv-doc python3-skimage darknet >/dev/null)
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/x"; done
declare -A root=(
  [cv]="$work/x/usr/share/doc/opencv-doc/examples"
  [sk]="$work/x/usr/lib/python3/dist-packages/skimage/data"
  [dn]="$work/x/usr/share/darknet/data"
)
rm -rf "$out/train" "$out/train2" "$out/heldout"
mkdir -p "$out/train" "$out/train2" "$out/heldout"
# set, package-relative path, SHA-256; train2 also gets every train photo.
while read -r set rel sum; do
  src="${root[${rel%%/*}]}/${rel#*/}"
  echo "$sum  $src" | sha256sum --check --quiet -
  cp "$src" "$out/$set/"
  if [ "$set" = train ]; then cp "$src" "$out/train2/"; fi
done <<'LIST'
train cv/data/aero1.jpg d9a69191f6e3642ea361bc3c62e677b2f40fe6534b78da540f4155e0734b59ef
train cv/data/aero3.jpg 1c407146f8762b3b14a7953ff9bc4c01ed64c467d7277122e769bf7e816017a4
train cv/data/aloeL.jpg cce5736808efe80d9f04b118dbb978c344d4345672b332718c3e039a3eeb8eee
train cv/data/apple.jpg e86879de3d9a807dedc742a8f464f39e6b74bbb531a1fba3583155d94997d1cd
train cv/data/board.jpg 4c9a24ba67138ad5486d550f586cc5dd1161be112f1c1bea336d6c550cdf255f
train cv/data/building.jpg 742a1baad62ac82e91e718e77eedf7e85c2eddc4badfb8c87c6cbc86c45a8b07
train cv/data/chicky_512.png 4d2cf040de084fd3f34d5e3f96f1251faaa4787c1ac3b548fec5809a0d01854e
train dn/dog.jpg 5a9522051c3cec2bbd2f6323fccba32e8fbf3ddcc2b3e2fd46b04c720bc6f866
train cv/data/ela_original.jpg b55798b35e2dcb24675f0865a2442d0e4887eeb6aff322ecb1968d936cc23e7f
train dn/giraffe.jpg 00dc48a9b2af8a1fe4c4b79319726591f1033c7e1150f21e7577a79f3b6659f1
train cv/data/graf1.png 1504b769303c7bde00fa578eeaad3c68e02aceabeb1242e556f1f8d19e4bdea5
train cv/data/home.jpg 23b8cf46a1965d0ec33459b875aed43187802834db49e0daa9fa2cc842e9d8d2
train dn/horses.jpg c8f0a677a1356569e2ce71d2fa88c1030c0ae57ecf5e14170e02d9a86a20dcb4
train dn/kite.jpg 87410f52f79cc256c3949b48a3548632c07c8e9943468ef8caa6250f6643be8e
train cv/data/left.jpg fb314330c3eb0a81651c682803e73b348898157267fbc37c4c2c07d1b3a8e321
train sk/motorcycle_left.png db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179
train cv/data/orange.jpg 152c20d2f380ac985de25e474e1a5f06ed34b932191342099b8272a63a15a079
train dn/person.jpg cdcbab947e46110fc2b77784ac54ddbbab2640f1e44cb5e91fc8984a9793a7d1
train cv/data/rubberwhale1.png eb312435369dac9efcc92f7e098edbd9ed8d7e6dfede8b3b4d8e3702cd80b796
train2 cv/data/HappyFish.jpg ade5b67347d7f89b1539c93843f3f7178782a7e34eb1fe586f4a785c3e60a432
train2 sk/astronaut.png 88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
train2 cv/data/cards.png 3721e83d1d54b1c2867cc9924f06112dba28cb7a54149938ad065999dec39235
train2 sk/chelsea.png 596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb
train2 sk/coffee.png cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7
train2 cv/data/licenseplate_motion.jpg ea6fa9cea75df91bec656d1d3b903111a9c0708c6a3b88f405a5156de38ff9d6
train2 cv/data/pca_test1.jpg 9aae52b2bf730216f7e46c662f612a417ebd43642e742e7f867f33aa734293cd
train2 cv/text/scenetext01.jpg 7f3041a7019ab4d33d2452bc757d8c4f38616bfde71431e12f7ec370d7b2018e
train2 cv/text/scenetext02.jpg d4295bff9f348012f91a2cf745753124f85041fe3c3717146c6759c4cd977211
train2 cv/text/scenetext03.jpg cadf4a3d29a7ba6fe976b53fa65f490cc2868375e8feb3d93f26029f05c662ca
train2 cv/text/scenetext04.jpg 28e08d142a04f92f96d01ff2674f7804321841cba95bd968980cdc85ef0af6df
train2 cv/text/scenetext05.jpg 63985ac1a9989a8320605d5be0ec285af0c6304a78cc9cc5de6c2c7c435f7c0b
train2 cv/text/scenetext06.jpg e4d64f10bbfb27b2c5980cb048fd0abe20dd74868ba5460298de473ced53b518
train2 cv/data/smarties.png ad3f751c053fdcf432687c1bc0e56a61a9119d2bb2ae29365f8aa6534fc77417
train2 cv/data/stuff.jpg 21cd00afbdd0727f445dd91c0a09633e6345ed5b05a3d2355453a1f3c314c6c5
train2 cv/data/sudoku.png 000cf81b7ce795013ae02bc9dfb0952aa34153c8c0e7fc99c81918e0738d1f09
heldout cv/data/baboon.jpg 1a1dd18d78eec44420af3b0b7f08ee3d41c982916cae3ce203d7ff35d754cc0f
heldout cv/data/butterfly.jpg 34a99716b78ded10eae87b4880de739d3e68cc7dd1a96812bb28f469d5eeaea8
heldout dn/eagle.jpg f95f57297fd51a6c5ddceb5ed6916fa759d1d65f402fee34c05b31a9608755c0
heldout cv/data/fruits.jpg 9c031d80a1c52da5eca790db896baffec6a7e52bf786cdb7bbfca5c7f880e6a1
heldout cv/data/leuvenA.jpg b2977cdbd9fb3f94dadd6f76cf586d145676deb8a22b5f0f42149d21c058c09f
heldout cv/data/messi5.jpg 1d570e49654e84c7a943918537bd9e5e1ef82920152e147c834006e235be97c9
heldout sk/rocket.jpg c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c
heldout cv/data/squirrel_cls.jpg 20bb6e8ae96918a36c9886b6d48e54eedeb3948591e1485c206bc1dc60c8dc8b
LIST
echo "$out: train $(ls "$out/train" | wc -l), train2 $(ls "$out/train2" | wc -l), heldout $(ls "$out/heldout" | wc -l) photos"
