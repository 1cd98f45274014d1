/*
 * detect.c - detectors over values, column-name hints, masking, the column
 * classification and the scan report (detect.h; docs/internals/privacy-detection.md).
 *
 * The scan is one pass over the rows with a fixed amount of state per column (counters
 * and three masked examples), so its memory does not grow with the table.
 */
#include "privacy/detect.h"
#include "core/util.h"

static const char *const kind_names[DETECT_COUNT] = {
        [DETECT_CN_RESIDENT_ID] = "cn_resident_id",
        [DETECT_CN_RESIDENT_ID_UNLISTED] = "cn_resident_id_unlisted_region",
        [DETECT_CN_RESIDENT_ID_15] = "cn_resident_id_15",
        [DETECT_CN_MOBILE] = "cn_mobile",
        [DETECT_CN_LANDLINE] = "cn_landline",
        [DETECT_BANK_CARD] = "bank_card",
        [DETECT_CN_PASSPORT] = "cn_passport",
        [DETECT_EMAIL] = "email",
        [DETECT_US_SSN] = "us_ssn",
        [DETECT_IPV4] = "ipv4",
        [DETECT_IPV6] = "ipv6",
        [DETECT_CN_PLATE] = "cn_plate",
        [DETECT_CN_USCC] = "cn_uscc",
        [DETECT_DATE_OF_BIRTH] = "date_of_birth",
        [DETECT_POSTAL_CODE] = "postal_code",
};

const char *detect_kind_name(enum detect_kind k)
{
    return (unsigned)k < DETECT_COUNT ? kind_names[k] : "none";
}

bool detect_kind_personal(enum detect_kind k)
{
    return (unsigned)k < DETECT_COUNT && k != DETECT_CN_USCC && k != DETECT_DATE_OF_BIRTH &&
           k != DETECT_POSTAL_CODE;
}

const char *detect_class_name(enum detect_class c)
{
    switch (c) {
    case DETECT_CLASS_DIRECT:
        return "direct_identifier";
    case DETECT_CLASS_QUASI:
        return "quasi_identifier";
    case DETECT_CLASS_SENSITIVE:
        return "sensitive";
    default:
        return "other";
    }
}

bool detect_class_parse(const char *name, enum detect_class *out)
{
    static const enum detect_class all[] = {DETECT_CLASS_OTHER, DETECT_CLASS_DIRECT,
                                            DETECT_CLASS_QUASI, DETECT_CLASS_SENSITIVE};

    for (size_t i = 0; name && i < sizeof(all) / sizeof(all[0]); i++)
        if (!strcmp(name, detect_class_name(all[i]))) {
            *out = all[i];
            return true;
        }
    return false;
}

unsigned detect_class_rank(enum detect_class c)
{
    switch (c) {
    case DETECT_CLASS_DIRECT:
        return 3;
    case DETECT_CLASS_QUASI:
        return 2;
    case DETECT_CLASS_SENSITIVE:
        return 1;
    default:
        return 0;
    }
}

/* ---- Column-name hints ------------------------------------------------------------ */

struct hint_word {
    const char *word;
    unsigned hint;
};

