/*
 * Unit tests for the privacy engine's detection (src/privacy/detect.h): every validator
 * with valid and invalid public test values (GB 11643-1999's examples, GB 32100-2015
 * codes, Luhn test card numbers, SSA's invalid SSNs; the list and its sources are in
 * docs/internals/privacy-detection.md), near misses (a right-looking ID number with a
 * wrong check character, an unknown region, 30 February), masking, column-name hints,
 * free text, and the classification and report of a synthetic table written by
 * synth.c (a temporary file; no real person's data).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/buf.h"
#include "ingest/ingest.h"
#include "privacy/detect.h"
#include "privacy/synth.h"
#include "unit-util.h"
#include "core/util.h"

#define TODAY 20261205u

#define S(lit) (lit), (sizeof(lit) - 1)

static void test_resident_id(void **state)
{
    char out[19];

    (void)state;
    /* the standard's examples */
    assert_int_equal(detect_cn_resident_id_check_char("11010519491231002"), 'X');
    assert_int_equal(detect_cn_resident_id_check_char("44052418800101001"), '4');
    assert_true(detect_cn_resident_id(S("11010519491231002X"), TODAY));
    assert_true(detect_cn_resident_id(S("11010519491231002x"), TODAY));
    /* 440524 (汕头市潮阳县) was abolished before either list: checks pass, region unlisted */
    assert_int_equal(detect_cn_resident_id_verdict(S("440524188001010014"), TODAY),
                     DETECT_ID_UNLISTED_REGION);
    assert_false(detect_cn_resident_id(S("440524188001010014"), TODAY));
    /* near misses */
    assert_int_equal(detect_cn_resident_id_verdict(S("110105194912310021"), TODAY),
                     DETECT_ID_CHECK);
    assert_int_equal(detect_cn_resident_id_verdict(S("110105194902300020"), TODAY), DETECT_ID_DATE);
    /* right check characters, but region 1199xx and province 99 do not exist */
    assert_int_equal(detect_cn_resident_id_verdict(S("119905194912310021"), TODAY),
                     DETECT_ID_REGION);
    assert_int_equal(detect_cn_resident_id_verdict(S("990105194912310023"), TODAY),
                     DETECT_ID_REGION);
    /* born in 2099 */
    assert_int_equal(detect_cn_resident_id_verdict(S("110105209901010020"), TODAY), DETECT_ID_DATE);
    assert_int_equal(detect_cn_resident_id_verdict(S("11010519491231002Y"), TODAY),
                     DETECT_ID_FORMAT);
    assert_int_equal(detect_cn_resident_id_verdict(S("11010519491231002"), TODAY),
                     DETECT_ID_FORMAT);
    assert_int_equal(detect_cn_resident_id_verdict(S("11010519491231002X "), TODAY),
                     DETECT_ID_FORMAT);
    /* 15-digit legacy numbers */
    assert_true(detect_cn_resident_id15(S("130503670401001"), TODAY, out));
    assert_string_equal(out, "130503196704010016");
    assert_false(detect_cn_resident_id15(S("130503670230001"), TODAY, NULL)); /* 30 Feb */
    assert_false(detect_cn_resident_id15(S("990503670401001"), TODAY, NULL));
    assert_false(detect_cn_resident_id15(S("13050367040100"), TODAY, NULL));
    assert_true(detect_cn_region_listed(110105));
    assert_false(detect_cn_region_listed(110100));
    assert_true(detect_cn_province(83));
    assert_false(detect_cn_province(16));
}

static void test_uscc(void **state)
{
    static const char *const valid[] = {"91350100M000100Y43", "9144030071526726XG",
                                        "914403001922038216", "91330100716105852F",
                                        "91110000600037341L", "911100001000110032"};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(valid); i++)
        assert_true(detect_cn_uscc(valid[i], strlen(valid[i])));
    assert_int_equal(detect_cn_uscc_check_char("91110000100011003"), '2');
    assert_false(detect_cn_uscc(S("911100001000110034")));
    assert_false(detect_cn_uscc(S("91350100M000100Y44")));
    assert_false(detect_cn_uscc(S("91350100M000100I43"))); /* I is not in the alphabet */
    assert_false(detect_cn_uscc(S("91350100m000100Y43")));
    assert_false(detect_cn_uscc(S("91350100M000100Y4")));
    /* an organization, not a person */
    assert_int_equal(detect_value(S("91350100M000100Y43"), 0, TODAY), DETECT_CN_USCC);
    assert_false(detect_kind_personal(DETECT_CN_USCC));
}

