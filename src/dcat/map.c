/*
 * map.c - reading CKAN package dicts the way every export reads them: extras, access
 * levels, dates, durations, frequencies, media types, licences, languages, contacts and
 * publishers, and the catalog search the exports walk. The choices are listed, field by
 * field, in docs/internals/dcat.md.
 */
#include <jansson.h>

#include "core/limits.h"
#include "core/timeutil.h"
#include "dcat/dcat-int.h"
#include "core/util.h"

const struct dcat_prefix dcat_prefixes[] = {
        {"rdf", NS_RDF},   {"rdfs", NS_RDFS},   {"xsd", NS_XSD},     {"dcat", NS_DCAT},
        {"dct", NS_DCT},   {"foaf", NS_FOAF},   {"vcard", NS_VCARD}, {"skos", NS_SKOS},
        {"spdx", NS_SPDX}, {"hydra", NS_HYDRA}, {"adms", NS_ADMS},   {"locn", NS_LOCN},
        {NULL, NULL},
};

void dcat_options_init(struct dcat_options *o, const struct config *cfg, const char *site_url)
{
    memset(o, 0, sizeof(*o));
    o->site_url = site_url;
    o->catalog_title = cfg->catalog_title && *cfg->catalog_title ? cfg->catalog_title : "Kaifang";
    o->catalog_description = cfg->catalog_description ? cfg->catalog_description : "";
    o->catalog_publisher = cfg->catalog_publisher ? cfg->catalog_publisher : "";
    o->contact_name = cfg->catalog_contact_name ? cfg->catalog_contact_name : "";
    o->contact_email = cfg->catalog_contact_email ? cfg->catalog_contact_email : "";
    o->bureau_code = cfg->bureau_code ? cfg->bureau_code : "";
    o->program_code = cfg->program_code ? cfg->program_code : "";
    o->page_size = cfg->catalog_page_size && cfg->catalog_page_size <= DCAT_PAGE_SIZE_MAX
                           ? cfg->catalog_page_size
                           : DCAT_PAGE_SIZE_DEFAULT;
}

/* ---- fields and extras --------------------------------------------------------------- */

const char *dcat_str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_string(v) && json_string_length(v) ? json_string_value(v) : NULL;
}

const char *dcat_extra(const json_t *pkg, const char *key)
{
    json_t *extras = json_object_get(pkg, "extras"), *e;
    size_t i;

    json_array_foreach (extras, i, e) {
        if (str_eq(json_string_value(json_object_get(e, "key")), key))
            return dcat_str(e, "value");
    }
    return NULL;
}

