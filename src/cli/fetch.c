/*
 * fetch.c - HTTP GET through libcurl (fetch.h).
 */
#include <curl/curl.h>

#include "cli/fetch.h"
#include "core/util.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_setup(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("libcurl: global initialisation failed");
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct buf *out = ctx;
    size_t n = size * nmemb;

    /* Returning less than n makes curl stop with CURLE_WRITE_ERROR. */
    if (out->len + n > FETCH_BODY_MAX)
        return 0;
    buf_add(out, data, n);
    return buf_failed(out) ? 0 : n;
}

int fetch_init(struct fetch *f, const char *base, struct err *err)
{
    size_t len = strlen(base);
    int ret = 0;

    memset(f, 0, sizeof(*f));
    if (!starts_with(base, "http://") && !starts_with(base, "https://")) {
        ret = err_set(err, ERR_VALIDATION, NULL, "\"%s\" is not an http:// or https:// URL", base);
        goto out;
    }
    while (len && base[len - 1] == '/')
        len--;
    f->base = xstrndup(base, len);
    pthread_once(&curl_once, curl_setup);
    f->curl = curl_easy_init();
    if (!f->curl)
        die("libcurl: cannot create a handle");
    curl_easy_setopt(f->curl, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(f->curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(f->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(f->curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(f->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(f->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(f->curl, CURLOPT_USERAGENT, "kaifang-ledger-verify");
out:
    return ret;
}

void fetch_release(struct fetch *f)
{
    if (f->curl)
        curl_easy_cleanup(f->curl);
    free(f->base);
    memset(f, 0, sizeof(*f));
}

int fetch_get(struct fetch *f, const char *path, struct buf *out, struct err *err)
{
    char *url = xstrfmt("%s%s", f->base, path);
    long status = 0;
    CURLcode rc;
    int ret = 0;

    buf_reset(out);
    f->errbuf[0] = '\0';
    curl_easy_setopt(f->curl, CURLOPT_URL, url);
    curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, out);
    rc = curl_easy_perform(f->curl);
    if (rc != CURLE_OK) {
        ret = err_set(err, ERR_INTERNAL, NULL, "GET %s: %s", url,
                      f->errbuf[0] ? f->errbuf : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 404)
        ret = err_set(err, ERR_NOT_FOUND, NULL, "GET %s: not found (HTTP 404)", url);
    else if (status != 200)
        ret = err_set(err, ERR_INTERNAL, NULL, "GET %s: HTTP %ld", url, status);
out:
    free(url);
    return ret;
}