static void test_mobile_landline(void **state)
{
    static const char *const mobile[] = {"13123456789",       "13812345678",      "+8613812345678",
                                         "+86 138 1234 5678", "0086-13812345678", "8613812345678",
                                         "138-1234-5678",     "17400123456",      "19912345678",
                                         "16612345678",       "14712345678"};
    static const char *const not_mobile[] = {
            "12345678901", "1381234567",  "138123456789",  "14012345678",    "17912345678",
            "17406123456", "16012345678", "138 1234-5678", "+8612345678901", "23812345678"};
    static const char *const landline[] = {"010-62345678",    "01062345678",     "(010)62345678",
                                           "021 87654321",    "0571-8765432",    "0755-23456789",
                                           "+86 10 62345678", "+86-755-23456789"};
    static const char *const not_landline[] = {"12345678",      "010-6234567",   "010-02345678",
                                               "010-12345678",  "010-623456789", "0571-876543",
                                               "(010-62345678", "0012345678"};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(mobile); i++)
        assert_true(detect_cn_mobile(mobile[i], strlen(mobile[i])));
    for (size_t i = 0; i < ARRAY_SIZE(not_mobile); i++)
        assert_false(detect_cn_mobile(not_mobile[i], strlen(not_mobile[i])));
    for (size_t i = 0; i < ARRAY_SIZE(landline); i++)
        assert_true(detect_cn_landline(landline[i], strlen(landline[i])));
    for (size_t i = 0; i < ARRAY_SIZE(not_landline); i++)
        assert_false(detect_cn_landline(not_landline[i], strlen(not_landline[i])));
}

static void test_bank_card(void **state)
{
    static const char *const valid[] = {"4111111111111111",       "5555555555554444",
                                        "6011111111111117",       "3530111333300000",
                                        "6212262502009182455",    "4111 1111 1111 1111",
                                        "6212-2625-0200-9182-455"};
    static const char *const invalid[] = {
            "4111111111111112",     /* Luhn */
            "378282246310005",      /* Luhn-valid, 15 digits */
            "79927398713",          /* Luhn-valid, 11 digits */
            "9111111111111110",     /* Luhn-valid, no such issuer prefix */
            "4111 1111 1111 111 1", /* groups of four */
            "4111-1111 1111-1111",  /* mixed separators */
            "41111111111111111111", /* 20 digits */
    };

    (void)state;
    assert_true(detect_luhn(S("79927398713")));
    assert_false(detect_luhn(S("79927398710")));
    assert_true(detect_luhn(S("378282246310005")));
    assert_true(detect_luhn(S("9111111111111110")));
    assert_false(detect_luhn("", 0));
    for (size_t i = 0; i < ARRAY_SIZE(valid); i++)
        assert_true(detect_bank_card(valid[i], strlen(valid[i])));
    for (size_t i = 0; i < ARRAY_SIZE(invalid); i++)
        assert_false(detect_bank_card(invalid[i], strlen(invalid[i])));
}