/* English words, matched whole (lower case). */
static const struct hint_word hint_words[] = {
        {"name", DETECT_HINT_NAME},
        {"fullname", DETECT_HINT_NAME},
        {"firstname", DETECT_HINT_NAME},
        {"lastname", DETECT_HINT_NAME},
        {"surname", DETECT_HINT_NAME},
        {"forename", DETECT_HINT_NAME},
        {"givenname", DETECT_HINT_NAME},
        {"idcard", DETECT_HINT_ID},
        {"idnumber", DETECT_HINT_ID},
        {"idno", DETECT_HINT_ID},
        {"nationalid", DETECT_HINT_ID},
        {"citizenid", DETECT_HINT_ID},
        {"identity", DETECT_HINT_ID},
        {"phone", DETECT_HINT_PHONE},
        {"telephone", DETECT_HINT_PHONE},
        {"tel", DETECT_HINT_PHONE},
        {"mobile", DETECT_HINT_PHONE},
        {"cellphone", DETECT_HINT_PHONE},
        {"cell", DETECT_HINT_PHONE},
        {"fax", DETECT_HINT_PHONE},
        {"phonenumber", DETECT_HINT_PHONE},
        {"email", DETECT_HINT_EMAIL},
        {"mail", DETECT_HINT_EMAIL},
        {"address", DETECT_HINT_ADDRESS},
        {"addr", DETECT_HINT_ADDRESS},
        {"street", DETECT_HINT_ADDRESS},
        {"residence", DETECT_HINT_ADDRESS},
        {"domicile", DETECT_HINT_ADDRESS},
        {"card", DETECT_HINT_ACCOUNT},
        {"bankcard", DETECT_HINT_ACCOUNT},
        {"creditcard", DETECT_HINT_ACCOUNT},
        {"account", DETECT_HINT_ACCOUNT},
        {"iban", DETECT_HINT_ACCOUNT},
        {"ssn", DETECT_HINT_SSN},
        {"passport", DETECT_HINT_PASSPORT},
        {"plate", DETECT_HINT_PLATE},
        {"licenseplate", DETECT_HINT_PLATE},
        {"dob", DETECT_HINT_BIRTH},
        {"birth", DETECT_HINT_BIRTH},
        {"birthday", DETECT_HINT_BIRTH},
        {"birthdate", DETECT_HINT_BIRTH},
        {"born", DETECT_HINT_BIRTH},
        {"dateofbirth", DETECT_HINT_BIRTH},
        {"zip", DETECT_HINT_POSTAL},
        {"zipcode", DETECT_HINT_POSTAL},
        {"postcode", DETECT_HINT_POSTAL},
        {"postal", DETECT_HINT_POSTAL},
        {"postalcode", DETECT_HINT_POSTAL},
        {"gender", DETECT_HINT_QUASI},
        {"sex", DETECT_HINT_QUASI},
        {"age", DETECT_HINT_QUASI},
        {"race", DETECT_HINT_QUASI},
        {"ethnicity", DETECT_HINT_QUASI},
        {"ethnic", DETECT_HINT_QUASI},
        {"nationality", DETECT_HINT_QUASI},
        {"occupation", DETECT_HINT_QUASI},
        {"profession", DETECT_HINT_QUASI},
        {"job", DETECT_HINT_QUASI},
        {"marital", DETECT_HINT_QUASI},
        {"education", DETECT_HINT_QUASI},
        {"diagnosis", DETECT_HINT_SENSITIVE},
        {"diagnoses", DETECT_HINT_SENSITIVE},
        {"disease", DETECT_HINT_SENSITIVE},
        {"illness", DETECT_HINT_SENSITIVE},
        {"icd", DETECT_HINT_SENSITIVE},
        {"salary", DETECT_HINT_SENSITIVE},
        {"income", DETECT_HINT_SENSITIVE},
        {"wage", DETECT_HINT_SENSITIVE},
        {"wages", DETECT_HINT_SENSITIVE},
        {"religion", DETECT_HINT_SENSITIVE},
        {"health", DETECT_HINT_SENSITIVE},
        {"medical", DETECT_HINT_SENSITIVE},
        {"medication", DETECT_HINT_SENSITIVE},
        {"treatment", DETECT_HINT_SENSITIVE},
        {"disability", DETECT_HINT_SENSITIVE},
        {"criminal", DETECT_HINT_SENSITIVE},
        {"conviction", DETECT_HINT_SENSITIVE},
};

