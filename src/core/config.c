/*
 * config.c - <portal>/kaifang.conf and the flags that override it.
 *
 * The format is deliberately small (git's config without sections): "key = value" per
 * line, '#' at the start of a line or after white space starts a comment, a value may
 * be wrapped in double quotes to keep leading/trailing spaces or to be empty. Keys are
 * the names of struct config's fields; '-' is accepted for '_' so that the flag
 * "--max-body" and the key "max_body" are one thing.
 */
#include <fcntl.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/limits.h"
#include "core/parse.h"
#include "core/util.h"

#define CONFIG_FILE     "kaifang.conf"
#define CONFIG_FILE_MAX (64u * 1024)
#define CONFIG_KEY_MAX  64

/* Bounds on the numeric keys: wide enough for any real deployment, narrow enough that
 * a typo (an extra zero or two) is caught at start-up instead of exhausting memory. */
#define MAX_BODY_MIN        1024u
#define MAX_BODY_MAX        ((uint64_t)1 << 30)
#define MAX_UPLOAD_MIN      1024u
#define MAX_UPLOAD_MAX      ((uint64_t)1 << 40)
#define MAX_HEADER_MIN      1024u
#define MAX_HEADER_MAX      (1u << 20)
#define MAX_CONNECTIONS_MAX 65536u
#define IDLE_TIMEOUT_MAX    86400u
#define THREADS_MAX         256u
#define PAGE_SIZE_MAX       1000u /* catalog_page_size: package_search's rows_max */
#define CODES_MAX           16u   /* entries of bureau_code, program_code */

static char *absolute_dir(const char *dir)
{
    struct buf b = BUF_INIT;
    char *cwd = NULL;

    if (!dir || !*dir)
        dir = ".";
    if (dir[0] != '/') {
        cwd = getcwd(NULL, 0);
        if (!cwd)
            die("cannot read the current directory: %s", strerror(errno));
        buf_addstr(&b, cwd);
        /* "." and "./x" are common; keep the result readable in messages. */
        while (dir[0] == '.' && (dir[1] == '/' || dir[1] == '\0')) {
            dir += dir[1] ? 2 : 1;
            while (*dir == '/')
                dir++;
        }
        if (*dir && strcmp(cwd, "/"))
            buf_addch(&b, '/');
    }
    buf_addstr(&b, dir);
    while (b.len > 1 && b.buf[b.len - 1] == '/')
        buf_setlen(&b, b.len - 1);
    free(cwd);
    return buf_detach(&b, NULL);
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 2)
        return 2;
    if (n > (long)THREADS_MAX)
        return THREADS_MAX;
    return (unsigned)n;
}

void config_defaults(struct config *c, const char *portal_dir)
{
    memset(c, 0, sizeof(*c));
    c->portal_dir = absolute_dir(portal_dir);
    c->listen = xstrdup("127.0.0.1:8080");
    c->store_url = xstrfmt("sqlite:%s/kaifang.db", c->portal_dir);
    c->site_url = xstrfmt("http://%s", c->listen);
    c->access_log = xstrdup("-");
    c->max_body = LIMIT_HTTP_BODY;
    c->max_upload = LIMIT_HTTP_UPLOAD;
    c->max_header = LIMIT_HTTP_HEADER;
    c->max_connections = LIMIT_HTTP_CONNECTIONS;
    c->max_connections_per_ip = LIMIT_HTTP_CONNECTIONS_PER_IP;
    c->idle_timeout = LIMIT_HTTP_IDLE_SECONDS;
    c->threads = online_cpus();
    c->catalog_title = xstrdup("Kaifang");
    c->catalog_description = xstrdup("");
    c->catalog_publisher = xstrdup("");
    c->catalog_contact_name = xstrdup("");
    c->catalog_contact_email = xstrdup("");
    c->bureau_code = xstrdup("");
    c->program_code = xstrdup("");
    c->catalog_page_size = 100;
    c->privacy_k = 5;
    c->views_flush = 60;
}

void config_release(struct config *c)
{
    free(c->portal_dir);
    free(c->listen);
    free(c->store_url);
    free(c->read_store);
    free(c->site_url);
    free(c->access_log);
    free(c->catalog_title);
    free(c->catalog_description);
    free(c->catalog_publisher);
    free(c->catalog_contact_name);
    free(c->catalog_contact_email);
    free(c->bureau_code);
    free(c->program_code);
    memset(c, 0, sizeof(*c));
}