static void test_passport_email_ip(void **state)
{
    (void)state;
    assert_true(detect_cn_passport(S("E12345678")));
    assert_true(detect_cn_passport(S("EA1234567")));
    assert_true(detect_cn_passport(S("G12345678")));
    assert_false(detect_cn_passport(S("E1234567")));
    assert_false(detect_cn_passport(S("EI1234567")));
    assert_false(detect_cn_passport(S("e12345678")));
    assert_false(detect_cn_passport(S("P12345678")));

    assert_true(detect_email(S("simple@example.com")));
    assert_true(detect_email(S("user.name+tag+sorting@example.com")));
    assert_true(detect_email(S("x@example.com")));
    assert_true(detect_email(S("zhang.san@mail.example.cn")));
    assert_false(detect_email(S("Abc.example.com")));
    assert_false(detect_email(S("a@b@c@example.com")));
    assert_false(detect_email(S("john..doe@example.com")));
    assert_false(detect_email(S(".john@example.com")));
    assert_false(detect_email(S("john@localhost")));
    assert_false(detect_email(S("john@-example.com")));
    assert_false(detect_email(S("john@example.123")));
    assert_false(detect_email(S("zhang@例子.com")));

    assert_true(detect_ipv4(S("192.168.1.1")));
    assert_true(detect_ipv4(S("8.8.8.8")));
    assert_false(detect_ipv4(S("01.2.3.4")));
    assert_false(detect_ipv4(S("1.2.3")));
    assert_false(detect_ipv4(S("0x7f.0.0.1")));
    assert_false(detect_ipv4(S("127.1")));
    assert_false(detect_ipv4(S("256.1.1.1")));
    assert_true(detect_ipv6(S("::1")));
    assert_true(detect_ipv6(S("2001:db8::1")));
    assert_true(detect_ipv6(S("::ffff:192.0.2.128")));
    assert_true(detect_ipv6(S("2001:DB8:0:0:0:0:2:1")));
    assert_true(detect_ipv6(S("fe80::1%eth0")));
    assert_false(detect_ipv6(S("fe80::1%")));
    assert_false(detect_ipv6(S("2001:db8::1::1")));
    assert_false(detect_ipv6(S("1:2:3:4:5:6:7:8:9")));
    assert_false(detect_ipv6(S("12:30")));
}

static void test_ssn(void **state)
{
    static const char *const invalid[] = {
            "000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567",
            "123-45-0000", "078-05-1120", "219-09-9999", "987-65-4320", "987-65-4329",
            "111-11-1111", "123-45-6789", "536-90 4399", "536904399x",  "53-690-4399",
    };

    (void)state;
    assert_true(detect_us_ssn(S("536-90-4399"), false));
    assert_true(detect_us_ssn(S("536 90 4399"), false));
    assert_true(detect_us_ssn(S("772-12-3456"), false));
    assert_false(detect_us_ssn(S("536904399"), false));
    assert_true(detect_us_ssn(S("536904399"), true));
    assert_false(detect_us_ssn(S("123456789"), true));
    for (size_t i = 0; i < ARRAY_SIZE(invalid); i++)
        assert_false(detect_us_ssn(invalid[i], strlen(invalid[i]), true));
}

static void test_plate_date_postal(void **state)
{
    uint32_t ymd = 0;

    (void)state;
    assert_true(detect_cn_plate(S("京A12345")));
    assert_true(detect_cn_plate(S("粤B·D12345")));
    assert_true(detect_cn_plate(S("沪AD12345")));
    assert_true(detect_cn_plate(S("川A12345F")));
    assert_true(detect_cn_plate(S("京A 12345")));
    assert_true(detect_cn_plate(S("浙AB123C")));
    assert_false(detect_cn_plate(S("京I12345")));
    assert_false(detect_cn_plate(S("京A1234")));
    assert_false(detect_cn_plate(S("哈A12345")));
    assert_false(detect_cn_plate(S("京A1234567")));
    assert_false(detect_cn_plate(S("京AO2345")));

    assert_true(detect_date(S("1990-01-31"), &ymd));
    assert_int_equal(ymd, 19900131);
    assert_true(detect_date(S("1990/1/5"), &ymd));
    assert_int_equal(ymd, 19900105);
    assert_true(detect_date(S("1990年1月5日"), &ymd));
    assert_int_equal(ymd, 19900105);
    assert_true(detect_date(S("19900105"), NULL));
    assert_true(detect_date(S("2000-02-29T08:00:00"), NULL));
    assert_true(detect_date(S("2000.2.29"), NULL));
    assert_false(detect_date(S("1990-02-30"), NULL));
    assert_false(detect_date(S("1900-02-29"), NULL));
    assert_false(detect_date(S("1990-13-01"), NULL));
    assert_false(detect_date(S("1990-01/05"), NULL));
    assert_false(detect_date(S("1990-01-05x"), NULL));
    assert_false(detect_date(S("1990年1月5"), NULL));

    assert_true(detect_cn_postal_code(S("100101")));
    assert_true(detect_cn_postal_code(S("010010")));
    assert_false(detect_cn_postal_code(S("990000")));
    assert_false(detect_cn_postal_code(S("000100")));
    assert_false(detect_cn_postal_code(S("10010")));
    /* only with a hint */
    assert_int_equal(detect_value(S("100101"), 0, TODAY), DETECT_COUNT);
    assert_int_equal(detect_value(S("100101"), DETECT_HINT_POSTAL, TODAY), DETECT_POSTAL_CODE);
    assert_int_equal(detect_value(S("1990-01-31"), 0, TODAY), DETECT_COUNT);
    assert_int_equal(detect_value(S("1990-01-31"), DETECT_HINT_BIRTH, TODAY), DETECT_DATE_OF_BIRTH);
}

