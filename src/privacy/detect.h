/*
 * detect.h - finding personal data in tables (issue 5, part 1): validators of identifiers,
 * the classification of a table's columns and the masked scan report.
 * docs/internals/privacy-detection.md gives the rules, thresholds and sources.
 *
 * Validators, not bare patterns: each takes a value (bytes s, length len, need not be
 * NUL-terminated, any bytes) and says whether the whole value is an identifier of its
 * kind, checking what can be checked (check characters, calendar dates, region codes,
 * number ranges). No white space is trimmed: callers pass the value or token as it
 * stands. All are pure functions of their arguments (and of the compiled-in GB/T 2260
 * list), allocate nothing and are thread-safe.
 *
 * "today" arguments are a date as the integer YYYYMMDD (UTC, detect_today()), so tests
 * and fuzzers are deterministic.
 */
#ifndef KAIFANG_PRIVACY_DETECT_H
#define KAIFANG_PRIVACY_DETECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/dstype.h"
#include "core/err.h"
#include "ingest/ingest.h"

/* ---- Validators ------------------------------------------------------------------- */

/* Today's date (UTC) as YYYYMMDD. */
uint32_t detect_today(void);

/* Whether y-m-d is a real Gregorian calendar date with 1 <= y <= 9999. */
bool detect_date_valid(unsigned y, unsigned m, unsigned d);

/* Whether p (two digits) is a province-level prefix of GB/T 2260 as resident ID numbers
 * use it: 11–15, 21–23, 31–37, 41–46, 50–54, 61–65, 71 (Taiwan), 81 (Hong Kong),
 * 82 (Macau), 83 (Taiwan residents' permits). */
bool detect_cn_province(unsigned p);

/* Whether code (six digits) is a county-level code of the compiled-in GB/T 2260 union
 * list (data/gb2260/README.md), or one of 810000, 820000, 830000 (the residence permits
 * of Hong Kong, Macau and Taiwan residents use them). */
bool detect_cn_region_listed(uint32_t code);

/* The ISO 7064 MOD 11-2 check character ('0'–'9' or 'X') of the 17 digits d (GB 11643-1999
 * §5.2: weights 2^(17-i) mod 11, check (12 - S mod 11) mod 11); 0 when d holds a
 * non-digit. */
char detect_cn_resident_id_check_char(const char *d);

enum detect_id_verdict {
    DETECT_ID_VALID = 0,       /* all checks pass, the region is in the list */
    DETECT_ID_UNLISTED_REGION, /* all checks pass, the province exists, and so does the
                                  prefecture (first four digits) but the county is not in
                                  the list: most likely a code abolished before 2021 */
    DETECT_ID_FORMAT,          /* not 17 digits and a digit, 'X' or 'x' */
    DETECT_ID_REGION,          /* unknown province or prefecture */
    DETECT_ID_DATE,            /* birth date not a date, before 1800 or after today */
    DETECT_ID_CHECK,           /* wrong check character */
};

/*
 * Checks an 18-character Chinese resident identity number (GB 11643-1999): six-digit
 * region code (GB/T 2260), birth date YYYYMMDD (a real date from 1800 to today), three
 * sequence digits (odd for men) and the MOD 11-2 check character ('x' read as 'X').
 * The first failing check names the verdict, in the order format, region, date, check.
 */
enum detect_id_verdict detect_cn_resident_id_verdict(const char *s, size_t len, uint32_t today);

/* detect_cn_resident_id_verdict() == DETECT_ID_VALID. */
bool detect_cn_resident_id(const char *s, size_t len, uint32_t today);

/*
 * The 15-digit resident ID number of GB 11643-1989 (region, YYMMDD of a 19xx birth,
 * three sequence digits, no check character): the region must be listed and the date
 * real and not after today. When out is not NULL it receives the 18-character form
 * (century "19" inserted, check character appended) and a NUL (19 bytes).
 */
bool detect_cn_resident_id15(const char *s, size_t len, uint32_t today, char *out);

/*
 * A Chinese mobile number: 11 digits matching the CN mobile numbering plan of
 * libphonenumber 8.12.57 (1740[0-5]\d{6}|1(?:[38]\d|4[57]|[59][0-35-9]|6[25-7]|7[0-35-8])\d{8}),
 * optionally after "+86", "0086" or "86" (and a space or '-'), the digits optionally
 * grouped 3-4-4 by single spaces or '-' (one kind).
 */
bool detect_cn_mobile(const char *s, size_t len);

/*
 * A Chinese fixed-line number with its area code: "0" + a 2-digit (10, 20–29) or 3-digit
 * (3xx–9xx) area code, then a 7- or 8-digit subscriber number starting 2–8 (8 digits
 * after 2-digit codes); the area code may be in parentheses or followed by '-' or a
 * space; "+86" / "0086" may replace its leading 0. Numbers without the area code are too
 * ambiguous and are not accepted.
 */