static void list_add(json_t *list, const char *s, size_t len)
{
    json_t *v, *x;
    size_t i;

    while (len && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
        s++;
        len--;
    }
    while (len &&
           (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    if (!len)
        return;
    v = json_stringn(s, len);
    if (!v)
        return;
    json_array_foreach (list, i, x) {
        if (json_equal(x, v)) {
            json_decref(v);
            return;
        }
    }
    json_array_append_new(list, v);
}

json_t *dcat_extra_list(const json_t *pkg, const char *key)
{
    const char *v = dcat_extra(pkg, key), *comma;
    json_t *list = json_array(), *parsed, *x;
    size_t i;

    if (!v)
        return list;
    if (v[0] == '[') {
        parsed = json_loads(v, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_array(parsed)) {
            json_array_foreach (parsed, i, x) {
                if (json_is_string(x))
                    list_add(list, json_string_value(x), json_string_length(x));
            }
            json_decref(parsed);
            return list;
        }
        json_decref(parsed);
    }
    while ((comma = strchr(v, ','))) {
        list_add(list, v, (size_t)(comma - v));
        v = comma + 1;
    }
    list_add(list, v, strlen(v));
    return list;
}

const char *dcat_access_level(const json_t *pkg)
{
    const char *s = dcat_str(pkg, "access_level");

    if (str_eq(s, "restricted public") || str_eq(s, "non-public"))
        return s;
    return "public";
}

bool dcat_is_public(const json_t *pkg)
{
    return !strcmp(dcat_access_level(pkg), "public");
}

/* ---- shapes of values ---------------------------------------------------------------- */

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* \w of the POD schema's patterns (JavaScript without the u flag: ASCII). */
static bool is_word(int c)
{
    return is_alpha(c) || is_digit(c) || c == '_';
}

bool dcat_url_ok(const char *url)
{
    const char *host;

    if (!url)
        return false;
    if (!strncasecmp(url, "http://", 7) || !strncasecmp(url, "ftp://", 6))
        host = strstr(url, "://") + 3;
    else if (!strncasecmp(url, "https://", 8))
        host = url + 8;
    else
        return false;
    if (!*host || *host == '/' || *host == '?' || *host == '#' || strlen(url) > LIMIT_URL_MAX)
        return false;
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

static bool is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char *dcat_url_encode(const char *url)
{
    struct buf b = BUF_INIT;

    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr("\"<>\\^`{|}", *p) ||
            (*p == '%' && !(is_hex(p[1]) && is_hex(p[2]))))
            buf_addf(&b, "%%%02X", *p);
        else
            buf_addch(&b, *p);
    }
    return buf_detach(&b, NULL);
}

bool dcat_email_ok(const char *s)
{
    const char *at, *dot;

    if (!s || !(at = strchr(s, '@')) || at == s || strlen(s) > 254)
        return false;
    for (const char *p = s; p < at; p++) {
        if (!is_word(*p) && !strchr("~!$&'()*+,;=:.-", *p))
            return false;
    }
    for (const char *p = at + 1; *p; p++) {
        if (!is_word(*p) && *p != '.' && *p != '-')
            return false;
    }
    dot = strrchr(at + 1, '.');
    return dot && dot > at + 1 && dot[1];
}

/* Length of a run of [-\w] at s. */
static size_t word_run(const char *s)
{
    size_t n = 0;

    while (is_word(s[n]) || s[n] == '-')
        n++;
    return n;
}

bool dcat_media_type_ok(const char *s)
{
    size_t n;

    if (!s || !(n = word_run(s)) || s[n] != '/')
        return false;
    s += n + 1;
    if (!(n = word_run(s)))
        return false;
    s += n;
    while (*s == '.') {
        if (!(n = word_run(s + 1)))
            return false;
        s += n + 1;
    }
    if (*s == '+') {
        if (!(n = word_run(s + 1)))
            return false;
        s += n + 1;
    }
    return !*s;
}

/* Reads exactly n digits at *s into *v. */
static bool digits(const char **s, unsigned n, unsigned *v)
{
    *v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!is_digit((*s)[i]))
            return false;
        *v = *v * 10 + (unsigned)((*s)[i] - '0');
    }
    *s += n;
    return true;
}

static unsigned month_days(unsigned y, unsigned m)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

enum dcat_date dcat_date_kind(const char *s)
{
    unsigned y, m, d, hh, mm, ss, zh, zm;

    if (!s || !digits(&s, 4, &y))
        return DCAT_DATE_NONE;
    if (!*s)
        return DCAT_DATE_YEAR;
    if (*s++ != '-' || !digits(&s, 2, &m) || m < 1 || m > 12)
        return DCAT_DATE_NONE;
    if (!*s)
        return DCAT_DATE_YEAR_MONTH;
    if (*s++ != '-' || !digits(&s, 2, &d) || d < 1 || d > month_days(y, m))
        return DCAT_DATE_NONE;
    if (!*s)
        return DCAT_DATE_DAY;
    /* xsd:dateTime needs the seconds. */
    if (*s++ != 'T' || !digits(&s, 2, &hh) || hh > 23 || *s++ != ':' || !digits(&s, 2, &mm) ||
        mm > 59 || *s++ != ':' || !digits(&s, 2, &ss) || ss > 59)
        return DCAT_DATE_NONE;
    if (*s == '.') {
        s++;
        if (!is_digit(*s))
            return DCAT_DATE_NONE;
        while (is_digit(*s))
            s++;
    }
    if (*s == 'Z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        s++;
        if (!digits(&s, 2, &zh) || zh > 14 || *s++ != ':' || !digits(&s, 2, &zm) || zm > 59)
            return DCAT_DATE_NONE;
    }
    return *s ? DCAT_DATE_NONE : DCAT_DATE_TIME;
}