static void replace(char **slot, char *value)
{
    free(*slot);
    *slot = value;
}

/* "HOST:PORT", "[IPV6]:PORT"; port 0..65535 (0: any free port). */
static bool listen_ok(const char *v)
{
    const char *colon = strrchr(v, ':');
    int64_t port;

    if (!colon || colon == v || strlen(v) > 300)
        return false;
    if (v[0] == '[' && colon[-1] != ']')
        return false;
    for (const char *p = v; p < colon; p++) {
        if (*p <= ' ' || *p == '/' || *p == '#' || *p == '?' || *p == '@' ||
            (unsigned char)*p >= 0x7f)
            return false;
    }
    return parse_i64(colon + 1, 0, 65535, &port) == 0;
}

static bool site_url_ok(const char *v)
{
    const char *host;

    if (starts_with(v, "http://"))
        host = v + 7;
    else if (starts_with(v, "https://"))
        host = v + 8;
    else
        return false;
    if (!*host || *host == '/' || strlen(v) > LIMIT_URL_MAX)
        return false;
    for (const char *p = v; *p; p++) {
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '"' || *p == '<' ||
            *p == '>' || *p == '\\')
            return false;
    }
    return true;
}

/* Text for the metadata exports: valid UTF-8 of at most max bytes, no control
 * characters (a title or a name ends up in XML, Turtle and JSON alike). */
static bool text_ok(const char *v, size_t max)
{
    const unsigned char *s = (const unsigned char *)v;
    size_t len = strlen(v);

    if (len > max)
        return false;
    while (*s) {
        size_t n = *s < 0x80                  ? 1
                   : *s >= 0xc2 && *s <= 0xdf ? 2
                   : *s >= 0xe0 && *s <= 0xef ? 3
                   : *s >= 0xf0 && *s <= 0xf4 ? 4
                                              : 0;
        uint32_t cp = n == 1 ? *s : n == 2 ? *s & 0x1f : n == 3 ? *s & 0x0f : *s & 0x07;

        if (!n || *s < 0x20 || *s == 0x7f)
            return false;
        for (size_t i = 1; i < n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0x80 && cp < 0xa0))
            return false;
        s += n;
    }
    return true;
}

/* An e-mail address that DCAT-US's contactPoint.hasEmail pattern accepts after
 * "mailto:" (project-open-data v1.1 vcard.json): a local part of ASCII letters, digits
 * and _~!$&'()*+,;=:.- ; '@'; a domain of letters, digits, '_', '-' and '.' with a dot
 * that has something on both sides. "" is "not set". */