/* Chinese terms, matched as substrings. */
static const struct hint_word hint_terms[] = {
        {"姓名", DETECT_HINT_NAME},      {"名字", DETECT_HINT_NAME},
        {"联系人", DETECT_HINT_NAME},    {"身份证", DETECT_HINT_ID},
        {"证件号", DETECT_HINT_ID},      {"身份号码", DETECT_HINT_ID},
        {"手机", DETECT_HINT_PHONE},     {"电话", DETECT_HINT_PHONE},
        {"联系方式", DETECT_HINT_PHONE}, {"邮箱", DETECT_HINT_EMAIL},
        {"电子邮件", DETECT_HINT_EMAIL}, {"电邮", DETECT_HINT_EMAIL},
        {"住址", DETECT_HINT_ADDRESS},   {"地址", DETECT_HINT_ADDRESS},
        {"住所", DETECT_HINT_ADDRESS},   {"居住地", DETECT_HINT_ADDRESS},
        {"户籍地", DETECT_HINT_ADDRESS}, {"银行卡", DETECT_HINT_ACCOUNT},
        {"卡号", DETECT_HINT_ACCOUNT},   {"账号", DETECT_HINT_ACCOUNT},
        {"帐号", DETECT_HINT_ACCOUNT},   {"账户", DETECT_HINT_ACCOUNT},
        {"护照", DETECT_HINT_PASSPORT},  {"车牌", DETECT_HINT_PLATE},
        {"出生", DETECT_HINT_BIRTH},     {"生日", DETECT_HINT_BIRTH},
        {"邮编", DETECT_HINT_POSTAL},    {"邮政编码", DETECT_HINT_POSTAL},
        {"性别", DETECT_HINT_QUASI},     {"年龄", DETECT_HINT_QUASI},
        {"民族", DETECT_HINT_QUASI},     {"职业", DETECT_HINT_QUASI},
        {"籍贯", DETECT_HINT_QUASI},     {"婚姻", DETECT_HINT_QUASI},
        {"学历", DETECT_HINT_QUASI},     {"文化程度", DETECT_HINT_QUASI},
        {"国籍", DETECT_HINT_QUASI},     {"诊断", DETECT_HINT_SENSITIVE},
        {"病", DETECT_HINT_SENSITIVE},   {"收入", DETECT_HINT_SENSITIVE},
        {"工资", DETECT_HINT_SENSITIVE}, {"薪", DETECT_HINT_SENSITIVE},
        {"宗教", DETECT_HINT_SENSITIVE}, {"信仰", DETECT_HINT_SENSITIVE},
        {"犯罪", DETECT_HINT_SENSITIVE}, {"残疾", DETECT_HINT_SENSITIVE},
};

/* Words that make a "name" or "address" column one of an organization or a place. */
static const char *const not_person_words[] = {
        "company",  "org",  "organization", "organisation", "product", "dataset",  "file",
        "place",    "city", "county",       "province",     "country", "station",  "school",
        "hospital", "unit", "department",   "dept",         "agency",  "business", "brand",
        "project",  "item", "field",        "column",       "table",   "sheet",    "region",
        "district", "town", "village",      "category",     "type",    "species",  "drug",
        "ip",       "mac",  "web",          "url",          "host",    "server",
};

static const char *const not_person_terms[] = {
        "公司", "单位", "企业", "机构", "医院", "学校", "地名", "产品",
        "项目", "部门", "名称", "网址", "网站", "IP",   "ip",
};

static unsigned word_hint(const char *w, size_t n, bool *not_person)
{
    unsigned h = 0;

    for (size_t i = 0; i < ARRAY_SIZE(hint_words); i++)
        if (strlen(hint_words[i].word) == n && !memcmp(hint_words[i].word, w, n))
            h |= hint_words[i].hint;
    for (size_t i = 0; i < ARRAY_SIZE(not_person_words); i++)
        if (strlen(not_person_words[i]) == n && !memcmp(not_person_words[i], w, n))
            *not_person = true;
    return h;
}

unsigned detect_hint_from_name(const char *name)
{
    char w[32];
    size_t n = 0;
    unsigned h = 0;
    bool not_person = false, id_word = false;
    const unsigned char *p = (const unsigned char *)name;

    if (!name)
        return 0;
    for (size_t i = 0;; i++) {
        int c = p[i];
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        /* a camelCase boundary: lower then upper ("dateOfBirth") */
        bool boundary =
                letter && c >= 'A' && c <= 'Z' && i > 0 && p[i - 1] >= 'a' && p[i - 1] <= 'z';

        if ((!letter || boundary) && n) {
            if (n < sizeof(w)) {
                unsigned wh = word_hint(w, n, &not_person);

                /* "id" then "card", "number", "no": an identity document number */
                if (id_word &&
                    ((n == 4 && !memcmp(w, "card", 4)) || (n == 6 && !memcmp(w, "number", 6)) ||
                     (n == 2 && !memcmp(w, "no", 2)) || (n == 3 && !memcmp(w, "num", 3))))
                    wh = DETECT_HINT_ID;
                id_word = n == 2 && !memcmp(w, "id", 2);
                h |= wh;
            }
            n = 0;
        }
        if (!c)
            break;
        if (letter && n < sizeof(w))
            w[n++] = (char)(c | 0x20);
        else if (letter)
            n = sizeof(w); /* too long to be a word of the tables */
    }
    for (size_t i = 0; i < ARRAY_SIZE(hint_terms); i++)
        if (strstr(name, hint_terms[i].word))
            h |= hint_terms[i].hint;
    for (size_t i = 0; i < ARRAY_SIZE(not_person_terms); i++)
        if (strstr(name, not_person_terms[i]))
            not_person = true;
    if (not_person)
        h &= ~(unsigned)(DETECT_HINT_NAME | DETECT_HINT_ADDRESS);
    return h;
}