bool detect_cn_landline(const char *s, size_t len);

/* Whether the n digits d pass the Luhn mod-10 check (ISO/IEC 7812-1 Annex B); false for
 * n == 0 or a non-digit. */
bool detect_luhn(const char *d, size_t n);

/*
 * A payment card number (ISO/IEC 7812): 16–19 digits, written whole or in groups of
 * 4 digits (the last group 1–4) separated by single spaces or '-' (one kind), with a
 * plausible issuer prefix (2221–2720, 30, 35, 36, 38, 4, 50–55, 60, 62, 65) and a
 * valid Luhn check.
 */
bool detect_bank_card(const char *s, size_t len);

/* The check character of the 17 leading characters c of a unified social credit code
 * (GB 32100-2015: alphabet 0-9 A-H J-N P-R T U W-Y, weights 3^i mod 31, check
 * (31 - S mod 31) mod 31); 0 when c holds a character outside the alphabet. */
char detect_cn_uscc_check_char(const char *c);

/* An 18-character unified social credit code (GB 32100-2015; upper case) with a valid
 * check character and a known province in its region code (characters 3–4). It names
 * an organization, not a person. */
bool detect_cn_uscc(const char *s, size_t len);

/* A Chinese ordinary passport number, conservatively: 'E' or 'G' and 8 digits, or 'E',
 * a letter other than I and O, and 7 digits (upper case). */
bool detect_cn_passport(const char *s, size_t len);

/* An e-mail address: the WHATWG HTML "valid e-mail address" syntax, with RFC 5321's
 * limits (local part <= 64 bytes, whole <= 254), no empty dot-atom part in the local
 * part, at least two domain labels and a top-level label of letters. */
bool detect_email(const char *s, size_t len);

/* An IPv4 address in dotted-quad form as inet_pton() reads it (no leading zeros, no
 * short forms). */
bool detect_ipv4(const char *s, size_t len);

/* An IPv6 address as inet_pton() reads it, after removing a zone ID ("%eth0",
 * RFC 6874). Needs at least two ':'. */
bool detect_ipv6(const char *s, size_t len);

/*
 * A US social security number AAA-GG-SSSS (the same delimiter '-' or ' ' twice; nine
 * bare digits only when bare is true), refusing area 000, 666, 900–999, group 00,
 * serial 0000, all-same digits, 123-45-6789 and the published 078-05-1120, 219-09-9999
 * and 987-65-4320…4329 (SSA; Presidio's UsSsnRecognizer).
 */
bool detect_us_ssn(const char *s, size_t len, bool bare);

/* A Chinese vehicle plate (GA 36-2018): a province abbreviation (京 津 沪 渝 冀 豫 云 辽 黑
 * 湘 皖 鲁 新 苏 浙 赣 鄂 桂 甘 晋 蒙 陕 吉 闽 贵 粤 青 藏 川 宁 琼), a letter (not I or O),
 * an optional '·' or space, then 5 characters of A–Z (not I, O) and 0–9, or 6 for new
 * energy vehicles (D or F first or last, the rest digits). UTF-8. */
bool detect_cn_plate(const char *s, size_t len);

/*
 * A date in a common written form: YYYY-MM-DD, YYYY/M/D, YYYY.M.D, YYYYMMDD,
 * YYYY年M月D日, or a timestamp whose first 10 characters are YYYY-MM-DD followed by 'T'
 * or ' '. A real date; *ymd (may be NULL) gets it as YYYYMMDD.
 */
bool detect_date(const char *s, size_t len, uint32_t *ymd);

/* A Chinese postal code: six digits whose first two are 01–86 (the postal zones). Too
 * ambiguous alone: the scan counts it only in a column whose name says so. */
bool detect_cn_postal_code(const char *s, size_t len);

/* ---- Detectors and masking ---------------------------------------------------------- */

enum detect_kind {
    DETECT_CN_RESIDENT_ID = 0,      /* "cn_resident_id" */
    DETECT_CN_RESIDENT_ID_UNLISTED, /* "cn_resident_id_unlisted_region" */
    DETECT_CN_RESIDENT_ID_15,       /* "cn_resident_id_15" */
    DETECT_CN_MOBILE,               /* "cn_mobile" */
    DETECT_CN_LANDLINE,             /* "cn_landline" */
    DETECT_BANK_CARD,               /* "bank_card" */
    DETECT_CN_PASSPORT,             /* "cn_passport" */
    DETECT_EMAIL,                   /* "email" */
    DETECT_US_SSN,                  /* "us_ssn" */
    DETECT_IPV4,                    /* "ipv4" */
    DETECT_IPV6,                    /* "ipv6" */
    DETECT_CN_PLATE,                /* "cn_plate" */
    DETECT_CN_USCC,                 /* "cn_uscc": an organization's identifier */
    DETECT_DATE_OF_BIRTH,           /* "date_of_birth": a date in a birth-date column */
    DETECT_POSTAL_CODE,             /* "postal_code": in a postal-code column */
    DETECT_COUNT
};

