#!/usr/bin/env bash
# Installs what Chinese text, emoji and review PDFs need on Debian: Noto CJK and Noto Color Emoji fonts,
# fontconfig and WeasyPrint's Pango/HarfBuzz libraries (and poppler-utils for looking at PDFs as pictures).
# Then clears stale font caches: fontconfig's when fonts were added, and matplotlib's font list whenever it
# was built without the Chinese font (a chart would otherwise draw boxes). Does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
# read the lists first: `cmd | grep -q` fails under pipefail when grep stops reading early
fonts=$(fc-list : family 2>/dev/null || true)
libraries=$(ldconfig -p 2>/dev/null || true)
command -v fc-list >/dev/null 2>&1 || missing+=(fontconfig)
grep -qi "Noto Sans CJK" <<<"$fonts" || missing+=(fonts-noto-cjk)
grep -qi "Noto Color Emoji" <<<"$fonts" || missing+=(fonts-noto-color-emoji)
grep -q "libpangoft2-1.0.so.0" <<<"$libraries" || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
grep -q "libharfbuzz-subset.so.0" <<<"$libraries" || missing+=(libharfbuzz-subset0)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fc-cache -f >/dev/null 2>&1 || true
fi

# matplotlib keeps its own list of fonts (fontlist-v*.json) and does not notice fonts installed after it
# was written: drop a list that lacks the Chinese font, so the next chart builds a fresh one.
if [ -x .venv/bin/python ]; then
  cache=$(.venv/bin/python -c 'import matplotlib; print(matplotlib.get_cachedir())' 2>/dev/null || true)
  for list in "${cache:-/nonexistent}"/fontlist-*.json; do
    [ -f "$list" ] || continue
    grep -q "Noto Sans CJK" "$list" || { rm -f "$list"; echo "cleared the stale matplotlib font list $list"; }
  done
fi