static void test_detect_value(void **state)
{
    (void)state;
    assert_int_equal(detect_value(S("11010519491231002X"), 0, TODAY), DETECT_CN_RESIDENT_ID);
    assert_int_equal(detect_value(S("440524188001010014"), 0, TODAY),
                     DETECT_CN_RESIDENT_ID_UNLISTED);
    assert_int_equal(detect_value(S("110105194912310021"), 0, TODAY), DETECT_COUNT);
    assert_int_equal(detect_value(S("130503670401001"), 0, TODAY), DETECT_CN_RESIDENT_ID_15);
    assert_int_equal(detect_value(S("13812345678"), 0, TODAY), DETECT_CN_MOBILE);
    assert_int_equal(detect_value(S("+86 138 1234 5678"), 0, TODAY), DETECT_CN_MOBILE);
    assert_int_equal(detect_value(S("010-62345678"), 0, TODAY), DETECT_CN_LANDLINE);
    assert_int_equal(detect_value(S("(010)62345678"), 0, TODAY), DETECT_CN_LANDLINE);
    assert_int_equal(detect_value(S("6212262502009182455"), 0, TODAY), DETECT_BANK_CARD);
    assert_int_equal(detect_value(S("E12345678"), 0, TODAY), DETECT_CN_PASSPORT);
    assert_int_equal(detect_value(S("simple@example.com"), 0, TODAY), DETECT_EMAIL);
    assert_int_equal(detect_value(S("536-90-4399"), 0, TODAY), DETECT_US_SSN);
    assert_int_equal(detect_value(S("536904399"), 0, TODAY), DETECT_COUNT);
    assert_int_equal(detect_value(S("536904399"), DETECT_HINT_SSN, TODAY), DETECT_US_SSN);
    assert_int_equal(detect_value(S("192.168.1.1"), 0, TODAY), DETECT_IPV4);
    assert_int_equal(detect_value(S("2001:db8::1"), 0, TODAY), DETECT_IPV6);
    assert_int_equal(detect_value(S("京A12345"), 0, TODAY), DETECT_CN_PLATE);
    assert_int_equal(detect_value(S("12:30:00"), 0, TODAY), DETECT_COUNT);
    assert_int_equal(detect_value(S("张伟"), 0, TODAY), DETECT_COUNT);
    assert_int_equal(detect_value(S("4429.4"), 0, TODAY), DETECT_COUNT);
    assert_string_equal(detect_kind_name(DETECT_CN_RESIDENT_ID), "cn_resident_id");
}

