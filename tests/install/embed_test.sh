#!/bin/sh
# embed_test.sh BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR CXX BUILD_TYPE
# Installs BUILD_DIR into WORK_DIR/prefix, builds examples/embed against it
# and runs it. Prints "embed_test: ok" on success.
set -eu
build=$1 src=$2 work=$3 gen=$4 cxx=$5 type=${6:-Release}
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"

# Nothing installed for CMake or pkg-config may point into the trees it came from.
if grep -rlF -e "$src" -e "$build" "$prefix/lib/cmake/pnmvp" "$prefix/lib/pkgconfig"; then
  echo "embed_test: installed package files name the source or build tree (above)"
  exit 1
fi
PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs pnmvp >"$work/pkg-config.txt"
grep -q -- "-lpnm_device" "$work/pkg-config.txt" || { echo "embed_test: pkg-config --libs pnmvp lacks -lpnm_device"; exit 1; }

cmake -S "$src/examples/embed" -B "$work/build" -G "$gen" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE="$type" -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log"
cmake --build "$work/build" >"$work/build.log" || { cat "$work/build.log"; exit 1; }

# The example must find share/pnmvp through the installed package alone.
out=$(env -u PNMVP_PLATFORMS -u PNMVP_FIRMWARE "$work/build/embed")
echo "$out"
echo "$out" | grep -qF "platforms folder: $prefix/share/pnmvp/platforms" ||
  { echo "embed_test: the example did not use the installed platforms folder"; exit 1; }
echo "$out" | grep -qF "controller firmware: $prefix/share/pnmvp/firmware/pnm_fw.elf" ||
  { echo "embed_test: the example did not use the installed firmware"; exit 1; }
echo "$out" | grep -q "^ok: " || { echo "embed_test: the example failed"; exit 1; }
echo "embed_test: ok"