/* ---- Values ----------------------------------------------------------------------- */

enum detect_kind detect_value(const char *s, size_t len, unsigned hints, uint32_t today)
{
    int c;

    if (len < 3 || len > 254)
        return DETECT_COUNT;
    c = (unsigned char)s[0];
    if (c >= '0' && c <= '9') {
        switch (len) {
        case 18:
            switch (detect_cn_resident_id_verdict(s, len, today)) {
            case DETECT_ID_VALID:
                return DETECT_CN_RESIDENT_ID;
            case DETECT_ID_UNLISTED_REGION:
                return DETECT_CN_RESIDENT_ID_UNLISTED;
            default:
                break;
            }
            break;
        case 15:
            if (detect_cn_resident_id15(s, len, today, NULL))
                return DETECT_CN_RESIDENT_ID_15;
            break;
        case 11:
        case 13:
            if (detect_cn_mobile(s, len))
                return DETECT_CN_MOBILE;
            break;
        default:
            break;
        }
        if (c == '0' && detect_cn_landline(s, len))
            return DETECT_CN_LANDLINE;
        if (len >= 13 && detect_cn_mobile(s, len))
            return DETECT_CN_MOBILE;
        if (detect_bank_card(s, len))
            return DETECT_BANK_CARD;
        if (detect_us_ssn(s, len, (hints & DETECT_HINT_SSN) != 0))
            return DETECT_US_SSN;
        if (detect_ipv4(s, len))
            return DETECT_IPV4;
        if ((hints & DETECT_HINT_BIRTH) && detect_date(s, len, NULL))
            return DETECT_DATE_OF_BIRTH;
        if ((hints & DETECT_HINT_POSTAL) && detect_cn_postal_code(s, len))
            return DETECT_POSTAL_CODE;
    } else if (c == '+' || c == '(') {
        if (detect_cn_mobile(s, len))
            return DETECT_CN_MOBILE;
        if (detect_cn_landline(s, len))
            return DETECT_CN_LANDLINE;
        return DETECT_COUNT;
    } else if (c >= 0x80) {
        if (detect_cn_plate(s, len))
            return DETECT_CN_PLATE;
        return DETECT_COUNT;
    } else if (c >= 'A' && c <= 'Z' && len == 9 && detect_cn_passport(s, len)) {
        return DETECT_CN_PASSPORT;
    }
    if (len == 18 && detect_cn_uscc(s, len))
        return DETECT_CN_USCC;
    if (memchr(s, '@', len))
        return detect_email(s, len) ? DETECT_EMAIL : DETECT_COUNT;
    if (memchr(s, ':', len) && detect_ipv6(s, len))
        return DETECT_IPV6;
    return DETECT_COUNT;
}

/* Detectors tried on the tokens of free text: the personal ones that need no hint, by
 * the token's shape. */
static enum detect_kind detect_token(const char *s, size_t len, uint32_t today)
{
    int c = (unsigned char)s[0];

    if (memchr(s, '@', len))
        return detect_email(s, len) ? DETECT_EMAIL : DETECT_COUNT;
    if (c >= '0' && c <= '9') {
        if (len == 18) {
            enum detect_id_verdict v = detect_cn_resident_id_verdict(s, len, today);

            if (v == DETECT_ID_VALID)
                return DETECT_CN_RESIDENT_ID;
            if (v == DETECT_ID_UNLISTED_REGION)
                return DETECT_CN_RESIDENT_ID_UNLISTED;
        }
        if (len == 15 && detect_cn_resident_id15(s, len, today, NULL))
            return DETECT_CN_RESIDENT_ID_15;
        if (detect_cn_mobile(s, len))
            return DETECT_CN_MOBILE;
        if (c == '0' && detect_cn_landline(s, len))
            return DETECT_CN_LANDLINE;
        if (detect_bank_card(s, len))
            return DETECT_BANK_CARD;
        if (detect_us_ssn(s, len, false))
            return DETECT_US_SSN;
        if (detect_ipv4(s, len))
            return DETECT_IPV4;
        return DETECT_COUNT;
    }
    if (c == '+')
        return detect_cn_mobile(s, len) ? DETECT_CN_MOBILE : DETECT_COUNT;
    if (len == 9 && detect_cn_passport(s, len))
        return DETECT_CN_PASSPORT;
    return DETECT_COUNT;
}

