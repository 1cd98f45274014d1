/*
 * html.c - escapers for HTML text, attributes and URL arguments.
 */
#include "web/html.h"
#include "core/util.h"

void html_literal_(struct buf *b, const char *lit, size_t len)
{
    buf_add(b, lit, len);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid (overlongs,
 * surrogates and code points above U+10FFFF are invalid, RFC 3629 §4). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if (c == 0xe0 && s[1] < 0xa0)
            return 0;
        if (c == 0xed && s[1] > 0x9f)
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if (c == 0xf0 && s[1] < 0x90)
            return 0;
        if (c == 0xf4 && s[1] > 0x8f)
            return 0;
        return 4;
    }
    return 0;
}

static void escape(struct buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *run = p;

    if (!s)
        return;
    while (*p) {
        const char *rep = NULL;
        size_t n = 1;

        switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            if (*p >= 0x80) {
                n = utf8_len(p);
                if (!n) {
                    rep = "\xef\xbf\xbd";
                    n = 1;
                }
            }
            break;
        }
        if (rep) {
            buf_add(b, run, (size_t)(p - run));
            buf_addstr(b, rep);
            p += n;
            run = p;
        } else {
            p += n;
        }
    }
    buf_add(b, run, (size_t)(p - run));
}

void html_text(struct buf *b, const char *s)
{
    escape(b, s);
}

void html_attr(struct buf *b, const char *s)
{
    /* Quoted attributes need & and " escaped; the same full set as text is simpler to
     * audit and costs nothing measurable. */
    escape(b, s);
}

void html_url_arg(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;

    if (!s)
        return;
    for (; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            buf_addch(b, *p);
        } else {
            buf_addch(b, '%');
            buf_addch(b, hex[*p >> 4]);
            buf_addch(b, hex[*p & 15]);
        }
    }
}

void html_uint(struct buf *b, unsigned long long v)
{
    buf_addf(b, "%llu", v);
}