static bool email_ok(const char *v)
{
    const char *at = strchr(v, '@'), *dot;

    if (!*v)
        return true;
    if (!at || at == v || strlen(v) > 254)
        return false;
    for (const char *p = v; p < at; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_~!$&'()*+,;=:.-", *p)))
            return false;
    for (const char *p = at + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_.-", *p)))
            return false;
    dot = strrchr(at + 1, '.');
    return dot && dot > at + 1 && dot[1];
}

/* A comma-separated list of OMB codes: "DDD:DD" bureau codes (digits2 = 2) or "DDD:DDD"
 * program codes (digits2 = 3); spaces around the commas allowed, no duplicates, at most
 * CODES_MAX; "" is the empty list. *out: the list normalised ("015:11,015:12"), to
 * free(). */
static bool codes_ok(const char *v, unsigned digits2, char **out)
{
    struct buf b = BUF_INIT;
    unsigned n = 0;
    const char *p = v;

    while (*p == ' ' || *p == '\t')
        p++;
    while (*p) {
        const char *start = p;
        size_t len;

        for (unsigned i = 0; i < 3 + 1 + digits2; i++, p++) {
            bool colon = i == 3;

            if (colon ? *p != ':' : !(*p >= '0' && *p <= '9'))
                goto bad;
        }
        len = (size_t)(p - start);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ',')
            goto bad;
        for (size_t at = 0; at < b.len; at += len + 1)
            if (!strncmp(b.buf + at, start, len))
                goto bad;
        if (++n > CODES_MAX)
            goto bad;
        if (b.len)
            buf_addch(&b, ',');
        buf_add(&b, start, len);
        if (*p == ',') {
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            if (!*p)
                goto bad;
        }
    }
    *out = buf_detach(&b, NULL);
    return true;
bad:
    buf_release(&b);
    return false;
}

/* A byte count with an optional binary suffix: "1048576", "512k", "1M", "2G". */
static int parse_size(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    char digits[32];
    size_t len = strlen(v);
    unsigned shift = 0;
    uint64_t n;

    if (len == 0 || len >= sizeof(digits))
        return -1;
    switch (v[len - 1]) {
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    default:
        break;
    }
    if (shift)
        len--;
    memcpy(digits, v, len);
    digits[len] = '\0';
    if (parse_u64(digits, UINT64_MAX >> shift, &n))
        return -1;
    n <<= shift;
    if (n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

static int parse_uint(const char *v, unsigned min, unsigned max, unsigned *out)
{
    uint64_t n;

    if (parse_u64(v, max, &n) || n < min)
        return -1;
    *out = (unsigned)n;
    return 0;
}

/* parse_uint() for key k; on failure *ret gets an error naming the range, and true. */
static bool uint_key(const char *v, unsigned min, unsigned max, unsigned *out, const char *k,
                     struct err *err, int *ret)
{
    if (!parse_uint(v, min, max, out))
        return false;
    *ret = err_set(err, ERR_VALIDATION, k,
                   "invalid value \"%.200s\" for key \"%s\": an integer from %u to %u", v, k, min,
                   max);
    return true;
}

int config_set(struct config *c, const char *key, const char *value, struct err *err)
{
    char k[CONFIG_KEY_MAX];
    size_t len = strlen(key);
    uint64_t size;
    int ret = 0;

    if (len == 0 || len >= sizeof(k)) {
        ret = err_set(err, ERR_VALIDATION, NULL, "unknown key \"%.*s\"", CONFIG_KEY_MAX, key);
        goto out;
    }
    for (size_t i = 0; i <= len; i++)
        k[i] = key[i] == '-' ? '_' : key[i];

    if (!strcmp(k, "listen")) {
        if (!listen_ok(value))
            goto bad;
        /* A site_url still derived from the listen address follows it. */
        if (c->site_url && c->listen && starts_with(c->site_url, "http://") &&
            !strcmp(c->site_url + 7, c->listen))
            replace(&c->site_url, xstrfmt("http://%s", value));
        replace(&c->listen, xstrdup(value));
    } else if (!strcmp(k, "site_url")) {
        struct buf b = BUF_INIT;

        if (!site_url_ok(value))
            goto bad;
        buf_addstr(&b, value);
        while (b.len && b.buf[b.len - 1] == '/')
            buf_setlen(&b, b.len - 1);
        replace(&c->site_url, buf_detach(&b, NULL));
    } else if (!strcmp(k, "store_url")) {
        if (starts_with(value, "sqlite:") && value[7]) {
            /* A relative SQLite path is relative to the portal, not to the cwd. */
            if (value[7] == '/')
                replace(&c->store_url, xstrdup(value));
            else
                replace(&c->store_url, xstrfmt("sqlite:%s/%s", c->portal_dir, value + 7));
        } else if (starts_with(value, "postgresql://") || starts_with(value, "postgres://")) {
            replace(&c->store_url, xstrdup(value));
        } else {
            goto bad;
        }
    } else if (!strcmp(k, "read_store")) {
        /* A read replica of a PostgreSQL store_url ("" for none). */
        if (value[0] && !starts_with(value, "postgresql://") && !starts_with(value, "postgres://"))
            goto bad;
        replace(&c->read_store, xstrdup(value));
    } else if (!strcmp(k, "access_log")) {
        if (strlen(value) > PATH_MAX || strchr(value, '\n'))
            goto bad;
        if (value[0] && strcmp(value, "-") && value[0] != '/')
            replace(&c->access_log, xstrfmt("%s/%s", c->portal_dir, value));
        else
            replace(&c->access_log, xstrdup(value));
    } else if (!strcmp(k, "max_body")) {
        if (parse_size(value, MAX_BODY_MIN, MAX_BODY_MAX, &c->max_body))
            goto bad;
    } else if (!strcmp(k, "max_upload")) {
        if (parse_size(value, MAX_UPLOAD_MIN, MAX_UPLOAD_MAX, &c->max_upload))
            goto bad;
    } else if (!strcmp(k, "max_header")) {
        if (parse_size(value, MAX_HEADER_MIN, MAX_HEADER_MAX, &size))
            goto bad;
        c->max_header = (unsigned)size;
    } else if (!strcmp(k, "max_connections")) {
        if (uint_key(value, 1, MAX_CONNECTIONS_MAX, &c->max_connections, k, err, &ret))
            goto out;
    } else if (!strcmp(k, "max_connections_per_ip")) {
        if (uint_key(value, 0, MAX_CONNECTIONS_MAX, &c->max_connections_per_ip, k, err, &ret))
            goto out;
    } else if (!strcmp(k, "idle_timeout")) {
        if (uint_key(value, 1, IDLE_TIMEOUT_MAX, &c->idle_timeout, k, err, &ret))
            goto out;
    } else if (!strcmp(k, "threads")) {
        if (uint_key(value, 1, THREADS_MAX, &c->threads, k, err, &ret))
            goto out;
    } else if (!strcmp(k, "catalog_title") || !strcmp(k, "catalog_publisher") ||
               !strcmp(k, "catalog_contact_name")) {
        char **slot = &c->catalog_contact_name;

        if (!strcmp(k, "catalog_title"))
            slot = &c->catalog_title;
        else if (!strcmp(k, "catalog_publisher"))
            slot = &c->catalog_publisher;

        /* The title names the catalog: it may not be empty. */
        if (!text_ok(value, LIMIT_TITLE_MAX) || (slot == &c->catalog_title && !*value))
            goto bad;
        replace(slot, xstrdup(value));
    } else if (!strcmp(k, "catalog_description")) {
        if (!text_ok(value, LIMIT_TEXT_MAX))
            goto bad;
        replace(&c->catalog_description, xstrdup(value));
    } else if (!strcmp(k, "catalog_contact_email")) {
        if (!email_ok(value))
            goto bad;
        replace(&c->catalog_contact_email, xstrdup(value));
    } else if (!strcmp(k, "bureau_code") || !strcmp(k, "program_code")) {
        bool bureau = k[0] == 'b';
        char *codes;

        if (!codes_ok(value, bureau ? 2 : 3, &codes))
            goto bad;
        replace(bureau ? &c->bureau_code : &c->program_code, codes);
    } else if (!strcmp(k, "catalog_page_size")) {
        if (uint_key(value, 1, PAGE_SIZE_MAX, &c->catalog_page_size, k, err, &ret))
            goto out;
    } else if (!strcmp(k, "privacy_k")) {
        if (uint_key(value, 1, 1000, &c->privacy_k, k, err, &ret))
            goto out;
    } else if (!strcmp(k, "views_flush")) {
        if (uint_key(value, 1, 86400, &c->views_flush, k, err, &ret))
            goto out;
    } else {
        ret = err_set(err, ERR_VALIDATION, NULL, "unknown key \"%s\"", k);
    }
    goto out;
bad:
    ret = err_set(err, ERR_VALIDATION, k, "invalid value \"%.200s\" for key \"%s\"", value, k);
out:
    return ret;
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

/* Splits one line in place into *key and *value (quotes removed). Blank and comment
 * lines give 0 with *key NULL. */
static int config_split(char *line, char **key, char **value, struct err *err)
{
    char *eq;

    *key = *value = NULL;
    /* '#' starts a comment at the start of a line or after white space, so that a
     * value such as a URL with a fragment survives. */
    for (char *p = line; *p; p++) {
        if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    }
    line = trim(line);
    if (!*line)
        return 0;
    eq = strchr(line, '=');
    if (!eq)
        return err_set(err, ERR_VALIDATION, NULL, "expected \"key = value\", got \"%.100s\"", line);
    *eq = '\0';
    *key = trim(line);
    *value = trim(eq + 1);
    if (**value == '"') {
        size_t len = strlen(*value);

        if (len < 2 || (*value)[len - 1] != '"')
            return err_set(err, ERR_VALIDATION, *key, "unterminated quoted value for key \"%s\"",
                           *key);
        (*value)[len - 1] = '\0';
        (*value)++;
    }
    if (!**key)
        return err_set(err, ERR_VALIDATION, NULL, "missing key before \"=\"");
    return 0;
}

/* A key seen in the file, in its '_' spelling, and the line it was on. */
struct seen_key {
    char key[CONFIG_KEY_MAX];
    unsigned line;
};

static int read_small_file(const char *path, size_t max, struct buf *out, bool *missing,
                           struct err *err)
{
    char chunk[4096];
    ssize_t n;
    int fd = -1, ret = 0;

    *missing = false;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            *missing = true;
        else
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot open \"%s\": %s", path, strerror(errno));
        goto out;
    }
    buf_init(out, max);
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot read \"%s\": %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        buf_add(out, chunk, (size_t)n);
        if (buf_failed(out)) {
            ret = err_set(err, ERR_TOO_LARGE, NULL, "\"%s\" is larger than %zu bytes", path, max);
            goto out;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    return ret;
}

int config_load(struct config *c, struct err *err)
{
    struct buf text = BUF_INIT;
    char *path = xstrfmt("%s/" CONFIG_FILE, c->portal_dir);
    char *line, *next;
    struct seen_key seen[32];
    size_t nseen = 0;
    bool missing;
    unsigned lineno = 0;
    int ret;

    ret = read_small_file(path, CONFIG_FILE_MAX, &text, &missing, err);
    if (ret || missing)
        goto out;
    if (memchr(text.buf, '\0', text.len)) {
        ret = err_set(err, ERR_VALIDATION, NULL, CONFIG_FILE ": contains a NUL byte");
        goto out;
    }
    for (line = text.buf; line; line = next) {
        struct err e = ERR_INIT;
        char *key, *value;

        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        ret = config_split(line, &key, &value, &e);
        if (!ret && key) {
            size_t i, len = strlen(key);

            /* A key given twice is a mistake (two listen lines: which one was meant?),
             * not "last wins"; "max-body" and "max_body" are the same key. */
            for (i = 0; i < nseen && len < CONFIG_KEY_MAX; i++) {
                size_t j;

                for (j = 0; j <= len; j++)
                    if ((key[j] == '-' ? '_' : key[j]) != seen[i].key[j])
                        break;
                if (j > len)
                    break;
            }
            if (i < nseen) {
                ret = err_set(&e, ERR_VALIDATION, seen[i].key,
                              "duplicate key \"%s\" (first on line %u)", seen[i].key, seen[i].line);
            } else {
                ret = config_set(c, key, value, &e);
                /* Every key config_set() accepts is shorter than CONFIG_KEY_MAX, and
                 * there are fewer of them than seen[] holds. */
                if (!ret && nseen < ARRAY_SIZE(seen) && len < CONFIG_KEY_MAX) {
                    for (size_t j = 0; j <= len; j++)
                        seen[nseen].key[j] = key[j] == '-' ? '_' : key[j];
                    seen[nseen++].line = lineno;
                }
            }
        }
        if (ret) {
            err_set(err, e.kind, e.field, CONFIG_FILE ":%u: %s", lineno, e.msg);
            goto out;
        }
    }
out:
    buf_release(&text);
    free(path);
    return ret;
}

int config_write_default(const struct config *c, struct err *err)
{
    struct buf b = BUF_INIT;
    char *path = xstrfmt("%s/" CONFIG_FILE, c->portal_dir);
    char *dflt = xstrfmt("sqlite:%s/kaifang.db", c->portal_dir);
    bool store_default = !strcmp(c->store_url, dflt);
    int fd = -1, ret = 0;
    size_t off = 0;

    buf_addf(&b,
             "# kaifang.conf - the portal configuration (see README.md, \"Configuration\").\n"
             "# Lines are \"key = value\"; '#' starts a comment. Command-line flags override\n"
             "# these values: --listen, --site-url, --max-body, ... The defaults are shown.\n"
             "\n"
             "# Address and port to listen on (port 0 picks a free port).\n"
             "# listen = %s\n"
             "\n"
             "# Public base URL, used in resource download links. Default: http://<listen>\n"
             "# site_url = %s\n"
             "\n"
             "# Store: sqlite:PATH (relative to the portal) or a libpq connection URI,\n"
             "# postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?...] (the password may instead\n"
             "# come from ~/.pgpass, a service file or PGPASSWORD).\n"
             "%sstore_url = %s\n"
             "\n"
             "# Access log (JSON lines): a path, - for standard output, \"\" for none.\n"
             "# access_log = -\n"
             "\n"
             "# Limits. Sizes take an optional k, M or G suffix (binary units).\n"
             "# max_body = %" PRIu64 "\n"
             "# max_upload = %" PRIu64 "\n"
             "# max_header = %u\n"
             "# max_connections = %u\n"
             "# idle_timeout = %u\n"
             "\n"
             "# Worker threads. Default: the number of online CPUs, at least 2.\n"
             "# threads = %u\n"
             "\n"
             "# The metadata exports (/data.json, /catalog.ttl, ...): the catalog's title,\n"
             "# description and publisher; the contact of datasets that name none (DCAT-US\n"
             "# requires an e-mail address); OMB bureau and program codes for datasets\n"
             "# without their own (DCAT-US requires them of federal agencies:\n"
             "# bureau_code = 015:11, program_code = 015:001); datasets per catalog page.\n"
             "# catalog_title = %s\n"
             "# catalog_description = \"\"\n"
             "# catalog_publisher = \"\"\n"
             "# catalog_contact_name = \"\"\n"
             "# catalog_contact_email = \"\"\n"
             "# bureau_code = \"\"\n"
             "# program_code = \"\"\n"
             "# catalog_page_size = %u\n"
             "\n"
             "# The publish gate: the k of k-anonymity that the quasi-identifiers of a\n"
             "# public resource's table must reach (1 ... 1000).\n"
             "# privacy_k = %u\n"
             "\n"
             "# Seconds between two flushes of the server's dataset view counts to the\n"
             "# store (the home page's most-viewed datasets; 1 ... 86400).\n"
             "# views_flush = %u\n",
             c->listen, c->site_url, store_default ? "# " : "",
             store_default ? "sqlite:kaifang.db" : c->store_url, c->max_body, c->max_upload,
             c->max_header, c->max_connections, c->idle_timeout, c->threads, c->catalog_title,
             c->catalog_page_size, c->privacy_k, c->views_flush);

    /* A PostgreSQL URL may hold a password: then only the owner reads the file. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, store_default ? 0644 : 0600);
    if (fd < 0) {
        if (errno != EEXIST)
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot create \"%s\": %s", path,
                          strerror(errno));
        goto out;
    }
    while (off < b.len) {
        ssize_t n = write(fd, b.buf + off, b.len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\": %s", path,
                          strerror(errno));
            unlink(path);
            goto out;
        }
        off += (size_t)n;
    }
    if (close(fd) < 0) {
        fd = -1;
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\": %s", path, strerror(errno));
        unlink(path);
        goto out;
    }
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    buf_release(&b);
    free(dflt);
    free(path);
    return ret;
}

int config_file_set(const char *portal_dir, const char *key, const char *value, struct err *err)
{
    struct buf text = BUF_INIT, out = BUF_INIT;
    char *path = xstrfmt("%s/" CONFIG_FILE, portal_dir);
    char *tmp = xstrfmt("%s/" CONFIG_FILE ".tmp", portal_dir);
    char *line, *next;
    bool missing, done = false;
    int fd = -1, ret;
    size_t off = 0;

    if (strchr(value, '\n') || strchr(value, '#') || strchr(value, '"')) {
        ret = err_set(err, ERR_VALIDATION, key,
                      "the value of \"%s\" cannot be written to " CONFIG_FILE
                      " (it holds a newline, '#' or '\"')",
                      key);
        goto out;
    }
    ret = read_small_file(path, CONFIG_FILE_MAX, &text, &missing, err);
    if (ret)
        goto out;
    for (line = missing ? NULL : text.buf; line; line = next) {
        struct err e = ERR_INIT;
        char *copy, *k, *v;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!next && !*line)
            break;
        copy = xstrdup(line);
        if (!done && !config_split(copy, &k, &v, &e) && k && !strcmp(k, key)) {
            buf_addf(&out, "%s = %s\n", key, value);
            done = true;
        } else {
            buf_addf(&out, "%s\n", line);
        }
        free(copy);
    }
    if (!done)
        buf_addf(&out, "%s = %s\n", key, value);
    /* The value may be a PostgreSQL URL holding a password: owner only. */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot create \"%s\": %s", tmp, strerror(errno));
        goto out;
    }
    while (off < out.len) {
        ssize_t n = write(fd, out.buf + off, out.len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\": %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\": %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot replace \"%s\": %s", path, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (ret)
        unlink(tmp);
    buf_release(&text);
    buf_release(&out);
    free(path);
    free(tmp);
    return ret;
}
