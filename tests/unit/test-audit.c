/*
 * test-audit.c - fees and the audit (src/audit/): exact amounts and dates, the charges
 * file reader's errors by line and column, fee schedules and the two-person rule, the
 * import (all rows or none, also under an injected store failure at every write), and
 * the report's findings with their ledger entries, against a real store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>

#include "access/access.h"
#include "audit/audit.h"
#include "ledger/ledger.h"
#include "store/store-audit.h"
#include "store/store-datastore.h"
#include "store/store-int.h" /* store_fail_count_reset() for failure injection */
#include "core/util.h"
#include "unit-util.h"

#define HEADER AUDIT_CHARGES_HEADER "\n"

/* err, emptied: err_set() keeps the first error, and the tests reuse one. */
static struct err *E(struct err *e)
{
    err_clear(e);
    return e;
}

static int setup(void **state)
{
    secret_init();
    return unit_store_setup(state, "audit");
}

static int teardown(void **state)
{
    return unit_store_teardown(state);
}

static void add_org(struct store *s, const char *id, const char *name)
{
    struct err err = ERR_INIT;
    struct store_group g = {0};
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "name", name, "title", name, "state",
                            "active");

    g.id = id;
    g.name = name;
    g.is_organization = true;
    g.state = "active";
    g.doc = doc;
    assert_int_equal(store_begin(s, E(&err)), 0);
    assert_int_equal(store_group_put(s, &g, E(&err)), 0);
    assert_int_equal(store_commit(s, E(&err)), 0);
    json_decref(doc);
}

/* An actor: a sysadmin, or a user with a capacity in org "fifth" (id "org-5"); with
 * approver, also the approver role of fifth. */
static void actor_make_role(struct actor *a, const char *name, bool sysadmin, const char *capacity,
                            bool approver)
{
    memset(a, 0, sizeof(*a));
    a->authenticated = true;
    a->sysadmin = sysadmin;
    xsnprintf(a->id, sizeof(a->id), "id-%s", name);
    xsnprintf(a->name, sizeof(a->name), "%s", name);
    a->memberships = capacity ? json_pack("[{s:s, s:s}]", "id", "org-5", "capacity", capacity)
                              : json_array();
    a->roles = approver ? json_pack("[{s:s, s:s}]", "role", "approver", "organization", "org-5")
                        : json_array();
}

static void actor_make(struct actor *a, const char *name, bool sysadmin, const char *capacity)
{
    actor_make_role(a, name, sysadmin, capacity, false);
}

static void test_amounts(void **state)
{
    static const struct {
        const char *in;
        int64_t fen;
    } good[] = {
            {"1", 100},
            {"0.01", 1},
            {"12.5", 1250},
            {"12.50", 1250},
            {"0012.05", 1205},
            {"145000000.00", 14500000000},
            {"9999999999999.99", 0}, /* above the maximum: refused below */
    };
    static const char *const bad[] = {"",
                                      "0",
                                      "0.00",
                                      "-1",
                                      "+1",
                                      "1.234",
                                      "1.",
                                      ".5",
                                      "1,000",
                                      "1e3",
                                      " 1",
                                      "1 ",
                                      "12345678901234",
                                      "NaN",
                                      "1.2.3",
                                      "9999999999999.99"};
    char out[AUDIT_AMOUNT_STR_MAX];
    const char *why;
    int64_t fen;

    (void)state;
    for (size_t i = 0; i + 1 < ARRAY_SIZE(good); i++) {
        assert_int_equal(audit_amount_parse(good[i].in, strlen(good[i].in), &fen, &why), 0);
        assert_int_equal(fen, good[i].fen);
    }
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        why = NULL;
        assert_int_equal(audit_amount_parse(bad[i], strlen(bad[i]), &fen, &why), -1);
        assert_non_null(why);
    }
    audit_amount_format(24837320000, out);
    assert_string_equal(out, "248373200.00");
    audit_amount_format(5, out);
    assert_string_equal(out, "0.05");
    audit_amount_format(-1205, out);
    assert_string_equal(out, "-12.05");
    audit_amount_format(INT64_MIN, out);
    assert_string_equal(out, "-92233720368547758.08");
    assert_true(audit_date_valid("2024-02-29", 10));
    assert_false(audit_date_valid("2023-02-29", 10));
    assert_false(audit_date_valid("1900-02-29", 10));
    assert_true(audit_date_valid("2000-02-29", 10));
    assert_false(audit_date_valid("2021-13-01", 10));
    assert_false(audit_date_valid("2021-1-01", 9));
    assert_false(audit_date_valid("2021/01/01", 10));
}