static void test_mask(void **state)
{
    char m[DETECT_MASK_MAX];
    char long_value[300];

    (void)state;
    assert_int_equal(detect_mask(S("11010519491231002X"), m), 18);
    assert_string_equal(m, "110***********002X");
    detect_mask(S("13812345678"), m);
    assert_string_equal(m, "13*******78");
    detect_mask(S("abc"), m);
    assert_string_equal(m, "***");
    detect_mask("", 0, m);
    assert_string_equal(m, "");
    detect_mask(S("京A12345"), m);
    assert_string_equal(m, "京*****5");
    detect_mask(S("simple@example.com"), m);
    assert_string_equal(m, "sim***********.com");
    memset(long_value, '7', sizeof(long_value));
    assert_int_equal(detect_mask(long_value, sizeof(long_value), m), 3 + 16 + 4);
    assert_string_equal(m, "777****************7777");
}

static void test_hints(void **state)
{
    (void)state;
    assert_int_equal(detect_hint_from_name("身份证号"), DETECT_HINT_ID);
    assert_int_equal(detect_hint_from_name("出生日期"), DETECT_HINT_BIRTH);
    assert_int_equal(detect_hint_from_name("姓名"), DETECT_HINT_NAME);
    assert_int_equal(detect_hint_from_name("手机号码"), DETECT_HINT_PHONE);
    assert_int_equal(detect_hint_from_name("家庭住址"), DETECT_HINT_ADDRESS);
    assert_int_equal(detect_hint_from_name("单位地址"), 0);
    assert_int_equal(detect_hint_from_name("单位名称"), 0);
    assert_int_equal(detect_hint_from_name("性别"), DETECT_HINT_QUASI);
    assert_int_equal(detect_hint_from_name("诊断"), DETECT_HINT_SENSITIVE);
    assert_int_equal(detect_hint_from_name("年收入"), DETECT_HINT_SENSITIVE);
    assert_int_equal(detect_hint_from_name("Patient Name"), DETECT_HINT_NAME);
    assert_int_equal(detect_hint_from_name("company_name"), 0);
    assert_int_equal(detect_hint_from_name("dateOfBirth"), DETECT_HINT_BIRTH);
    assert_int_equal(detect_hint_from_name("DOB"), DETECT_HINT_BIRTH);
    assert_int_equal(detect_hint_from_name("PHONE_NO"), DETECT_HINT_PHONE);
    assert_int_equal(detect_hint_from_name("id_card"), DETECT_HINT_ID);
    assert_int_equal(detect_hint_from_name("zip"), DETECT_HINT_POSTAL);
    assert_int_equal(detect_hint_from_name("ssn"), DETECT_HINT_SSN);
    assert_int_equal(detect_hint_from_name("usage"), 0);
    assert_int_equal(detect_hint_from_name("sexton_count"), 0);
    assert_int_equal(detect_hint_from_name(""), 0);
}

/* Free text: identifiers glued to Han characters, where \b finds no boundary. */
static void test_free_text(void **state)
{
    static const char *const names[] = {"备注"};
    struct detect_scan sc;
    const char *texts[] = {"我的手机13812345678请联系",  "请发邮件到zhang.san@example.com谢谢",
                           "身份证11010519491231002X。", "无",
                           "电话：010-62345678，工作日", "订单号2023013812345678"};

    (void)state;
    detect_scan_init(&sc, names, 1, TODAY);
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
        detect_scan_value(&sc, 0, texts[i], strlen(texts[i]));
    detect_scan_finish(&sc);
    assert_int_equal(sc.columns[0].values, 6);
    assert_int_equal(sc.columns[0].embedded[DETECT_CN_MOBILE], 1);
    assert_int_equal(sc.columns[0].embedded[DETECT_EMAIL], 1);
    assert_int_equal(sc.columns[0].embedded[DETECT_CN_RESIDENT_ID], 1);
    assert_int_equal(sc.columns[0].embedded[DETECT_CN_LANDLINE], 1);
    assert_int_equal(sc.columns[0].matched, 4);
    assert_int_equal(sc.columns[0].cls, DETECT_CLASS_DIRECT);
    assert_int_equal(sc.columns[0].nexamples, 3);
    assert_string_equal(sc.columns[0].examples[0], "13*******78");
    for (size_t i = 0; i < sc.columns[0].nexamples; i++)
        assert_null(strstr(sc.columns[0].examples[i], "12345678"));
    detect_scan_release(&sc);
}