static inline bool char_start(int c)
{
    return (c & 0xc0) != 0x80;
}

size_t detect_mask(const char *s, size_t len, char out[DETECT_MASK_MAX])
{
    size_t n = 0, front, back, stars, o = 0, i, k, fb, bb;

    for (i = 0; i < len; i++)
        n += char_start((unsigned char)s[i]);
    front = n / 4 < 3 ? n / 4 : 3;
    back = n / 4 < 4 ? n / 4 : 4;
    stars = n - front - back < 16 ? n - front - back : 16;
    /* bytes of the first front characters (at most 4 bytes each, even in invalid UTF-8) */
    for (fb = 0, k = 0; fb < len; fb++) {
        if (char_start((unsigned char)s[fb]) && k++ == front)
            break;
    }
    if (fb > 4 * front)
        fb = 4 * front;
    /* bytes of the last back characters */
    for (bb = 0, k = 0; bb < len && k < back; bb++)
        k += char_start((unsigned char)s[len - 1 - bb]);
    if (bb > 4 * back)
        bb = 4 * back;
    memcpy(out, s, fb);
    o = fb;
    memset(out + o, '*', stars);
    o += stars;
    memcpy(out + o, s + len - bb, bb);
    o += bb;
    out[o] = '\0';
    return o;
}

/* ---- The scan --------------------------------------------------------------------- */

void detect_scan_init(struct detect_scan *sc, const char *const *names, size_t n, uint32_t today)
{
    memset(sc, 0, sizeof(*sc));
    sc->columns = xcalloc(n ? n : 1, sizeof(*sc->columns));
    sc->ncolumns = n;
    sc->today = today;
    for (size_t i = 0; i < n; i++) {
        sc->columns[i].name = xstrdup(names[i] ? names[i] : "");
        sc->columns[i].hints = detect_hint_from_name(sc->columns[i].name);
    }
}

void detect_scan_release(struct detect_scan *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->ncolumns; i++)
        free(sc->columns[i].name);
    free(sc->columns);
    memset(sc, 0, sizeof(*sc));
}

static void add_example(struct detect_column *col, const char *s, size_t len)
{
    char m[DETECT_MASK_MAX];

    if (col->nexamples == DETECT_EXAMPLES)
        return;
    detect_mask(s, len, m);
    for (size_t i = 0; i < col->nexamples; i++)
        if (!strcmp(col->examples[i], m))
            return;
    memcpy(col->examples[col->nexamples++], m, sizeof(m));
}

static inline bool token_char(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '-' || c == '_' || c == '+' || c == '@';
}

static inline bool trim_char(int c)
{
    return c == '.' || c == '-' || c == '_' || c == '+';
}

/* Scans a free-text value token by token; returns whether a token was an identifier. */
static bool scan_free_text(struct detect_scan *sc, struct detect_column *col, const char *s,
                           size_t len)
{
    bool hit = false;
    size_t i = 0;

    while (i < len) {
        size_t start, end;
        bool interesting = false;

        while (i < len && !token_char((unsigned char)s[i]))
            i++;
        start = i;
        while (i < len && token_char((unsigned char)s[i])) {
            int c = (unsigned char)s[i];

            interesting |= (c >= '0' && c <= '9') || c == '@';
            i++;
        }
        end = i;
        if (!interesting)
            continue;
        /* a leading '+' stays: it starts international numbers */
        while (start < end && trim_char((unsigned char)s[start]) && s[start] != '+')
            start++;
        while (end > start && trim_char((unsigned char)s[end - 1]))
            end--;
        if (end - start >= 6) {
            enum detect_kind k = detect_token(s + start, end - start, sc->today);

            if (k != DETECT_COUNT) {
                col->embedded[k]++;
                add_example(col, s + start, end - start);
                hit = true;
            }
        }
    }
    return hit;
}

static bool free_text_like(const char *s, size_t len)
{
    if (len > 24)
        return true;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80 || s[i] == ' ')
            return true;
    return false;
}