static int count_row(void *ctx, const struct audit_charge_row *row, struct err *err)
{
    (void)row;
    (void)err;
    (*(size_t *)ctx)++;
    return 0;
}

static void test_csv_errors(void **state)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
            {"organization,unit\n", "line 1: the header must be exactly"},
            {"", "line 1: the header must be exactly"},
            {HEADER "mot,a,b,c,2021-02-30,1,CNY,\n", "line 2, column 5 (date)"},
            {HEADER "mot,a,b,c,2021-02-03,1,CNY,\nmot,a,b,c,2021-02-03,1.234,CNY,\n",
             "line 3, column 6 (amount): \"1.234\" has more than two decimals"},
            {HEADER "mot,a,b,c,2021-02-03,1,USD,\n", "line 2, column 7 (currency)"},
            {HEADER "mot,a,b,c,2021-02-03,1,CNY\n", "line 2: 7 columns instead of 8"},
            {HEADER "mot,a,b,c,2021-02-03,1,CNY,,\n", "line 2: more than 8 columns"},
            {HEADER "mot,,b,c,2021-02-03,1,CNY,\n", "line 2, column 2 (unit): is empty"},
            {HEADER "mot,a,b,\"c,2021-02-03,1,CNY,\n", "line 2, column 4 (payer): unterminated"},
            {HEADER "mot,a,b,c\"d,2021-02-03,1,CNY,\n", "line 2, column 4 (payer): a quote"},
            {HEADER "\nmot,a,b,c,2021-02-03,1,CNY,\n", "line 2: empty line"},
            {HEADER "mot,a,b\x01,c,2021-02-03,1,CNY,\n", "line 2, column 3 (system): holds a"},
            {HEADER "mot,a,\xff,c,2021-02-03,1,CNY,\n", "line 2, column 3 (system): is not valid"},
            {HEADER "mot,a,b,c,2021-02-03,-5,CNY,\n", "line 2, column 6 (amount): \"-5\" is "
                                                      "negative"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct err err = ERR_INIT;
        size_t n = 0;

        assert_int_equal(
                audit_charges_parse(cases[i].text, strlen(cases[i].text), count_row, &n, &err),
                -ERR_VALIDATION);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, err.msg, cases[i].msg);
        assert_string_equal(err.field, "file");
    }
    {
        /* BOM, CRLF, quotes, no final line end. */
        const char *ok = "\xef\xbb\xbf" AUDIT_CHARGES_HEADER "\r\nmot,\"a, b\",\"x\"\"y\",李四,"
                         "2024-02-29,0.01,CNY,fee\r\nmot,a,b,c,2021-02-03,7,CNY,";
        struct err err = ERR_INIT;
        size_t n = 0;

        assert_int_equal(audit_charges_parse(ok, strlen(ok), count_row, &n, E(&err)), 0);
        assert_int_equal(n, 2);
    }
}

static json_t *schedule_params(const char *name, const char *price)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", name, "organization",
                     "fifth", "service", "copies of records", "unit", "page", "price", price,
                     "legal_basis", "Regulation 7", "period_start", "2020-01-01", "period_end",
                     "2025-12-31");
}

static uint64_t ledger_count(struct store *s)
{
    struct err err = ERR_INIT;
    uint64_t n = 0;

    assert_int_equal(store_ledger_count(s, &n, E(&err)), 0);
    return n;
}

