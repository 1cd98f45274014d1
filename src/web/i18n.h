/*
 * i18n.h - the language of a page (en or zh_CN) and its translated strings.
 *
 * The strings of the pages are English literals marked with _() (and ui_ngettext() for
 * counts); po/zh_CN.po holds their Chinese, written and checked as GNU gettext PO
 * (xgettext extracts, msgmerge updates, msgfmt --check compiles it to a .mo catalog at
 * build time). The .mo is linked into the binary and looked up here by binary search
 * (the GNU .mo layout: sorted original strings, gettext manual §10.3), so no locale has
 * to be installed on the server and no process-wide setlocale() is needed.
 *
 * The language and the request's address are per thread: the HTTP layer calls
 * ui_request_begin() before it renders a page and ui_request_end() after, as gettext
 * reads the thread's locale (uselocale). Pages rendered outside a request (unit tests)
 * are English.
 */
#ifndef KAIFANG_WEB_I18N_H
#define KAIFANG_WEB_I18N_H

#include <stdbool.h>

enum ui_lang {
    UI_LANG_EN = 0,
    UI_LANG_ZH = 1,
};

/* What a page needs to know about the request it answers; every pointer is borrowed
 * for the duration of the rendering. */
struct ui_request {
    enum ui_lang lang;
    const char *path;  /* the request path, percent-decoded ("/dataset/x") */
    const char *query; /* the query string as sent, without '?' (NULL: none) */
    const char *user;  /* the signed-in user's name (session or API token), or NULL */
    const char *csrf;  /* the session's CSRF token (NULL: no session), or on the login
                        * page the pre-session token of its cookie */
};

/* Sets (and clears) the calling thread's request. r is borrowed until ui_request_end(). */
void ui_request_begin(const struct ui_request *r);
void ui_request_end(void);

/* The thread's request, or NULL outside one. */
const struct ui_request *ui_request_current(void);

/* The thread's language (UI_LANG_EN outside a request). */
enum ui_lang ui_lang_current(void);

/* "en" or "zh-CN" (a BCP 47 tag for <html lang>), and the cookie value "en" / "zh_CN". */
const char *ui_lang_tag(enum ui_lang l);
const char *ui_lang_code(enum ui_lang l);

/* Parses a language code as the cookie and the switch link carry it ("en", "zh_CN",
 * also "zh", "zh-CN", case-insensitive). Returns 0 and sets *l, or -1 for anything else. */
int ui_lang_parse(const char *s, enum ui_lang *l);

/*
 * The language of a request: the cookie's value when it parses (the user's choice),
 * else the Accept-Language entry (RFC 9110 §12.5.4) with the highest q among zh* and
 * en* (zh wins a tie only when it comes first), else English. Either argument may be
 * NULL. Input of any length is read without allocating.
 */
enum ui_lang ui_lang_negotiate(const char *cookie, const char *accept_language);

/* The translation of msgid into the thread's language, or msgid itself (English, or no
 * translation). The result lives as long as the process. */
const char *ui_gettext(const char *msgid);

/* ngettext(): the form for n (English: singular when n == 1; Chinese has one form). */
const char *ui_ngettext(const char *singular, const char *plural, unsigned long long n);

/* Marks a literal for xgettext and translates it. */
#define _(s) ui_gettext("" s "")

/* Marks a literal for xgettext only (a table entry translated later by ui_gettext()). */
#define N_(s) s

#endif
