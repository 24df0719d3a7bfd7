#!/bin/sh
# po_check.sh SOURCE_DIR WORK_DIR LANG... : the catalogues are complete (tests/po/CMakeLists.txt).
#  1. msgfmt --check --statistics: each po/<lang>.po is well formed (placeholders, newlines,
#     header) and 100% translated: no untranslated and no fuzzy message.
#  2. xgettext over po/POTFILES (the options po/CMakeLists.txt uses, passed in XGETTEXT_OPTIONS)
#     and msgcmp: every message the translated sources hand to tr()/trf()/trn() is in each
#     po/<lang>.po and translated, so a new message in those files fails here until translated.
set -eu
src="$1"; work="$2"; shift 2
mkdir -p "$work"
fail=0
files=$(grep -v '^#' "$src/po/POTFILES" | grep -v '^[[:space:]]*$')
# shellcheck disable=SC2086
(cd "$src" && xgettext $XGETTEXT_OPTIONS --output="$work/gongshu.pot" $files)
for lang in "$@"; do
  po="$src/po/$lang.po"
  stats=$(LC_ALL=C msgfmt --check --statistics -o /dev/null "$po" 2>&1) || {
    echo "$po: msgfmt --check failed:"; echo "$stats"; fail=1; continue; }
  echo "$lang: $stats"
  case "$stats" in
    *untranslated*|*fuzzy*) echo "$po: not 100% translated (msgfmt --statistics above)"; fail=1 ;;
  esac
  if ! LC_ALL=C msgcmp "$po" "$work/gongshu.pot" >"$work/msgcmp.$lang" 2>&1; then
    echo "$po: messages of po/POTFILES missing or untranslated (run: cmake --build build --target update-po):"
    cat "$work/msgcmp.$lang"
    fail=1
  fi
done
exit $fail