static void test_two_person_rule(void **state)
{
    struct unit_store *f = *state;
    struct actor alice, bob, carol, root;
    struct err err = ERR_INIT;
    json_t *params = schedule_params("copy-fee", "12.50"), *out = NULL, *list = NULL;
    uint64_t before;

    add_org(f->s, "org-5", "fifth");
    actor_make_role(&alice, "alice", false, "admin", true);
    actor_make_role(&bob, "bob", false, "member", true);
    actor_make(&carol, "carol", false, "admin");
    actor_make(&root, "root", true, NULL);
    /* A member may not create; an admin may. */
    assert_int_equal(audit_schedule_create(f->s, &bob, params, &out, E(&err)), -ERR_AUTH);
    assert_int_equal(audit_schedule_create(f->s, &alice, params, &out, E(&err)), 0);
    assert_string_equal(json_string_value(json_object_get(out, "state")), "pending");
    assert_string_equal(json_string_value(json_object_get(out, "price")), "12.50");
    json_decref(out);
    /* Pending: not published. */
    assert_int_equal(audit_schedule_list(f->s, NULL, NULL, true, &list, E(&err)), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    /* The creator may not approve (an approver though she is), nor an admin or a
     * sysadmin without the approver role; nothing is written. */
    before = ledger_count(f->s);
    assert_int_equal(audit_schedule_approve(f->s, &alice, "copy-fee", &out, E(&err)), -ERR_AUTH);
    assert_non_null(strstr(err.msg, "may not approve their own request"));
    assert_int_equal(audit_schedule_approve(f->s, &carol, "copy-fee", &out, E(&err)), -ERR_AUTH);
    assert_int_equal(audit_schedule_approve(f->s, &root, "copy-fee", &out, E(&err)), -ERR_AUTH);
    assert_int_equal(ledger_count(f->s), before);
    /* Another admin may, once. */
    assert_int_equal(audit_schedule_approve(f->s, &bob, "copy-fee", &out, E(&err)), 0);
    assert_string_equal(json_string_value(json_object_get(out, "approver")), "bob");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "ledger"), "approve")),
                     before);
    json_decref(out);
    assert_int_equal(ledger_count(f->s), before + 1);
    assert_int_equal(audit_schedule_approve(f->s, &alice, "copy-fee", &out, E(&err)), -ERR_AUTH);
    assert_int_equal(audit_schedule_approve(f->s, &bob, "copy-fee", &out, E(&err)), -ERR_CONFLICT);
    assert_int_equal(audit_schedule_list(f->s, NULL, "fifth", false, &list, E(&err)), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    /* A sysadmin creates; an approver approves. */
    json_decref(params);
    params = schedule_params("other-fee", "1");
    assert_int_equal(audit_schedule_create(f->s, &root, params, NULL, E(&err)), 0);
    assert_int_equal(audit_schedule_approve(f->s, &alice, "other-fee", NULL, E(&err)), 0);
    /* Bad input names its field. */
    json_object_set_new(params, "price", json_string("1.005"));
    json_object_set_new(params, "name", json_string("third"));
    assert_int_equal(audit_schedule_create(f->s, &alice, params, NULL, E(&err)), -ERR_VALIDATION);
    assert_string_equal(err.field, "price");
    json_object_set_new(params, "price", json_real(1.5));
    assert_int_equal(audit_schedule_create(f->s, &alice, params, NULL, E(&err)), -ERR_VALIDATION);
    assert_string_equal(err.field, "price");
    json_object_set_new(params, "price", json_string("1"));
    json_object_set_new(params, "period_end", json_string("2019-12-31"));
    assert_int_equal(audit_schedule_create(f->s, &alice, params, NULL, E(&err)), -ERR_VALIDATION);
    assert_string_equal(err.field, "period_end");
    json_decref(params);
    actor_release(&alice);
    actor_release(&bob);
    actor_release(&carol);
    actor_release(&root);
}

static const char import_text[] =
        HEADER "mot,Bureau A,System 1,Zhang San,2021-03-04,1000.00,CNY,\n"
               "mot,Bureau A,System 2,\"Li, Si\",2021-03-05,500.5,CNY,no-such-fee\n"
               "mot,Bureau B,System 3,Wang,2022-03-05,0.01,CNY,copy-fee\n"
               "fifth,Office,Copies,Wang Wu,2022-01-01,12.50,CNY,copy-fee\n"
               "fifth,Office,Copies,Wang Wu,2026-01-01,12.50,CNY,copy-fee\n"
               "fifth,Office,Copies,Wang Wu,2022-01-01,13,CNY,copy-fee\n"
               "fifth,Office,Copies,Zhao,2023-06-30,12.5,CNY,pending-fee\n";

