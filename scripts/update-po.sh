#!/usr/bin/env bash
# Extracts the web pages' strings (src/web/*.c) into po/kaifang.pot and merges them into
# po/zh_CN.po with GNU gettext (xgettext, msgmerge). New strings arrive untranslated
# (English on Chinese pages) until someone fills their msgstr; the build compiles the
# .po with msgfmt --check.
set -euo pipefail
cd "$(dirname "$0")/.."
xgettext --from-code=UTF-8 --package-name=kaifang -k_ -kN_ -kTX:2 -kui_count:3,4 \
    -kui_ngettext:1,2 -kui_gettext --add-comments=TRANSLATORS: --sort-output \
    -o po/kaifang.pot src/web/*.c
msgmerge --quiet --update --backup=none --no-fuzzy-matching po/zh_CN.po po/kaifang.pot
msgfmt --check --statistics -o /dev/null po/zh_CN.po