/* The detector's name as the report writes it (above). Static storage. */
const char *detect_kind_name(enum detect_kind k);

/* Whether the detector finds identifiers of people (all but cn_uscc, date_of_birth and
 * postal_code). */
bool detect_kind_personal(enum detect_kind k);

/* What a column's name says (detect_hint_from_name()); bits. */
enum detect_hint {
    DETECT_HINT_NAME = 1u << 0,  /* a person's name: 姓名, name, surname … */
    DETECT_HINT_ID = 1u << 1,    /* identity document number: 身份证, 证件号, id_number … */
    DETECT_HINT_PHONE = 1u << 2, /* 手机, 电话, phone, mobile, tel … */
    DETECT_HINT_EMAIL = 1u << 3, /* 邮箱, email */
    DETECT_HINT_ADDRESS = 1u << 4,  /* 住址, 地址, address, street */
    DETECT_HINT_ACCOUNT = 1u << 5,  /* 银行卡, 卡号, 账号, card, account, iban */
    DETECT_HINT_SSN = 1u << 6,      /* ssn */
    DETECT_HINT_PASSPORT = 1u << 7, /* 护照, passport */
    DETECT_HINT_PLATE = 1u << 8,    /* 车牌, plate */
    DETECT_HINT_BIRTH = 1u << 9,    /* 出生, 生日, dob, birth */
    DETECT_HINT_POSTAL = 1u << 10,  /* 邮编, 邮政编码, zip, postcode, postal */
    DETECT_HINT_QUASI = 1u << 11, /* 性别, 年龄, 民族, 职业, 籍贯, 婚姻, 学历, gender, sex, age,
                                     race, ethnicity, occupation, marital, education … */
    DETECT_HINT_SENSITIVE = 1u << 12 /* 诊断, 病, 收入, 工资, 宗教, diagnosis, disease, salary,
                                        income, religion … */
};

/* The hints (enum detect_hint bits) a column name gives: English words are matched
 * whole, case-insensitively, after splitting at non-letters and camelCase ("dateOfBirth",
 * "PHONE_NO"); Chinese terms as substrings. A name that also names an organization or a
 * place (公司, 单位, 医院, company, org, city, …) gives no NAME or ADDRESS hint ("单位地址",
 * "company_name"). */
unsigned detect_hint_from_name(const char *name);

/*
 * The first detector (in enum order) that accepts the whole value, or DETECT_COUNT when
 * none does. hints are the column's (detect_hint_from_name()): date_of_birth is tried
 * only with DETECT_HINT_BIRTH, postal_code only with DETECT_HINT_POSTAL, bare nine-digit
 * SSNs only with DETECT_HINT_SSN.
 */
enum detect_kind detect_value(const char *s, size_t len, unsigned hints, uint32_t today);

/* Largest output of detect_mask(), its NUL included. */
#define DETECT_MASK_MAX 96

/*
 * Masks a value for a report: of its n UTF-8 characters (a byte that is not a
 * continuation byte starts one) keeps the first min(3, n/4) and the last min(4, n/4),
 * and writes one '*' for each character between, at most 16 (so
 * "11010519491231002X" → "110***********002X", "13812345678" → "13*******78",
 * short values are all stars). Writes at most DETECT_MASK_MAX bytes with the NUL into
 * out; returns the length written.
 */
size_t detect_mask(const char *s, size_t len, char out[DETECT_MASK_MAX]);

/* ---- Column classification and the report ---------------------------------------- */

enum detect_class {
    DETECT_CLASS_OTHER = 0,
    DETECT_CLASS_DIRECT,    /* "direct_identifier" */
    DETECT_CLASS_QUASI,     /* "quasi_identifier" */
    DETECT_CLASS_SENSITIVE, /* "sensitive" */
};

/* "other", "direct_identifier", "quasi_identifier", "sensitive". Static storage. */
const char *detect_class_name(enum detect_class c);

/* The class named name (detect_class_name()'s words) into *out; false, *out untouched,
 * for any other string or NULL. The words a publisher declares in the data dictionary
 * (docs/internals/privacy-gate.md, "Declared classes"). */
bool detect_class_parse(const char *name, enum detect_class *out);

/* How much the publish gate guards a class: direct_identifier 3 (blocks when left in
 * clear), quasi_identifier 2 (counts towards k), sensitive 1 (shows that a table is about
 * people), other 0. A declaration below the detected class lowers the guard. */