void detect_scan_value(struct detect_scan *sc, size_t col_index, const char *s, size_t len)
{
    struct detect_column *col = &sc->columns[col_index];
    enum detect_kind k;

    if (!len)
        return;
    col->values++;
    k = detect_value(s, len, col->hints, sc->today);
    if (k != DETECT_COUNT) {
        col->counts[k]++;
        col->matched++;
        add_example(col, s, len);
        return;
    }
    if (free_text_like(s, len)) {
        col->free_text++;
        if (scan_free_text(sc, col, s, len)) {
            col->matched++;
            col->text_hits++;
        }
    }
}

void detect_scan_row(struct detect_scan *sc, const struct dsvalue *values, size_t n)
{
    char tmp[24];

    if (n > sc->ncolumns)
        n = sc->ncolumns;
    for (size_t i = 0; i < n; i++) {
        const struct dsvalue *v = &values[i];

        if (v->kind == DSVALUE_TEXT) {
            detect_scan_value(sc, i, v->s, v->len);
        } else if (v->kind == DSVALUE_INT) {
            /* the decimal text, written backwards (snprintf is a tenth of the scan) */
            uint64_t u = v->i < 0 ? 0 - (uint64_t)v->i : (uint64_t)v->i;
            size_t p = sizeof(tmp);

            do {
                tmp[--p] = (char)('0' + u % 10);
                u /= 10;
            } while (u);
            if (v->i < 0)
                tmp[--p] = '-';
            detect_scan_value(sc, i, tmp + p, sizeof(tmp) - p);
        }
    }
    sc->rows++;
}

#define HINTS_DIRECT                                                                               \
    (DETECT_HINT_NAME | DETECT_HINT_ID | DETECT_HINT_PHONE | DETECT_HINT_EMAIL |                   \
     DETECT_HINT_ADDRESS | DETECT_HINT_ACCOUNT | DETECT_HINT_SSN | DETECT_HINT_PASSPORT |          \
     DETECT_HINT_PLATE)

static enum detect_class classify(const struct detect_column *col, const char **reason)
{
    uint64_t personal = 0, embedded_strong, quasi, embedded_values = col->text_hits;
    double v = (double)col->values;

    for (unsigned k = 0; k < DETECT_COUNT; k++)
        if (detect_kind_personal((enum detect_kind)k))
            personal += col->counts[k];
    embedded_strong = col->embedded[DETECT_CN_RESIDENT_ID] +
                      col->embedded[DETECT_CN_RESIDENT_ID_UNLISTED] + col->embedded[DETECT_US_SSN] +
                      col->embedded[DETECT_EMAIL];
    quasi = col->counts[DETECT_DATE_OF_BIRTH] + col->counts[DETECT_POSTAL_CODE];

    if (col->values && (double)(personal + embedded_values) >= DETECT_SHARE_DIRECT * v) {
        *reason = "values";
        return DETECT_CLASS_DIRECT;
    }
    /* Whole values that pass a strong validator (region, date and check character of a
     * resident ID; the SSA's rules of an SSN) name people at any share: 50 ID numbers
     * among 500 references are 50 people (found by a fresh-user test). */
    if (col->counts[DETECT_CN_RESIDENT_ID] || col->counts[DETECT_US_SSN]) {
        *reason = "values";
        return DETECT_CLASS_DIRECT;
    }
    if (col->hints & HINTS_DIRECT) {
        *reason = "name";
        if (col->hints & (DETECT_HINT_NAME | DETECT_HINT_ADDRESS))
            return DETECT_CLASS_DIRECT;
        *reason = "name and values";
        if (col->values && (double)(personal + embedded_values) >= DETECT_SHARE_HINTED * v)
            return DETECT_CLASS_DIRECT;
    }
    *reason = "free text";
    if (embedded_strong ||
        (col->values && (double)embedded_values >= DETECT_SHARE_EMBEDDED * v && embedded_values))
        return DETECT_CLASS_DIRECT;
    *reason = "name";
    if (col->hints & DETECT_HINT_SENSITIVE)
        return DETECT_CLASS_SENSITIVE;
    if (col->values && (double)quasi >= DETECT_SHARE_DIRECT * v) {
        *reason = "values";
        return DETECT_CLASS_QUASI;
    }
    if (col->hints & (DETECT_HINT_BIRTH | DETECT_HINT_POSTAL | DETECT_HINT_QUASI))
        return DETECT_CLASS_QUASI;
    *reason = "";
    return DETECT_CLASS_OTHER;
}