static void feed(struct detect_scan *sc, size_t col, const char *value, int times)
{
    for (int i = 0; i < times; i++)
        detect_scan_value(sc, col, value, strlen(value));
}

/* The thresholds of detect_scan_finish(), each side of each. */
static void test_classify_rules(void **state)
{
    static const char *const names[] = {"value",    "value_2",    "phone",   "phone_2",
                                        "code",     "备注",       "备注_2",  "zip",
                                        "单位名称", "ip_address", "phone_3", "ref"};
    struct detect_scan sc;

    (void)state;
    detect_scan_init(&sc, names, ARRAY_SIZE(names), TODAY);
    /* half the values validate: direct; fewer: other */
    feed(&sc, 0, "13812345678", 5);
    feed(&sc, 0, "abc", 5);
    feed(&sc, 1, "13812345678", 4);
    feed(&sc, 1, "abc", 6);
    /* a phone column: a tenth suffices; none does not */
    feed(&sc, 2, "13812345678", 1);
    feed(&sc, 2, "n/a", 9);
    feed(&sc, 3, "n/a", 10);
    /* credit codes are organizations */
    feed(&sc, 4, "91350100M000100Y43", 10);
    /* free text: one mobile in 200 values is under 1%; one ID number suffices */
    feed(&sc, 5, "请拨打13812345678", 1);
    feed(&sc, 5, "无备注", 199);
    feed(&sc, 6, "身份证11010519491231002X", 1);
    feed(&sc, 6, "无备注", 199);
    feed(&sc, 7, "100101", 3);
    feed(&sc, 8, "某某公司", 3);
    feed(&sc, 9, "192.168.1.1", 3);
    /* whole resident ID numbers at any share: one among ten references */
    feed(&sc, 11, "11010519491231002X", 1);
    feed(&sc, 11, "REF000123", 9);
    detect_scan_finish(&sc);
    assert_int_equal(sc.columns[11].cls, DETECT_CLASS_DIRECT);
    assert_string_equal(sc.columns[11].reason, "values");
    assert_int_equal(sc.columns[0].cls, DETECT_CLASS_DIRECT);
    assert_string_equal(sc.columns[0].reason, "values");
    assert_true(sc.columns[0].share == 0.5);
    assert_int_equal(sc.columns[1].cls, DETECT_CLASS_OTHER);
    assert_int_equal(sc.columns[2].cls, DETECT_CLASS_DIRECT);
    assert_string_equal(sc.columns[2].reason, "name and values");
    assert_int_equal(sc.columns[3].cls, DETECT_CLASS_OTHER);
    assert_int_equal(sc.columns[4].cls, DETECT_CLASS_OTHER);
    assert_int_equal(sc.columns[4].counts[DETECT_CN_USCC], 10);
    assert_int_equal(sc.columns[5].cls, DETECT_CLASS_OTHER);
    assert_int_equal(sc.columns[5].embedded[DETECT_CN_MOBILE], 1);
    assert_int_equal(sc.columns[6].cls, DETECT_CLASS_DIRECT);
    assert_string_equal(sc.columns[6].reason, "free text");
    assert_int_equal(sc.columns[7].cls, DETECT_CLASS_QUASI);
    assert_int_equal(sc.columns[7].counts[DETECT_POSTAL_CODE], 3);
    assert_int_equal(sc.columns[8].cls, DETECT_CLASS_OTHER);
    assert_int_equal(sc.columns[9].cls, DETECT_CLASS_DIRECT);
    assert_int_equal(sc.columns[9].counts[DETECT_IPV4], 3);
    /* no values at all */
    assert_int_equal(sc.columns[10].cls, DETECT_CLASS_OTHER);
    assert_true(sc.columns[10].share == 0.0);
    detect_scan_release(&sc);
}

/* The same seed gives the same people; IDs and birth dates agree, so do gender and the
 * sequence digit; every ID and phone validates. */