const char *dcat_date_datatype(enum dcat_date kind)
{
    switch (kind) {
    case DCAT_DATE_YEAR:
        return NS_XSD "gYear";
    case DCAT_DATE_YEAR_MONTH:
        return NS_XSD "gYearMonth";
    case DCAT_DATE_DAY:
        return NS_XSD "date";
    case DCAT_DATE_TIME:
        return NS_XSD "dateTime";
    default:
        return NULL;
    }
}

/* Reads the numbers and designators of a duration part: each of designators at most
 * once and in that order, "n" or "n.n" before each. Returns how many were read, or -1. */
static int duration_part(const char **s, const char *designators)
{
    int found = 0;

    while (is_digit(**s)) {
        const char *d;

        while (is_digit(**s))
            (*s)++;
        if (**s == '.') {
            (*s)++;
            if (!is_digit(**s))
                return -1;
            while (is_digit(**s))
                (*s)++;
        }
        d = **s ? strchr(designators, **s) : NULL;
        if (!d)
            return -1;
        designators = d + 1;
        (*s)++;
        found++;
    }
    return found;
}

bool dcat_duration_ok(const char *s)
{
    int date, time = 0;

    if (!s || *s++ != 'P')
        return false;
    date = duration_part(&s, "YMWD");
    if (date < 0)
        return false;
    if (*s == 'T') {
        s++;
        time = duration_part(&s, "HMS");
        if (time <= 0)
            return false;
    }
    return !*s && date + time > 0;
}

bool dcat_temporal_split(const char *s, char *start, char *end, size_t size)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    size_t len;
    bool d1, d2;

    if (!slash || strchr(slash + 1, '/'))
        return false;
    len = (size_t)(slash - s);
    if (len >= size || strlen(slash + 1) >= size)
        return false;
    memcpy(start, s, len);
    start[len] = '\0';
    xsnprintf(end, size, "%s", slash + 1);
    d1 = dcat_date_kind(start) != DCAT_DATE_NONE;
    d2 = dcat_date_kind(end) != DCAT_DATE_NONE;
    /* DCAT-US: date/date, date/duration or duration/date. */
    return (d1 && d2) || (d1 && dcat_duration_ok(end)) || (d2 && dcat_duration_ok(start));
}

bool dcat_frequency_ok(const char *s)
{
    return str_eq(s, "irregular") || (s && starts_with(s, "R/") && dcat_duration_ok(s + 2));
}

const char *dcat_frequency_eu(const char *s)
{
    /* The DCAT-US frequency list (project-open-data v1.1, accrualPeriodicity) against
     * the EU frequency authority table. */
    static const char *const map[][2] = {
            {"irregular", "IRREG"},   {"R/PT1S", "CONT"},        {"R/PT1H", "HOURLY"},
            {"R/P1D", "DAILY"},       {"R/P3.5D", "WEEKLY_2"},   {"R/P0.5W", "WEEKLY_2"},
            {"R/P0.33W", "WEEKLY_3"}, {"R/P1W", "WEEKLY"},       {"R/P2W", "BIWEEKLY"},
            {"R/P0.5M", "MONTHLY_2"}, {"R/P0.33M", "MONTHLY_3"}, {"R/P1M", "MONTHLY"},
            {"R/P2M", "BIMONTHLY"},   {"R/P3M", "QUARTERLY"},    {"R/P4M", "ANNUAL_3"},
            {"R/P6M", "ANNUAL_2"},    {"R/P1Y", "ANNUAL"},       {"R/P2Y", "BIENNIAL"},
            {"R/P3Y", "TRIENNIAL"},   {"R/P4Y", "QUADRENNIAL"},  {"R/P5Y", "QUINQUENNIAL"},
            {"R/P10Y", "DECENNIAL"},
    };

    for (size_t i = 0; s && i < ARRAY_SIZE(map); i++) {
        if (!strcmp(s, map[i][0]))
            return map[i][1];
    }
    return NULL;
}