/* Sets up fifth with an approved copy-fee (12.50, 2020..2025) and a pending one, and mot. */
static void fees_setup(struct store *s)
{
    struct actor alice, bob;
    struct err err = ERR_INIT;
    json_t *p;

    add_org(s, "org-5", "fifth");
    add_org(s, "org-m", "mot");
    actor_make(&alice, "alice", false, "admin");
    actor_make_role(&bob, "bob", false, "admin", true);
    p = schedule_params("copy-fee", "12.50");
    assert_int_equal(audit_schedule_create(s, &alice, p, NULL, E(&err)), 0);
    assert_int_equal(audit_schedule_approve(s, &bob, "copy-fee", NULL, E(&err)), 0);
    json_decref(p);
    p = schedule_params("pending-fee", "12.50");
    assert_int_equal(audit_schedule_create(s, &alice, p, NULL, E(&err)), 0);
    json_decref(p);
    actor_release(&alice);
    actor_release(&bob);
}

static json_t *kind_org(json_t *report, const char *kind, const char *org)
{
    json_t *v;
    size_t i;

    json_array_foreach (json_object_get(report, kind), i, v)
        if (!strcmp(json_string_value(json_object_get(v, "organization")), org))
            return v;
    return NULL;
}

static void test_import_and_report(void **state)
{
    struct unit_store *f = *state;
    struct actor root, alice;
    struct err err = ERR_INIT;
    uint64_t count = 0, before, n = 0;
    json_t *report = NULL, *v, *out = NULL, *params;
    struct store_ledger_entry *e = NULL;
    size_t ne = 0;
    char *bad;

    fees_setup(f->s);
    actor_make(&root, "root", true, NULL);
    actor_make(&alice, "alice", false, "admin");
    /* Only a sysadmin imports. */
    assert_int_equal(
            audit_charges_import(f->s, &alice, import_text, strlen(import_text), &count, &err),
            -ERR_AUTH);
    /* A bad last row: nothing of the file. */
    before = ledger_count(f->s);
    bad = xmalloc(strlen(import_text) + 64);
    xsnprintf(bad, strlen(import_text) + 64, "%s%s", import_text,
              "nobody,a,b,c,2021-01-01,1,CNY,\n");
    assert_int_equal(audit_charges_import(f->s, &root, bad, strlen(bad), &count, E(&err)),
                     -ERR_VALIDATION);
    assert_string_equal(err.msg, "line 9, column 1 (organization): organization \"nobody\" not "
                                 "found");
    free(bad);
    assert_int_equal(store_charge_count(f->s, &n, E(&err)), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ledger_count(f->s), before);
    /* The file. */
    assert_int_equal(
            audit_charges_import(f->s, &root, import_text, strlen(import_text), &count, &err), 0);
    assert_int_equal(count, 7);
    assert_int_equal(ledger_count(f->s), before + 7);
    /* The public entry holds no payer. */
    assert_int_equal(store_ledger_entries(f->s, before, before + 7, &e, &ne, E(&err)), 0);
    assert_int_equal(ne, 7);
    for (size_t i = 0; i < ne; i++) {
        assert_null(strstr(e[i].entry, "Zhang"));
        assert_null(strstr(e[i].entry, "Wang"));
        assert_non_null(strstr(e[i].entry, "\"type\":\"charge_record\""));
    }
    store_ledger_entries_free(e, ne);
    assert_int_equal(audit_report(f->s, NULL, &report, E(&err)), 0);
    /* mot: 3 charges with no approved schedule of its own (none, unknown, fifth's). */
    v = kind_org(report, "unapproved_charges", "mot");
    assert_non_null(v);
    assert_int_equal(json_integer_value(json_object_get(v, "units")), 2);
    assert_int_equal(json_integer_value(json_object_get(v, "systems")), 3);
    assert_int_equal(json_integer_value(json_object_get(v, "charges")), 3);
    assert_string_equal(json_string_value(json_object_get(v, "total")), "1500.51");
    /* fifth: the pending schedule's charge is unapproved; one out of period; one above. */
    v = kind_org(report, "unapproved_charges", "fifth");
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "total")), "12.50");
    v = kind_org(report, "charges_outside_period", "fifth");
    assert_non_null(v);
    assert_int_equal(json_integer_value(json_object_get(v, "charges")), 1);
    v = json_array_get(
            json_object_get(json_array_get(json_object_get(v, "by_system"), 0), "details"), 0);
    assert_string_equal(json_string_value(json_object_get(v, "date")), "2026-01-01");
    assert_int_equal(json_integer_value(json_object_get(v, "entry")), before + 4);
    v = kind_org(report, "charges_above_price", "fifth");
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "total")), "13.00");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(report, "summary"),
                                                        "ledger_mismatches")),
                     0);
    json_decref(report);
    /* Kaifang itself charges only within an approved schedule. */
    params = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "organization", "fifth", "unit",
                       "Office", "system", "Portal", "payer", "Acme Ltd", "date", "2024-05-01",
                       "amount", "12.50", "schedule", "copy-fee");
    assert_int_equal(audit_charge_record(f->s, &alice, params, &out, E(&err)), 0);
    json_decref(out);
    json_object_set_new(params, "amount", json_string("12.51"));
    assert_int_equal(audit_charge_record(f->s, &alice, params, &out, E(&err)), -ERR_VALIDATION);
    assert_string_equal(err.field, "amount");
    json_object_set_new(params, "amount", json_string("1"));
    json_object_set_new(params, "schedule", json_string("pending-fee"));
    assert_int_equal(audit_charge_record(f->s, &alice, params, &out, E(&err)), -ERR_VALIDATION);
    assert_string_equal(err.field, "schedule");
    json_object_set_new(params, "schedule", json_string("copy-fee"));
    json_object_set_new(params, "date", json_string("2019-12-31"));
    assert_int_equal(audit_charge_record(f->s, &alice, params, &out, E(&err)), -ERR_VALIDATION);
    assert_string_equal(err.field, "date");
    json_decref(params);
    actor_release(&root);
    actor_release(&alice);
}