static void test_synth_people(void **state)
{
    struct synth g1, g2;
    struct synth_person a, b;

    (void)state;
    synth_init(&g1, 42);
    synth_init(&g2, 42);
    for (int i = 0; i < 2000; i++) {
        char digits[9];

        synth_person_next(&g1, &a);
        synth_person_next(&g2, &b);
        assert_memory_equal(&a, &b, sizeof(a));
        assert_true(detect_cn_resident_id(a.id_number, 18, TODAY));
        assert_true(detect_cn_mobile(a.phone, 11));
        /* the birth date inside the ID is the birth_date column */
        digits[0] = a.birth_date[0], digits[1] = a.birth_date[1], digits[2] = a.birth_date[2];
        digits[3] = a.birth_date[3], digits[4] = a.birth_date[5], digits[5] = a.birth_date[6];
        digits[6] = a.birth_date[8], digits[7] = a.birth_date[9], digits[8] = '\0';
        assert_memory_equal(a.id_number + 6, digits, 8);
        assert_string_equal(a.gender, (a.id_number[16] - '0') % 2 ? "男" : "女");
        assert_true(detect_date(a.birth_date, 10, NULL));
    }
    synth_init(&g2, 43);
    synth_person_next(&g2, &b);
    synth_init(&g1, 42);
    synth_person_next(&g1, &a);
    assert_string_not_equal(a.id_number, b.id_number);
}

static const struct detect_column *column(const struct detect_scan *sc, const char *name)
{
    for (size_t i = 0; i < sc->ncolumns; i++)
        if (!strcmp(sc->columns[i].name, name))
            return &sc->columns[i];
    fail_msg("no column \"%s\"", name);
    return NULL;
}

