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

/* ---- concurrent requests ----------------------------------------------------------- */

struct fetch_req {
    struct fetch_req *prev, *next; /* in fm->reqs */
    CURL *curl;
    char *url;
    struct buf body;
    bool done;
    CURLcode rc; /* when done */
    char errbuf[CURL_ERROR_SIZE];
};

int fetch_multi_init(struct fetch_multi *fm, const char *base, unsigned conns, struct err *err)
{
    size_t len = strlen(base);
    int ret = 0;

    memset(fm, 0, sizeof(*fm));
    if (!starts_with(base, "http://") && !starts_with(base, "https://")) {
        ret = err_set(err, ERR_VALIDATION, NULL, "\"%s\" is not an http:// or https:// URL", base);
        goto out;
    }
    BUG_ON(conns == 0 || conns > 64);
    while (len && base[len - 1] == '/')
        len--;
    fm->base = xstrndup(base, len);
    pthread_once(&curl_once, curl_setup);
    fm->multi = curl_multi_init();
    if (!fm->multi)
        die("libcurl: cannot create a multi handle");
    /* HTTP/1.1 keep-alive: conns connections kept open, no more opened; requests beyond
     * them wait for a free one rather than opening a connection each. */
    curl_multi_setopt(fm->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conns);
    curl_multi_setopt(fm->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conns);
    curl_multi_setopt(fm->multi, CURLMOPT_MAXCONNECTS, (long)conns);
out:
    return ret;
}

static void req_free(struct fetch_multi *fm, struct fetch_req *req)
{
    if (!req)
        return;
    if (req->prev)
        req->prev->next = req->next;
    else
        fm->reqs = req->next;
    if (req->next)
        req->next->prev = req->prev;
    curl_multi_remove_handle(fm->multi, req->curl);
    curl_easy_cleanup(req->curl);
    buf_release(&req->body);
    free(req->url);
    free(req);
}

void fetch_multi_release(struct fetch_multi *fm)
{
    if (fm->multi) {
        /* Requests the caller abandoned without cancelling: freed too. */
        while (fm->reqs)
            req_free(fm, fm->reqs);
        curl_multi_cleanup(fm->multi);
    }
    free(fm->base);
    memset(fm, 0, sizeof(*fm));
}

struct fetch_req *fetch_multi_start(struct fetch_multi *fm, const char *path, bool gzip)
{
    struct fetch_req *req = xcalloc(1, sizeof(*req));

    req->url = xstrfmt("%s%s", fm->base, path);
    buf_init(&req->body, FETCH_BODY_MAX);
    req->curl = curl_easy_init();
    if (!req->curl)
        die("libcurl: cannot create a handle");
    curl_easy_setopt(req->curl, CURLOPT_URL, req->url);
    curl_easy_setopt(req->curl, CURLOPT_PRIVATE, req);
    curl_easy_setopt(req->curl, CURLOPT_ERRORBUFFER, req->errbuf);
    curl_easy_setopt(req->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(req->curl, CURLOPT_WRITEDATA, &req->body);
    if (gzip)
        curl_easy_setopt(req->curl, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(req->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(req->curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(req->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(req->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(req->curl, CURLOPT_USERAGENT, "kaifang-ledger-verify");
    /* Wait for a connection of the pool rather than open one more. */
    curl_easy_setopt(req->curl, CURLOPT_PIPEWAIT, 1L);
    if (curl_multi_add_handle(fm->multi, req->curl) != CURLM_OK)
        die("libcurl: cannot add a transfer");
    req->next = fm->reqs;
    if (fm->reqs)
        fm->reqs->prev = req;
    fm->reqs = req;
    return req;
}

/* One round of transfers; marks the requests that completed. */
static void multi_step(struct fetch_multi *fm, bool wait)
{
    CURLMsg *msg;
    int running = 0, left = 0;

    if (wait)
        curl_multi_poll(fm->multi, NULL, 0, 1000, NULL);
    curl_multi_perform(fm->multi, &running);
    while ((msg = curl_multi_info_read(fm->multi, &left))) {
        struct fetch_req *req = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
        req->done = true;
        req->rc = msg->data.result;
    }
}

int fetch_multi_finish(struct fetch_multi *fm, struct fetch_req *req, struct buf *out,
                       struct err *err)
{
    long status = 0;
    int ret = 0;

    buf_reset(out);
    multi_step(fm, false);
    while (!req->done)
        multi_step(fm, true);
    if (req->rc != CURLE_OK) {
        ret = err_set(err, ERR_INTERNAL, NULL, "GET %s: %s", req->url,
                      req->errbuf[0] ? req->errbuf : curl_easy_strerror(req->rc));
        goto out;
    }
    curl_easy_getinfo(req->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 404)
        ret = err_set(err, ERR_NOT_FOUND, NULL, "GET %s: not found (HTTP 404)", req->url);
    else if (status != 200)
        ret = err_set(err, ERR_INTERNAL, NULL, "GET %s: HTTP %ld", req->url, status);
    else
        buf_add(out, req->body.buf, req->body.len);
out:
    req_free(fm, req);
    return ret;
}

void fetch_multi_cancel(struct fetch_multi *fm, struct fetch_req *req)
{
    req_free(fm, req);
}