/* An import failing at any of its store writes leaves no charge and no entry. */
static void test_import_failures(void **state)
{
    struct unit_store *f = *state;
    struct actor root;
    uint64_t count, before, n;
    int rc;

    fees_setup(f->s);
    actor_make(&root, "root", true, NULL);
    before = ledger_count(f->s);
    for (unsigned k = 1;; k++) {
        struct err err = ERR_INIT;
        f->s->fail_at = k;
        store_fail_count_reset();
        rc = audit_charges_import(f->s, &root, import_text, strlen(import_text), &count, E(&err));
        f->s->fail_at = 0;
        if (!rc)
            break;
        assert_int_equal(rc, -ERR_INTERNAL);
        assert_int_equal(store_charge_count(f->s, &n, E(&err)), 0);
        assert_int_equal(n, 0);
        assert_int_equal(ledger_count(f->s), before);
        assert_true(k < 100);
    }
    assert_int_equal(store_charge_count(f->s, &n, &(struct err)ERR_INIT), 0);
    assert_int_equal(n, 7);
    actor_release(&root);
}

/* A charge changed in the store after it was recorded disagrees with its entry. */
static void test_mismatch(void **state)
{
    struct unit_store *f = *state;
    struct actor root;
    struct err err = ERR_INIT;
    struct store_charge x = {0};
    uint64_t count;
    json_t *report = NULL;

    fees_setup(f->s);
    actor_make(&root, "root", true, NULL);
    assert_int_equal(
            audit_charges_import(f->s, &root, import_text, strlen(import_text), &count, &err), 0);
    /* A row the ledger never saw, pointing at a schedule's entry. */
    x = (struct store_charge){.id = "forged",
                              .org_id = "org-m",
                              .unit = "u",
                              .system = "s",
                              .payer = "p",
                              .date = "2021-01-01",
                              .amount_fen = 100,
                              .currency = "CNY",
                              .source = "import",
                              .salt = "00",
                              .created = "2026-01-01T00:00:00Z",
                              .ledger_idx = 0};
    assert_int_equal(store_begin(f->s, E(&err)), 0);
    assert_int_equal(store_charges_put(f->s, &x, 1, E(&err)), 0);
    assert_int_equal(store_commit(f->s, E(&err)), 0);
    assert_int_equal(audit_report(f->s, NULL, &report, E(&err)), 0);
    assert_int_equal(json_array_size(json_object_get(report, "ledger_mismatches")), 1);
    assert_string_equal(
            json_string_value(json_object_get(
                    json_array_get(json_object_get(report, "ledger_mismatches"), 0), "id")),
            "forged");
    json_decref(report);
    actor_release(&root);
}