/* Classification and report of a synthetic table read back through ingest. */
static void test_classify_synthetic(void **state)
{
    char dir[64], *path;
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_table *t = NULL;
    struct detect_scan sc;
    struct err err = ERR_INIT;
    struct buf text = BUF_INIT;
    struct synth g;
    struct synth_person p;
    const struct detect_column *c;
    const uint64_t rows = 3000;
    char *json;
    json_t *report;
    FILE *f;

    (void)state;
    assert_int_equal(unit_tmpdir(dir, sizeof(dir), "privacy"), 0);
    path = xstrfmt("%s/people.csv", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(synth_people_write(f, rows, 7, &err), 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(ingest_table_open(&t, path, "people.csv", &o, &err), 0);
    assert_int_equal(detect_scan_table(t, &sc, &err), 0);
    assert_int_equal(sc.rows, rows);
    assert_int_equal(sc.ncolumns, 11);

    c = column(&sc, "身份证号");
    assert_int_equal(c->cls, DETECT_CLASS_DIRECT);
    assert_int_equal(c->counts[DETECT_CN_RESIDENT_ID], rows);
    assert_true(c->share == 1.0);
    c = column(&sc, "手机号码");
    assert_int_equal(c->cls, DETECT_CLASS_DIRECT);
    assert_int_equal(c->counts[DETECT_CN_MOBILE], rows);
    assert_true(c->share == 1.0);
    assert_int_equal(column(&sc, "姓名")->cls, DETECT_CLASS_DIRECT);
    c = column(&sc, "出生日期");
    assert_int_equal(c->cls, DETECT_CLASS_QUASI);
    assert_int_equal(c->counts[DETECT_DATE_OF_BIRTH], rows);
    assert_int_equal(column(&sc, "性别")->cls, DETECT_CLASS_QUASI);
    assert_int_equal(column(&sc, "民族")->cls, DETECT_CLASS_QUASI);
    assert_int_equal(column(&sc, "职业")->cls, DETECT_CLASS_QUASI);
    assert_int_equal(column(&sc, "诊断")->cls, DETECT_CLASS_SENSITIVE);
    assert_int_equal(column(&sc, "年收入")->cls, DETECT_CLASS_SENSITIVE);
    c = column(&sc, "序号");
    assert_int_equal(c->cls, DETECT_CLASS_OTHER);
    assert_true(c->share == 0.0);
    /* about 2% of remarks hold a phone number in the text */
    c = column(&sc, "备注");
    assert_int_equal(c->cls, DETECT_CLASS_DIRECT);
    assert_true(c->embedded[DETECT_CN_MOBILE] > rows / 100);
    assert_true(c->embedded[DETECT_CN_MOBILE] < rows / 20);
    assert_int_equal(c->matched, c->embedded[DETECT_CN_MOBILE]);

    /* the report holds masked examples and never a raw ID or phone number */
    report = detect_scan_json(&sc);
    json = json_dumps(report, 0);
    assert_non_null(json);
    detect_scan_text(&sc, &text);
    assert_non_null(strstr(json, "\"class\": \"direct_identifier\""));
    assert_non_null(strstr(json, "\"cn_resident_id\": 3000"));
    assert_int_equal(json_integer_value(json_object_get(report, "rows")), rows);
    synth_init(&g, 7);
    for (uint64_t i = 0; i < rows; i++) {
        char id_part[12];

        synth_person_next(&g, &p);
        assert_null(strstr(json, p.id_number));
        assert_null(strstr(text.buf, p.id_number));
        assert_null(strstr(json, p.phone));
        assert_null(strstr(text.buf, p.phone));
        /* not even the middle of an ID (its birth date and sequence) */
        memcpy(id_part, p.id_number + 4, 11);
        id_part[11] = '\0';
        assert_null(strstr(json, id_part));
        if (strlen(p.remark) > strlen("家属联系电话"))
            assert_null(strstr(json, p.remark + strlen("家属联系电话")));
    }
    c = column(&sc, "身份证号");
    assert_int_equal(c->nexamples, 3);
    for (size_t i = 0; i < c->nexamples; i++) {
        assert_int_equal(strlen(c->examples[i]), 18);
        assert_memory_equal(c->examples[i] + 3, "***********", 11);
    }
    free(json);
    json_decref(report);
    buf_release(&text);
    detect_scan_release(&sc);
    ingest_table_free(t);
    unlink(path);
    free(path);
    unit_remove_tree(dir);
}

/* The text report's columns line up on a terminal whatever script the names are in: the
 * class starts at the same display column on every line (utf8_width()). */
static void test_text_report_aligned(void **state)
{
    static const char *const names[] = {"身份证号", "name", "Ａｇｅ", "é", "邮编…", "x"};
    struct detect_scan sc;
    struct buf text = BUF_INIT;
    size_t want = 0, lines = 0;
    char *line, *save = NULL;

    (void)state;
    detect_scan_init(&sc, names, 6, 20261205);
    detect_scan_value(&sc, 0, "11010519491231002X", 18);
    detect_scan_finish(&sc);
    detect_scan_text(&sc, &text);
    for (line = strtok_r(text.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *cls = strstr(line, "class");
        size_t at;

        if (!cls)
            cls = strstr(line, "direct_identifier");
        if (!cls)
            cls = strstr(line, "other");
        if (!cls)
            cls = strstr(line, "quasi_identifier");
        if (!cls)
            continue; /* the last line: rows and columns */
        at = utf8_width(line, (size_t)(cls - line));
        if (!lines++)
            want = at;
        assert_int_equal(at, want);
    }
    assert_int_equal(lines, 7); /* the header and six columns */
    /* the widest name, 身份证号 (8 columns), and two spaces */
    assert_int_equal(want, 10);
    buf_release(&text);
    detect_scan_release(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_resident_id),
            cmocka_unit_test(test_uscc),
            cmocka_unit_test(test_mobile_landline),
            cmocka_unit_test(test_bank_card),
            cmocka_unit_test(test_passport_email_ip),
            cmocka_unit_test(test_ssn),
            cmocka_unit_test(test_plate_date_postal),
            cmocka_unit_test(test_detect_value),
            cmocka_unit_test(test_mask),
            cmocka_unit_test(test_hints),
            cmocka_unit_test(test_free_text),
            cmocka_unit_test(test_classify_rules),
            cmocka_unit_test(test_synth_people),
            cmocka_unit_test(test_classify_synthetic),
            cmocka_unit_test(test_text_report_aligned),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
