/*
 * Fuzz harness for the language negotiation of every HTML page (src/web/i18n.c,
 * ui_lang_negotiate), which reads the Accept-Language header and the "lang" cookie that
 * any client sends.
 *
 * Input: the header value up to the first NUL; the bytes after it are the cookie.
 *
 * Invariants checked, beyond "no crash":
 * - the answer is English or Chinese, the same twice;
 * - a cookie that ui_lang_parse() accepts decides, whatever the header;
 * - Chinese is chosen only when the header holds "zh" somewhere (any case);
 * - a header without "zh" and a cookie that does not parse give English.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/i18n.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *header = xstrndup((const char *)data, size), *cookie;
    size_t hlen = strlen(header);
    enum ui_lang a, b, parsed;

    cookie = hlen < size ? xstrndup((const char *)data + hlen + 1, size - hlen - 1) : NULL;
    a = ui_lang_negotiate(cookie, header);
    b = ui_lang_negotiate(cookie, header);
    BUG_ON(a != b);
    BUG_ON(a != UI_LANG_EN && a != UI_LANG_ZH);
    if (!ui_lang_parse(cookie, &parsed)) {
        BUG_ON(a != parsed);
    } else {
        BUG_ON(a == UI_LANG_ZH && !strcasestr(header, "zh"));
    }
    free(header);
    free(cookie);
    return 0;
}