/* ---- Findings about restricted data ----
 * The product refuses to make most of these situations (a read outside a grant is
 * refused and recorded as a refusal; a grant is approved only by another approver; a
 * read after the grant's period is refused), so the test writes them through the
 * layers below it: grants with store_grant_put() and ledger entries with
 * ledger_record(), as a store edited by hand or an imported ledger would hold them. */

/* A grant record as grant.c stores it (organization fifth, dataset ds-1). */
static void grant_put(struct store *s, const char *id, const char *grantee, const char *state,
                      const char *from, const char *until, const char *requested_by,
                      const char *decided_by)
{
    struct err err = ERR_INIT;
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?}", "id", id,
                            "dataset", "ds-1", "organization", "fifth", "organization_id", "org-5",
                            "grantee", grantee, "grantee_id", "id-gina", "state", state,
                            "valid_from", from, "valid_until", until, "requested_by", requested_by,
                            "decided_by", decided_by);

    assert_int_equal(store_begin(s, E(&err)), 0);
    assert_int_equal(
            store_grant_put(s, id, "ds-1", "id-gina", state, "2026-01-01T00:00:00Z", doc, E(&err)),
            0);
    assert_int_equal(store_commit(s, E(&err)), 0);
    json_decref(doc);
}

/* One ledger entry (its own transaction); objects stolen, digest borrowed. Its index. */
static uint64_t entry(struct store *s, const char *type, const char *actor, json_t *objects,
                      json_t *digest)
{
    struct err err = ERR_INIT;
    uint64_t idx = 0;

    assert_int_equal(store_begin(s, E(&err)), 0);
    assert_int_equal(ledger_record(s, type, actor, "fifth", objects, digest, &idx, E(&err)), 0);
    assert_int_equal(store_commit(s, E(&err)), 0);
    json_decref(objects);
    return idx;
}

static uint64_t grant_step(struct store *s, const char *type, const char *actor, const char *id)
{
    return entry(s, type, actor,
                 json_pack("{s:s, s:s, s:s}", "grant", id, "dataset", "ds-1", "grantee", "gina"),
                 NULL);
}

static uint64_t read_entry(struct store *s, const char *actor, const char *grant)
{
    return entry(s, "restricted_read", actor,
                 json_pack("{s:s?, s:s, s:s, s:i}", "grant", grant, "dataset", "ds-1", "resource",
                           "res-1", "rows", 3),
                 NULL);
}

/* The item of kind in organization fifth whose field is value (NULL: none). */
static json_t *find_item(json_t *report, const char *kind, const char *field, const char *value)
{
    json_t *org = kind_org(report, kind, "fifth"), *it;
    size_t i;

    json_array_foreach (json_object_get(org, "items"), i, it)
        if (json_is_string(json_object_get(it, field)) &&
            !strcmp(json_string_value(json_object_get(it, field)), value))
            return it;
    return NULL;
}