void dcat_timestamp(const char *ckan, char *out, size_t size)
{
    size_t len = ckan ? strlen(ckan) : 0;
    /* After "YYYY-MM-DDThh:mm:ss" of a date-time: a fraction and a zone, if any. */
    const char *tail = len > 19 ? ckan + 19 : "";

    /* A date-time without a zone: CKAN writes UTC. */
    if (dcat_date_kind(ckan) == DCAT_DATE_TIME && !strpbrk(tail, "Z+-"))
        xsnprintf(out, size, "%.*sZ", (int)(size > 2 ? size - 2 : 0), ckan);
    else
        xsnprintf(out, size, "%.*s", (int)(size > 1 ? size - 1 : 0), ckan ? ckan : "");
}

static void dataset_date(const json_t *pkg, const char *extra, const char *field, char *out,
                         size_t size)
{
    const char *s = dcat_extra(pkg, extra);

    if (s && dcat_date_kind(s) != DCAT_DATE_NONE && strlen(s) < size)
        xsnprintf(out, size, "%s", s);
    else
        dcat_timestamp(dcat_str(pkg, field), out, size);
}

void dcat_dataset_modified(const json_t *pkg, char *out, size_t size)
{
    dataset_date(pkg, "modified", "metadata_modified", out, size);
}

void dcat_dataset_issued(const json_t *pkg, char *out, size_t size)
{
    dataset_date(pkg, "issued", "metadata_created", out, size);
}

/* ---- formats, licences, languages ----------------------------------------------------- */

static const struct dcat_file_format file_formats[] = {
        {"CSV", "text/csv", "CSV", "csv"},
        {"TSV", "text/tab-separated-values", "TSV", "tsv"},
        {"JSON", "application/json", "JSON", "json"},
        {"NDJSON", "application/x-ndjson", NULL, "ndjson"},
        {"XLS", "application/vnd.ms-excel", "XLS", "xls"},
        {"XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX",
         "xlsx"},
        {"ODS", "application/vnd.oasis.opendocument.spreadsheet", "ODS", "ods"},
        {"XML", "application/xml", "XML", "xml"},
        {"GeoJSON", "application/geo+json", "GEOJSON", "geojson"},
        {"PDF", "application/pdf", "PDF", "pdf"},
        {"ZIP", "application/zip", "ZIP", "zip"},
        {"TXT", "text/plain", "TXT", "txt"},
        {"HTML", "text/html", "HTML", "html"},
        {"Parquet", "application/vnd.apache.parquet", "PARQUET", "parquet"},
        {"RDF", "application/rdf+xml", "RDF_XML", "rdf"},
        {"TTL", "text/turtle", "RDF_TURTLE", "ttl"},
        {"JSON-LD", "application/ld+json", "JSON_LD", "jsonld"},
};

const struct dcat_file_format *dcat_file_format(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_SIZE(file_formats); i++) {
        if (!strcasecmp(name, file_formats[i].name))
            return &file_formats[i];
    }
    return NULL;
}

