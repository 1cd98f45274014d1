/*
 * synth.h - synthetic personal data for tests, benchmarks and the demo (issue 5): fake
 * citizen records that look real to the detectors (valid-checksum resident ID numbers
 * from real GB/T 2260 counties, mobile numbers of real prefixes) and describe no one.
 * Every value is drawn from a seeded generator (splitmix64), so a seed gives the same
 * table on every machine. No real person's data is used or produced.
 */
#ifndef KAIFANG_PRIVACY_SYNTH_H
#define KAIFANG_PRIVACY_SYNTH_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

/* The columns of synth_people_write(), in order. */
#define SYNTH_PEOPLE_HEADER "序号,姓名,性别,民族,出生日期,身份证号,手机号码,职业,诊断,年收入,备注"

/* One generated person; the strings live in the struct. */
struct synth_person {
    char name[16];      /* 2–3 Han characters: a common surname and given name */
    const char *gender; /* "男" (odd ID sequence) or "女" (even) */
    const char *ethnicity;
    char birth_date[11]; /* YYYY-MM-DD, 1940-01-01 … 2005-12-31, as in the ID */
    char id_number[19];  /* 18 characters, GB 11643-1999, check character valid */
    char phone[12];      /* 11-digit CN mobile number */
    const char *occupation;
    const char *diagnosis; /* an ICD-10 code and its Chinese name */
    uint32_t income;       /* yuan a year */
    char remark[64];       /* free text: mostly "无", in 2% of records a relative's phone */
};

/* The generator's state. */
struct synth {
    uint64_t state;
};

/* Starts a generator for seed. */
void synth_init(struct synth *g, uint64_t seed);

/* Draws the next person. */
void synth_person_next(struct synth *g, struct synth_person *p);

/*
 * Writes a CSV table (UTF-8, RFC 4180, header SYNTH_PEOPLE_HEADER, "\n" line ends) of rows
 * people drawn for seed to out. Returns 0, or -ERR_INTERNAL naming the write error.
 */
int synth_people_write(FILE *out, uint64_t rows, uint64_t seed, struct err *err);

#endif
