/*
 * static.c - the files under /static/: the portal's stylesheet and chart script (linked
 * in) and the chart libraries read once from the npm packages' directory.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/ui.h"
#include "web/web-embed.h"
#include "core/util.h"

#ifndef KAIFANG_VENDOR_DIR
#define KAIFANG_VENDOR_DIR "node_modules"
#endif

/* Largest vendor file read (vega.min.js is about 0.5 MB). */
#define VENDOR_FILE_MAX (8u << 20)

struct vendor_file {
    const char *name; /* under /static/ */
    const char *path; /* under the vendor directory */
    bool es_module;   /* vega-interpreter: its one import of vega-util is rewritten */
    pthread_once_t once;
    char *body; /* NULL: missing */
    size_t len;
};

static struct vendor_file vendor[] = {
        {"vega.min.js", "vega/build/vega.min.js", false, PTHREAD_ONCE_INIT, NULL, 0},
        {"vega-lite.min.js", "vega-lite/build/vega-lite.min.js", false, PTHREAD_ONCE_INIT, NULL, 0},
        {"vega-embed.min.js", "vega-embed/build/vega-embed.min.js", false, PTHREAD_ONCE_INIT, NULL,
         0},
        {"vega-interpreter.js", "vega-interpreter/build/vega-interpreter.js", true,
         PTHREAD_ONCE_INIT, NULL, 0},
};

/*
 * vega-interpreter is published only as an ES module that imports three functions from
 * vega-util by a bare name, which a browser cannot resolve without an import map (an
 * inline script, which the Content-Security-Policy refuses). The vega bundle exports the
 * same functions on the global `vega`, so the import becomes a destructuring of it.
 */
static void rewrite_import(struct vendor_file *f)
{
    static const char from[] = " from 'vega-util';";
    char *imp = strstr(f->body, "import {"), *end;
    struct buf b = BUF_INIT;

    if (!imp)
        return;
    end = strstr(imp, from);
    if (!end)
        return;
    buf_add(&b, f->body, (size_t)(imp - f->body));
    buf_addstr(&b, "const {");
    buf_add(&b, imp + 8, (size_t)(end - (imp + 8)));
    buf_addstr(&b, " = globalThis.vega;");
    buf_addstr(&b, end + sizeof(from) - 1);
    free(f->body);
    f->body = buf_detach(&b, &f->len);
}

static struct vendor_file *loading;

static void load_vendor(void)
{
    struct vendor_file *f = loading;
    const char *dir = getenv("KAIFANG_VENDOR_DIR");
    char path[4096];
    struct buf b = BUF_INIT;
    char chunk[65536];
    size_t n;
    FILE *fp;

    xsnprintf(path, sizeof(path), "%s/%s", dir && dir[0] ? dir : KAIFANG_VENDOR_DIR, f->path);
    fp = fopen(path, "rb");
    if (!fp)
        return;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && b.len + n <= VENDOR_FILE_MAX)
        buf_add(&b, chunk, n);
    if (ferror(fp) || !feof(fp) || buf_failed(&b)) {
        fclose(fp);
        buf_release(&b);
        return;
    }
    fclose(fp);
    f->body = buf_detach(&b, &f->len);
    if (f->es_module)
        rewrite_import(f);
}

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

int ui_static_find(const char *name, struct ui_asset *out)
{
    if (str_eq(name, "kaifang.css")) {
        *out = (struct ui_asset){"text/css; charset=utf-8", (const char *)web_embed_css,
                                 web_embed_css_len};
        return 0;
    }
    if (str_eq(name, "publish.js")) {
        *out = (struct ui_asset){"text/javascript; charset=utf-8",
                                 (const char *)web_embed_publish_js, web_embed_publish_js_len};
        return 0;
    }
    if (str_eq(name, "chart.js")) {
        *out = (struct ui_asset){"text/javascript; charset=utf-8", (const char *)web_embed_chart_js,
                                 web_embed_chart_js_len};
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(vendor); i++) {
        if (!str_eq(name, vendor[i].name))
            continue;
        /* pthread_once takes no argument: the lock keeps `loading` for one caller. */
        pthread_mutex_lock(&load_lock);
        loading = &vendor[i];
        pthread_once(&vendor[i].once, load_vendor);
        pthread_mutex_unlock(&load_lock);
        if (!vendor[i].body)
            return -1;
        *out = (struct ui_asset){"text/javascript; charset=utf-8", vendor[i].body, vendor[i].len};
        return 0;
    }
    return -1;
}