const char *dcat_resource_media_type(const json_t *res, char *out, size_t size)
{
    const char *m = dcat_str(res, "mimetype");
    const struct dcat_file_format *ff;

    if (m) {
        size_t len = strcspn(m, ";");

        while (len && m[len - 1] == ' ')
            len--;
        if (len < size) {
            memcpy(out, m, len);
            out[len] = '\0';
            for (char *p = out; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
            if (dcat_media_type_ok(out))
                return out;
        }
    }
    ff = dcat_file_format(dcat_str(res, "format"));
    if (!ff && str_eq(dcat_str(res, "url_type"), "datastore"))
        ff = dcat_file_format("CSV"); /* a table only: its url is its CSV dump */
    if (!ff)
        return NULL;
    xsnprintf(out, size, "%s", ff->media_type);
    return out;
}

char *dcat_license_url(const json_t *pkg)
{
    const char *candidates[] = {dcat_str(pkg, "license_url"), dcat_extra(pkg, "license_url"),
                                dcat_extra(pkg, "source_license_url")};

    for (size_t i = 0; i < ARRAY_SIZE(candidates); i++) {
        if (dcat_url_ok(candidates[i]))
            return xstrdup(candidates[i]);
    }
    return NULL;
}

void dcat_language_tag(const char *tag, char *out, size_t size)
{
    size_t i, seg = 0, nseg = 0;
    bool ok = tag && *tag && strlen(tag) < size;

    for (i = 0; ok && tag[i]; i++) {
        char c = tag[i];

        if (c == '-' || c == '_') {
            ok = seg > 0;
            seg = 0;
            nseg++;
            out[i] = '-';
            continue;
        }
        ok = (is_alpha(c) || (is_digit(c) && nseg > 0)) && ++seg <= 8;
        out[i] = c;
    }
    if (ok && seg > 0) {
        size_t first = strcspn(tag, "-_");

        out[i] = '\0';
        if (first >= 2 && first <= 3)
            return;
    }
    if (size)
        out[0] = '\0';
}

const char *dcat_language_eu(const char *tag)
{
    /* ISO 639-1 → the EU language authority table (ISO 639-3 based codes). */
    static const char *const map[][2] = {
            {"ar", "ARA"}, {"bg", "BUL"}, {"bs", "BOS"}, {"ca", "CAT"}, {"cs", "CES"},
            {"cy", "CYM"}, {"da", "DAN"}, {"de", "DEU"}, {"el", "ELL"}, {"en", "ENG"},
            {"es", "SPA"}, {"et", "EST"}, {"eu", "EUS"}, {"fa", "FAS"}, {"fi", "FIN"},
            {"fr", "FRA"}, {"ga", "GLE"}, {"gl", "GLG"}, {"he", "HEB"}, {"hi", "HIN"},
            {"hr", "HRV"}, {"hu", "HUN"}, {"id", "IND"}, {"is", "ISL"}, {"it", "ITA"},
            {"ja", "JPN"}, {"ko", "KOR"}, {"lb", "LTZ"}, {"lt", "LIT"}, {"lv", "LAV"},
            {"mk", "MKD"}, {"ms", "MSA"}, {"mt", "MLT"}, {"nb", "NOB"}, {"nl", "NLD"},
            {"nn", "NNO"}, {"no", "NOR"}, {"pl", "POL"}, {"pt", "POR"}, {"ro", "RON"},
            {"ru", "RUS"}, {"sk", "SLK"}, {"sl", "SLV"}, {"sq", "SQI"}, {"sr", "SRP"},
            {"sv", "SWE"}, {"th", "THA"}, {"tr", "TUR"}, {"uk", "UKR"}, {"vi", "VIE"},
            {"zh", "ZHO"},
    };
    size_t len = tag ? strcspn(tag, "-_") : 0;

    for (size_t i = 0; len == 2 && i < ARRAY_SIZE(map); i++) {
        if (!strncasecmp(tag, map[i][0], 2))
            return map[i][1];
    }
    return NULL;
}

/* ---- people and pages ------------------------------------------------------------------ */

const char *dcat_catalog_publisher(const struct dcat_options *o)
{
    return *o->catalog_publisher ? o->catalog_publisher : o->catalog_title;
}

const char *dcat_catalog_description(const struct dcat_options *o, char **to_free)
{
    *to_free = NULL;
    if (*o->catalog_description)
        return o->catalog_description;
    *to_free = xstrfmt("Open data published on %s.", o->site_url);
    return *to_free;
}

const char *dcat_publisher_name(const struct dcat_options *o, const json_t *pkg)
{
    const char *s = dcat_str(json_object_get(pkg, "organization"), "title");

    if (!s)
        s = dcat_extra(pkg, "publisher");
    return s ? s : dcat_catalog_publisher(o);
}

void dcat_contact(const struct dcat_options *o, const json_t *pkg, struct dcat_contact *ct)
{
    static const char *const pairs[][2] = {
            {"contact_name", "contact_email"},
            {"maintainer", "maintainer_email"},
            {"author", "author_email"},
    };
    const char *first_name = NULL;

    memset(ct, 0, sizeof(*ct));
    for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
        const char *name = dcat_str(pkg, pairs[i][0]), *email = dcat_str(pkg, pairs[i][1]);

        if (!first_name)
            first_name = name;
        if (dcat_email_ok(email)) {
            ct->name = name;
            ct->email = email;
            ct->individual = name != NULL;
            break;
        }
    }
    if (!ct->email && dcat_email_ok(o->contact_email)) {
        ct->email = o->contact_email;
        ct->name = *o->contact_name ? o->contact_name : NULL;
    } else if (!ct->email && first_name) {
        ct->name = first_name;
        ct->individual = true;
    }
    if (!ct->name) {
        ct->name = dcat_publisher_name(o, pkg);
        ct->individual = false;
    }
}

