#!/bin/sh
# The Debian packages holding the shared libraries that the installed module
# (under $1) links: what the runtime stage installs, whatever the base release.
set -eu
for module in $(find "$1" -name 'redis_wrapper.so'); do
    ldd "$module" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'
done | while read -r lib; do
    # usrmerge: a library may be registered under /usr/lib or under /lib.
    dpkg -S "$lib" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null || dpkg -S "$(realpath "$lib")"
done | cut -d: -f1 | sort -u
