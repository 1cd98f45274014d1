/*
 * i18n.c - language negotiation and lookups in the linked-in .mo catalogs.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "web/i18n.h"
#include "web/web-embed.h"
#include "core/util.h"

static _Thread_local const struct ui_request *current;

void ui_request_begin(const struct ui_request *r)
{
    current = r;
}

void ui_request_end(void)
{
    current = NULL;
}

const struct ui_request *ui_request_current(void)
{
    return current;
}

enum ui_lang ui_lang_current(void)
{
    return current ? current->lang : UI_LANG_EN;
}

const char *ui_lang_tag(enum ui_lang l)
{
    return l == UI_LANG_ZH ? "zh-CN" : "en";
}

const char *ui_lang_code(enum ui_lang l)
{
    return l == UI_LANG_ZH ? "zh_CN" : "en";
}

int ui_lang_parse(const char *s, enum ui_lang *l)
{
    if (!s)
        return -1;
    if (!strcasecmp(s, "en")) {
        *l = UI_LANG_EN;
        return 0;
    }
    if (!strcasecmp(s, "zh_CN") || !strcasecmp(s, "zh-CN") || !strcasecmp(s, "zh")) {
        *l = UI_LANG_ZH;
        return 0;
    }
    return -1;
}

/* The q value of one Accept-Language entry's parameters (";q=0.5"), 1000ths. */
static unsigned q_value(const char *p, const char *end)
{
    unsigned q = 1000, scale = 100;

    while (p < end) {
        while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p += 2;
            if (p < end && *p == '1')
                return 1000;
            if (p >= end || *p != '0')
                return 0;
            q = 0;
            p++;
            if (p < end && *p == '.')
                for (p++; p < end && *p >= '0' && *p <= '9' && scale; p++, scale /= 10)
                    q += (unsigned)(*p - '0') * scale;
            return q;
        }
        while (p < end && *p != ';')
            p++;
    }
    return q;
}

enum ui_lang ui_lang_negotiate(const char *cookie, const char *accept_language)
{
    enum ui_lang l;
    const char *p = accept_language;
    unsigned best_zh = 0, best_en = 0;
    bool zh_first = false, seen = false;

    if (!ui_lang_parse(cookie, &l))
        return l;
    while (p && *p) {
        const char *end = strchr(p, ','), *tag_end;
        size_t tag_len;
        unsigned q;

        if (!end)
            end = p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        tag_end = p;
        while (tag_end < end && *tag_end != ';' && *tag_end != ' ')
            tag_end++;
        tag_len = (size_t)(tag_end - p);
        q = q_value(tag_end, end);
        if (tag_len >= 2 && !strncasecmp(p, "zh", 2) &&
            (tag_len == 2 || p[2] == '-' || p[2] == '_')) {
            if (q > best_zh)
                best_zh = q;
            if (!seen && q)
                zh_first = true;
            seen = seen || q;
        } else if (tag_len >= 2 && !strncasecmp(p, "en", 2) &&
                   (tag_len == 2 || p[2] == '-' || p[2] == '_')) {
            if (q > best_en)
                best_en = q;
            seen = seen || q;
        }
        p = *end ? end + 1 : end;
    }
    if (best_zh > best_en || (best_zh && best_zh == best_en && zh_first))
        return UI_LANG_ZH;
    return UI_LANG_EN;
}

/* ---- .mo lookup (GNU gettext manual, "The Format of GNU MO Files") ---- */

static uint32_t mo_u32(const unsigned char *mo, size_t off)
{
    /* msgfmt writes the catalog in the build machine's byte order; the magic tells. */
    uint32_t v;

    memcpy(&v, mo + off, 4);
    return v;
}

/* The translation of key in the catalog mo (len bytes), or NULL. The catalog is ours
 * (compiled from po/ at build time), but offsets are still checked against its size. */
static const char *mo_find(const unsigned char *mo, size_t len, const char *key)
{
    uint32_t n, orig, trans, lo = 0, hi;

    if (len < 28 || mo_u32(mo, 0) != 0x950412deu)
        return NULL;
    n = mo_u32(mo, 8);
    orig = mo_u32(mo, 12);
    trans = mo_u32(mo, 16);
    if (orig > len || trans > len || n > (len - orig) / 8 || n > (len - trans) / 8)
        return NULL;
    hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t slen = mo_u32(mo, orig + 8 * (size_t)mid),
                 soff = mo_u32(mo, orig + 8 * (size_t)mid + 4);
        int cmp;

        if (soff > len || slen >= len - soff)
            return NULL;
        /* A plural entry's original is "singular\0plural": strcmp stops at the NUL. */
        cmp = strcmp(key, (const char *)mo + soff);
        if (!cmp) {
            uint32_t tlen = mo_u32(mo, trans + 8 * (size_t)mid);
            uint32_t toff = mo_u32(mo, trans + 8 * (size_t)mid + 4);

            if (toff > len || tlen >= len - toff || !tlen)
                return NULL;
            return (const char *)mo + toff;
        }
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *ui_gettext(const char *msgid)
{
    const char *t;

    if (ui_lang_current() != UI_LANG_ZH)
        return msgid;
    t = mo_find(web_embed_mo_zh_CN, web_embed_mo_zh_CN_len, msgid);
    return t ? t : msgid;
}

const char *ui_ngettext(const char *singular, const char *plural, unsigned long long n)
{
    const char *t;

    if (ui_lang_current() != UI_LANG_ZH)
        return n == 1 ? singular : plural;
    /* zh_CN: nplurals=1, so msgstr[0] serves every n. */
    t = mo_find(web_embed_mo_zh_CN, web_embed_mo_zh_CN_len, singular);
    return t ? t : (n == 1 ? singular : plural);
}