const char *dcat_description(const json_t *pkg)
{
    const char *s = dcat_str(pkg, "notes");

    if (!s)
        s = dcat_str(pkg, "title");
    return s ? s : dcat_str(pkg, "name");
}

void dcat_dataset_page(const struct dcat_options *o, const json_t *pkg, struct buf *out)
{
    buf_addf(out, "%s/dataset/%s", o->site_url, dcat_str(pkg, "name") ? dcat_str(pkg, "name") : "");
}

void dcat_resource_urls(const json_t *pkg, const json_t *res, const char *media_type,
                        const char *page, const char **download, const char **access)
{
    const char *url = dcat_str(res, "url");

    *download = NULL;
    *access = page;
    if (!dcat_is_public(pkg) || !dcat_url_ok(url))
        return;
    *access = url;
    /* A file whose media type is known (DCAT-US requires mediaType with downloadURL): an
     * upload or a link. An API or a web page is reached through its accessURL only. */
    if (media_type && !str_eq(dcat_str(res, "resource_type"), "api") &&
        strcmp(media_type, "text/html"))
        *download = url;
}

json_t *dcat_codes(const json_t *pkg, const char *key, const char *configured, unsigned digits2)
{
    json_t *list = dcat_extra_list(pkg, key), *valid = json_array(), *v;
    size_t i;

    json_array_foreach (list, i, v) {
        const char *s = json_string_value(v);
        bool ok = strlen(s) == 4 + digits2 && s[3] == ':';

        for (unsigned k = 0; ok && k < 4 + digits2; k++)
            ok = k == 3 || is_digit(s[k]);
        if (ok)
            json_array_append(valid, v);
    }
    json_decref(list);
    if (json_array_size(valid) || !configured || !*configured)
        return valid;
    /* The configuration holds a checked, normalised "a,b" list (config.c). */
    for (const char *p = configured; *p;) {
        size_t len = strcspn(p, ",");

        json_array_append_new(valid, json_stringn(p, len));
        p += len + (p[len] == ',');
    }
    return valid;
}

/* ---- the catalog, as the public sees it ------------------------------------------------ */

int dcat_search(struct catalog *c, size_t start, size_t rows, json_t **results, size_t *count,
                struct err *err)
{
    struct actor anon = ACTOR_ANONYMOUS;
    json_t *params, *res = NULL;
    int ret;

    *results = NULL;
    *count = 0;
    /* Name order: stable between pages, and what package_list orders by. */
    params = json_pack("{s:s,s:s,s:I,s:I}", "q", "", "sort", "name asc", "rows", (json_int_t)rows,
                       "start", (json_int_t)start);
    ret = catalog_package_search(c, &anon, params, &res, err);
    if (ret)
        goto out;
    *count = (size_t)json_integer_value(json_object_get(res, "count"));
    *results = json_incref(json_object_get(res, "results"));
    if (!json_is_array(*results)) {
        json_decref(*results);
        *results = json_array();
    }
out:
    json_decref(params);
    json_decref(res);
    return ret;
}

int dcat_show(struct catalog *c, const char *id_or_name, json_t **pkg, struct err *err)
{
    struct actor anon = ACTOR_ANONYMOUS;
    json_t *params = json_pack("{s:s}", "id", id_or_name);
    int ret;

    *pkg = NULL;
    if (!params)
        return err_set(err, ERR_NOT_FOUND, "id", "dataset not found");
    ret = catalog_package_show(c, &anon, params, pkg, err);
    json_decref(params);
    return ret;
}