unsigned detect_class_rank(enum detect_class c);

#define DETECT_EXAMPLES 3 /* masked examples kept per column */

/* What the scan learnt of one column. */
struct detect_column {
    char *name;                      /* owned */
    unsigned hints;                  /* detect_hint_from_name(name) */
    uint64_t values;                 /* non-empty values seen */
    uint64_t matched;                /* of which values with a hit (whole or embedded) */
    uint64_t counts[DETECT_COUNT];   /* values accepted whole by each detector */
    uint64_t embedded[DETECT_COUNT]; /* identifiers found inside free-text values */
    uint64_t free_text;              /* values scanned token by token */
    uint64_t text_hits;              /* of which values holding an identifier */
    char examples[DETECT_EXAMPLES][DETECT_MASK_MAX]; /* masked, distinct */
    size_t nexamples;
    enum detect_class cls; /* set by detect_scan_finish() */
    const char *reason;    /* why, static: "values" (validated values), "name" (the
                              column's name), "name and values", "free text" (identifiers
                              inside text); "" for other */
    double share;          /* matched / values (0 when no value) */
};

/* A scan over the rows of one table: one pass, memory bounded by the number of
 * columns. */
struct detect_scan {
    struct detect_column *columns;
    size_t ncolumns;
    uint64_t rows;
    uint32_t today;
};

/* Starts a scan of n columns named names[i] (copied). today: YYYYMMDD
 * (detect_today()). Release with detect_scan_release(). */
void detect_scan_init(struct detect_scan *sc, const char *const *names, size_t n, uint32_t today);

/*
 * Counts one value of column col (< sc->ncolumns): empty values are skipped; a value
 * accepted whole by a detector (detect_value()) counts for it; any other value that has
 * a byte outside ASCII, a space, or more than 24 bytes is free text and each of its
 * tokens (maximal runs of ASCII letters, digits and . - _ + @ holding a digit or '@',
 * with leading and trailing . - _ + removed; Han characters end a token, so no word
 * boundary is needed) is tried with the person-identifier detectors that need no hint.
 * Keeps the first DETECT_EXAMPLES distinct masked hits. Does not count rows.
 */
void detect_scan_value(struct detect_scan *sc, size_t col, const char *s, size_t len);

/* Counts one row of a typed table (ingest_table_next()): n values, NULLs skipped, INT
 * values as their decimal text; increments sc->rows. */
void detect_scan_row(struct detect_scan *sc, const struct dsvalue *values, size_t n);

/*
 * Classifies every column (docs/internals/privacy-detection.md, "Classification"):
 *   direct_identifier  personal detectors accept at least DETECT_SHARE_DIRECT of the
 *                      values; or the name hints a direct identifier (name, ID, phone,
 *                      e-mail, address, account, SSN, passport, plate) and either it
 *                      cannot be validated (name, address) or detectors accept at least
 *                      DETECT_SHARE_HINTED of the values; or free text holds an embedded
 *                      checksummed identifier (resident ID, SSN) or an e-mail, or
 *                      embedded identifiers in at least DETECT_SHARE_EMBEDDED of values;
 *   quasi_identifier   date_of_birth or postal_code accept at least DETECT_SHARE_DIRECT,
 *                      or the name hints birth date, postal code, gender, age, ethnicity,
 *                      occupation, …;
 *   sensitive          the name hints diagnosis, disease, income, salary, religion, …;
 *   other              the rest (cn_uscc: organizations).
 * Sets each column's cls, reason and share.
 */
#define DETECT_SHARE_DIRECT   0.5
#define DETECT_SHARE_HINTED   0.1
#define DETECT_SHARE_EMBEDDED 0.01
void detect_scan_finish(struct detect_scan *sc);

void detect_scan_release(struct detect_scan *sc);

/*
 * Scans every remaining row of an opened table (ingest_table_next()) into *sc, which
 * this initialises with the table's field ids, and classifies (detect_scan_finish()).
 * Release *sc with detect_scan_release() also after a failure. Errors: those of
 * ingest_table_next() (the place in ingest_table_pos()).
 */
int detect_scan_table(struct ingest_table *t, struct detect_scan *sc, struct err *err);

/*
 * The report as JSON: {"rows": N, "columns": [{"name", "class", "share", "values",
 * "detectors": {name: count}, "embedded": {name: count} (only when free text held
 * identifiers), "examples": [masked…], "reason" (unless other)}]}; "detectors" counts whole values
 * and embedded hits together. New reference (json_decref()). Never holds a raw value.
 */
json_t *detect_scan_json(const struct detect_scan *sc);

/* The report as a text table (one line per column: name, class, share, detectors with
 * counts, masked examples), appended to out. */
void detect_scan_text(const struct detect_scan *sc, struct buf *out);

#endif