void detect_scan_finish(struct detect_scan *sc)
{
    for (size_t i = 0; i < sc->ncolumns; i++) {
        struct detect_column *col = &sc->columns[i];

        col->share = col->values ? (double)col->matched / (double)col->values : 0;
        col->cls = classify(col, &col->reason);
    }
}

int detect_scan_table(struct ingest_table *t, struct detect_scan *sc, struct err *err)
{
    const char **names = xcalloc(t->nfields ? t->nfields : 1, sizeof(*names));
    const struct dsvalue *values;
    int ret;

    for (size_t i = 0; i < t->nfields; i++)
        names[i] = t->fields[i].id;
    detect_scan_init(sc, names, t->nfields, detect_today());
    while ((ret = ingest_table_next(t, &values, NULL, err)) > 0)
        detect_scan_row(sc, values, t->nfields);
    if (ret < 0)
        goto out;
    detect_scan_finish(sc);
    ret = 0;
out:
    free(names);
    return ret;
}

/* ---- The report ------------------------------------------------------------------- */

json_t *detect_scan_json(const struct detect_scan *sc)
{
    json_t *cols = json_array();

    for (size_t i = 0; i < sc->ncolumns; i++) {
        const struct detect_column *col = &sc->columns[i];
        json_t *det = json_object(), *emb = json_object(), *ex = json_array();

        for (unsigned k = 0; k < DETECT_COUNT; k++) {
            uint64_t total = col->counts[k] + col->embedded[k];

            if (total)
                json_object_set_new(det, kind_names[k], json_integer((json_int_t)total));
            if (col->embedded[k])
                json_object_set_new(emb, kind_names[k], json_integer((json_int_t)col->embedded[k]));
        }
        for (size_t e = 0; e < col->nexamples; e++)
            json_array_append_new(ex, json_string(col->examples[e]));
        json_t *c = json_pack("{s:s, s:s, s:f, s:I, s:o, s:o}", "name", col->name, "class",
                              detect_class_name(col->cls), "share",
                              (double)(int64_t)(col->share * 10000 + 0.5) / 10000, "values",
                              (json_int_t)col->values, "detectors", det, "examples", ex);
        if (*col->reason)
            json_object_set_new(c, "reason", json_string(col->reason));
        if (json_object_size(emb))
            json_object_set_new(c, "embedded", emb);
        else
            json_decref(emb);
        json_array_append_new(cols, c);
    }
    return json_pack("{s:I, s:o}", "rows", (json_int_t)sc->rows, "columns", cols);
}

static void add_padded(struct buf *out, const char *s, size_t width)
{
    size_t w = utf8_width(s, strlen(s));

    buf_addstr(out, s);
    while (w++ < width)
        buf_addch(out, ' ');
}

void detect_scan_text(const struct detect_scan *sc, struct buf *out)
{
    size_t namew = 6;

    for (size_t i = 0; i < sc->ncolumns; i++) {
        size_t w = utf8_width(sc->columns[i].name, strlen(sc->columns[i].name));

        if (w > namew)
            namew = w;
    }
    if (namew > 40)
        namew = 40;
    add_padded(out, "column", namew + 2);
    add_padded(out, "class", 19);
    buf_addstr(out, "share   detectors / examples\n");
    for (size_t i = 0; i < sc->ncolumns; i++) {
        const struct detect_column *col = &sc->columns[i];
        bool first = true;

        add_padded(out, col->name, namew + 2);
        add_padded(out, detect_class_name(col->cls), 19);
        buf_addf(out, "%5.3f   ", col->share);
        for (unsigned k = 0; k < DETECT_COUNT; k++) {
            uint64_t total = col->counts[k] + col->embedded[k];

            if (!total)
                continue;
            buf_addf(out, "%s%s=%" PRIu64 "%s", first ? "" : ", ", kind_names[k], total,
                     col->embedded[k] ? " (in text)" : "");
            first = false;
        }
        if (first)
            buf_addch(out, '-');
        for (size_t e = 0; e < col->nexamples; e++)
            buf_addf(out, "%s%s", e ? ", " : "   e.g. ", col->examples[e]);
        buf_addch(out, '\n');
    }
    buf_addf(out, "%" PRIu64 " rows, %zu columns\n", sc->rows, sc->ncolumns);
}