/* Whether the JSON array of integers arr holds exactly the n indexes of want (in order). */
static void assert_entries(const json_t *arr, const uint64_t *want, size_t n)
{
    assert_int_equal(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(json_integer_value(json_array_get(arr, i)), want[i]);
}

static void test_restricted_findings(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    json_t *report = NULL, *it, *ov, *digest, *sum;
    uint64_t req_ok, app_ok, read_ok, r_none, r_other, r_unapproved, r_future, app_exp, r_exp,
            app_rev, rev, r_rev, ref1, ref2, req_self, app_self, ovx, ovy;
    struct buf csv = BUF_INIT;

    add_org(f->s, "org-5", "fifth");
    /* g-ok: approved by bob, requested by alice, valid for centuries; read within it. */
    grant_put(f->s, "g-ok", "gina", "approved", "2000-01-01", "2999-12-31", "alice", "bob");
    req_ok = grant_step(f->s, "grant_request", "alice", "g-ok");
    app_ok = grant_step(f->s, "grant_approve", "bob", "g-ok");
    read_ok = read_entry(f->s, "gina", "g-ok");
    /* Reads outside any grant: one naming a grant the store does not hold, one by
     * another user under g-ok, one under a grant the ledger never saw approved, one
     * before its grant's period. */
    r_none = read_entry(f->s, "gina", "g-ghost");
    r_other = read_entry(f->s, "mallory", "g-ok");
    grant_put(f->s, "g-unapproved", "gina", "approved", "2000-01-01", "2999-12-31", "alice", "bob");
    grant_step(f->s, "grant_request", "alice", "g-unapproved");
    r_unapproved = read_entry(f->s, "gina", "g-unapproved");
    grant_put(f->s, "g-future", "gina", "approved", "2999-01-01", "2999-12-31", "alice", "bob");
    grant_step(f->s, "grant_request", "alice", "g-future");
    grant_step(f->s, "grant_approve", "bob", "g-future");
    r_future = read_entry(f->s, "gina", "g-future");
    /* Expired grants still used: after the period, and after a revocation. */
    grant_put(f->s, "g-expired", "gina", "approved", "2000-01-01", "2001-01-01", "alice", "bob");
    grant_step(f->s, "grant_request", "alice", "g-expired");
    app_exp = grant_step(f->s, "grant_approve", "bob", "g-expired");
    r_exp = read_entry(f->s, "gina", "g-expired");
    grant_put(f->s, "g-revoked", "gina", "revoked", "2000-01-01", "2999-12-31", "alice", "bob");
    grant_step(f->s, "grant_request", "alice", "g-revoked");
    app_rev = grant_step(f->s, "grant_approve", "bob", "g-revoked");
    r_rev = read_entry(f->s, "gina", "g-revoked"); /* before the revocation: fine */
    rev = grant_step(f->s, "grant_revoke", "bob", "g-revoked");
    r_rev = read_entry(f->s, "gina", "g-revoked");
    /* Two refusals of eve (the product writes these itself). */
    ref1 = entry(f->s, "restricted_read_refused", "eve",
                 json_pack("{s:s, s:s, s:s}", "dataset", "ds-1", "resource", "res-1", "reason",
                           "no grant"),
                 NULL);
    ref2 = entry(f->s, "restricted_read_refused", "eve",
                 json_pack("{s:s, s:s, s:s}", "dataset", "ds-1", "resource", "res-1", "reason",
                           "datastore_search_sql"),
                 NULL);
    /* A grant approved by its own requester, in the ledger and in the store. */
    grant_put(f->s, "g-self", "gina", "approved", "2000-01-01", "2999-12-31", "alice", "alice");
    req_self = grant_step(f->s, "grant_request", "alice", "g-self");
    app_self = grant_step(f->s, "grant_approve", "alice", "g-self");
    /* Privacy overrides: one by bob with the report's justification and the digest the
     * gate writes; one by the table's publisher (alice) whose report was replaced since. */
    ov = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:[s], s:i}}", "publisher", "alice", "override",
                   "user", "bob", "justification", "aggregates only, reviewed by the office", "at",
                   "2026-01-02T00:00:00Z", "source_sha256", "ab", "reasons", "k below 5",
                   "k_required", 5);
    assert_int_equal(store_begin(f->s, E(&err)), 0);
    assert_int_equal(store_privacy_report_put(f->s, "res-1", ov, E(&err)), 0);
    assert_int_equal(store_commit(f->s, E(&err)), 0);
    digest = json_pack("{s:s, s:s, s:s, s:[s], s:i}", "resource_id", "res-1", "source_sha256", "ab",
                       "justification", "aggregates only, reviewed by the office", "reasons",
                       "k below 5", "k_required", 5);
    ovx = entry(f->s, "privacy_override", "bob",
                json_pack("{s:s, s:s, s:s}", "dataset", "ds-1", "name", "d", "resource", "res-1"),
                digest);
    json_decref(digest);
    json_decref(ov);
    ovy = entry(f->s, "privacy_override", "alice",
                json_pack("{s:s, s:s}", "dataset", "ds-1", "resource", "res-2"), NULL);

    assert_int_equal(audit_report(f->s, NULL, &report, E(&err)), 0);
    assert_int_equal(json_array_size(json_object_get(report, "not_checked")), 0);

    /* Reads outside any grant. */
    it = find_item(report, "reads_outside_grant", "grant", "g-ghost");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_array_get(json_object_get(it, "reasons"), 0)),
                        "the grant it names is not in the store");
    assert_entries(json_object_get(it, "entries"), &r_none, 1);
    it = find_item(report, "reads_outside_grant", "actor", "mallory");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_array_get(json_object_get(it, "reasons"), 0)),
                        "the grant it names is of another grantee");
    assert_entries(json_object_get(it, "entries"), &r_other, 1);
    it = find_item(report, "reads_outside_grant", "grant", "g-unapproved");
    assert_non_null(it);
    assert_entries(json_object_get(it, "entries"), &r_unapproved, 1);
    it = find_item(report, "reads_outside_grant", "grant", "g-future");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_array_get(json_object_get(it, "reasons"), 0)),
                        "the read is before the grant's period");
    assert_entries(json_object_get(it, "entries"), &r_future, 1);
    it = find_item(report, "reads_outside_grant", "actor", "eve");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_object_get(it, "kind")), "refused");
    assert_int_equal(json_integer_value(json_object_get(it, "count")), 2);
    assert_int_equal(json_array_size(json_object_get(it, "reasons")), 2);
    assert_entries(json_object_get(it, "entries"), (uint64_t[]){ref1, ref2}, 2);
    /* gina's read under g-ok is not among them: five items in all. */
    assert_int_equal(
            json_integer_value(json_object_get(
                    json_object_get(json_object_get(report, "summary"), "reads_outside_grant"),
                    "findings")),
            5);

    /* Expired grants still used: the approval (and revocation) and the late read. */
    it = find_item(report, "expired_grants_used", "grant", "g-expired");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_object_get(it, "reason")),
                        "read after the grant's period");
    assert_entries(json_object_get(it, "entries"), (uint64_t[]){app_exp, r_exp}, 2);
    it = find_item(report, "expired_grants_used", "grant", "g-revoked");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_object_get(it, "reason")),
                        "read after the grant was revoked");
    assert_int_equal(json_integer_value(json_object_get(it, "count")), 1);
    assert_entries(json_object_get(it, "entries"), (uint64_t[]){app_rev, rev, r_rev}, 3);
    assert_null(find_item(report, "expired_grants_used", "grant", "g-ok"));

    /* Grants approved by their own requester: from both sources, with both entries. */
    it = find_item(report, "grants_self_approved", "grant", "g-self");
    assert_non_null(it);
    assert_int_equal(json_array_size(json_object_get(it, "sources")), 2);
    assert_entries(json_object_get(it, "entries"), (uint64_t[]){req_self, app_self}, 2);
    assert_null(find_item(report, "grants_self_approved", "grant", "g-ok"));

    /* Privacy overrides: both, with approver; the justification where the digest agrees. */
    it = find_item(report, "privacy_overrides", "resource", "res-1");
    assert_non_null(it);
    assert_string_equal(json_string_value(json_object_get(it, "approver")), "bob");
    assert_string_equal(json_string_value(json_object_get(it, "justification")),
                        "aggregates only, reviewed by the office");
    assert_false(json_is_true(json_object_get(it, "self_approved")));
    assert_entries(json_object_get(it, "entries"), &ovx, 1);
    it = find_item(report, "privacy_overrides", "resource", "res-2");
    assert_non_null(it);
    assert_true(json_is_null(json_object_get(it, "justification")));
    assert_entries(json_object_get(it, "entries"), &ovy, 1);

    sum = json_object_get(report, "summary");
    assert_int_equal(
            json_integer_value(json_object_get(json_object_get(sum, "privacy_overrides"), "count")),
            2);
    /* The CSV has a line per item, with its entries. */
    audit_report_csv(report, &csv);
    assert_non_null(strstr(csv.buf, "kind,organization,unit,system,charges,total,entries,subject,"
                                    "detail\r\n"));
    assert_non_null(strstr(csv.buf, "privacy_overrides,fifth,d,res-1,1,,"));
    assert_non_null(strstr(csv.buf, ",bob,aggregates only, reviewed by the office") ||
                    strstr(csv.buf, ",bob,\"aggregates only, reviewed by the office\""));
    buf_release(&csv);
    (void)req_ok;
    (void)app_ok;
    (void)read_ok;
    json_decref(report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_amounts),
            cmocka_unit_test(test_csv_errors),
            cmocka_unit_test_setup_teardown(test_two_person_rule, setup, teardown),
            cmocka_unit_test_setup_teardown(test_import_and_report, setup, teardown),
            cmocka_unit_test_setup_teardown(test_import_failures, setup, teardown),
            cmocka_unit_test_setup_teardown(test_mismatch, setup, teardown),
            cmocka_unit_test_setup_teardown(test_restricted_findings, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
