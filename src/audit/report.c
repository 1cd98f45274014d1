/*
 * report.c - the audit: reconciles the fee schedules and charges of the store with
 * their ledger entries and lists every exception, per organization and per unit and
 * system, each naming the ledger entries it rests on (docs/internals/audit.md, "The
 * report").
 *
 * One walk over the charges, each read with its entry (store_charges_walk joins them),
 * so the cost is linear in the charges, not in the ledger. Totals are int64 fen.
 */
#include <string.h>

#include "audit/audit-int.h"
#include "core/timeutil.h"
#include "core/util.h"
#include "ledger/ledger.h"
#include "store/store-audit.h"

/* The kinds of findings about charges, in report order. */
enum kind { K_UNAPPROVED, K_PERIOD, K_PRICE, K__COUNT };

static const char *const kind_key[K__COUNT] = {
        "unapproved_charges",
        "charges_outside_period",
        "charges_above_price",
};

/* A (unit, system) group of findings, kept as a JSON object while walking:
 * {unit, system, charges, total_fen, first_date, last_date, entries, details?}. */
struct walk {
    struct store *s;
    json_t *schedules;       /* id and name → schedule doc */
    json_t *orgs;            /* org id → {name, title} */
    json_t *kinds[K__COUNT]; /* org id → {"unit\x1fsystem" → group} */
    json_t *mismatches;      /* [{charge, entry, problem}] */
    uint64_t charges;
};

static int org_info(struct walk *w, const char *org_id, json_t **out, struct err *err)
{
    json_t *doc = NULL;
    int rc;

    *out = json_object_get(w->orgs, org_id);
    if (*out)
        return 0;
    rc = store_group_get(w->s, true, org_id, &doc, err);
    if (rc == -ERR_NOT_FOUND) {
        err_clear(err);
        *out = json_pack("{s:s, s:s}", "name", org_id, "title", "");
    } else if (rc) {
        return rc;
    } else {
        *out = json_pack("{s:O, s:O}", "name", json_object_get(doc, "name"), "title",
                         json_object_get(doc, "title") ? json_object_get(doc, "title")
                                                       : json_string(""));
    }
    json_decref(doc);
    json_object_set_new(w->orgs, org_id, *out);
    return 0;
}

static void add_finding(struct walk *w, enum kind k, const struct store_charge *c, json_t *detail)
{
    json_t *org = json_object_get(w->kinds[k], c->org_id), *g;
    struct buf key = BUF_INIT;

    if (!org) {
        org = json_object();
        json_object_set_new(w->kinds[k], c->org_id, org);
    }
    buf_addstr(&key, c->unit);
    buf_addch(&key, 0x1f);
    buf_addstr(&key, c->system);
    g = json_object_get(org, key.buf);
    if (!g) {
        g = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:[]}", "unit", c->unit, "system", c->system,
                      "charges", (json_int_t)0, "total_fen", (json_int_t)0, "first_date", c->date,
                      "last_date", c->date, "entries");
        json_object_set_new(org, key.buf, g);
    }
    buf_release(&key);
    json_object_set_new(g, "charges",
                        json_integer(json_integer_value(json_object_get(g, "charges")) + 1));
    json_object_set_new(
            g, "total_fen",
            json_integer(json_integer_value(json_object_get(g, "total_fen")) + c->amount_fen));
    if (strcmp(c->date, json_string_value(json_object_get(g, "first_date"))) < 0)
        json_object_set_new(g, "first_date", json_string(c->date));
    if (strcmp(c->date, json_string_value(json_object_get(g, "last_date"))) > 0)
        json_object_set_new(g, "last_date", json_string(c->date));
    json_array_append_new(json_object_get(g, "entries"), json_integer(c->ledger_idx));
    if (detail) {
        if (!json_object_get(g, "details"))
            json_object_set_new(g, "details", json_array());
        json_array_append_new(json_object_get(g, "details"), detail);
    }
}

static void mismatch(struct walk *w, const char *what, const char *id, int64_t entry,
                     const char *problem)
{
    json_array_append_new(w->mismatches, json_pack("{s:s, s:s, s:I, s:s}", "object", what, "id", id,
                                                   "entry", (json_int_t)entry, "problem", problem));
}

/* A charge_record entry whose charge row is gone from the store: a ledger mismatch
 * naming the charge id the entry holds and its index. */
static int orphaned_entry(void *ctx, uint64_t index, const char *entry, size_t len, struct err *err)
{
    struct walk *w = ctx;
    json_t *e = json_loadb(entry, len, 0, NULL);
    const char *id = json_string_value(json_object_get(json_object_get(e, "objects"), "charge"));

    (void)err;
    mismatch(w, "charge", id ? id : "", (int64_t)index,
             "the ledger records this charge; the store has no row for it");
    json_decref(e);
    return 0;
}

/* Checks a charge against the entry that recorded it: what the public can see in the
 * ledger must be what the store holds. NULL when they agree, else the problem. */
static const char *entry_check(const struct store_charge *c, const char *org_name,
                               const char *entry, size_t len)
{
    char amount[AUDIT_AMOUNT_STR_MAX];
    json_t *e, *o;
    const char *problem = NULL;

    if (!entry)
        return "the ledger has no entry at the charge's index";
    e = json_loadb(entry, len, 0, NULL);
    o = json_object_get(e, "objects");
    audit_amount_format(c->amount_fen, amount);
    if (!e)
        problem = "the entry is not JSON";
    else if (!str_eq(json_string_value(json_object_get(e, "type")), "charge_record"))
        problem = "the entry is not a charge_record";
    else if (!str_eq(json_string_value(json_object_get(o, "charge")), c->id))
        problem = "the entry records another charge";
    else if (!str_eq(json_string_value(json_object_get(e, "org")), org_name))
        problem = "the organization differs from the entry's";
    else if (!str_eq(json_string_value(json_object_get(o, "amount")), amount))
        problem = "the amount differs from the entry's";
    else if (!str_eq(json_string_value(json_object_get(o, "date")), c->date))
        problem = "the date differs from the entry's";
    else if (!str_eq(json_string_value(json_object_get(o, "unit")), c->unit) ||
             !str_eq(json_string_value(json_object_get(o, "system")), c->system))
        problem = "the unit or system differs from the entry's";
    else if (!str_eq(json_string_value(json_object_get(o, "schedule")), c->schedule) &&
             (c->schedule || json_object_get(o, "schedule")))
        problem = "the schedule differs from the entry's";
    json_decref(e);
    return problem;
}

static int walk_charge(void *ctx, const struct store_charge *c, const char *entry, size_t len,
                       struct err *err)
{
    struct walk *w = ctx;
    json_t *org = NULL, *sched = NULL;
    const char *problem, *price;
    char amount[AUDIT_AMOUNT_STR_MAX];
    int64_t price_fen = 0;
    const char *why = NULL;
    int rc;

    rc = org_info(w, c->org_id, &org, err);
    if (rc)
        return rc;
    w->charges++;
    problem = entry_check(c, json_string_value(json_object_get(org, "name")), entry, len);
    if (problem)
        mismatch(w, "charge", c->id, c->ledger_idx, problem);
    if (c->schedule)
        sched = json_object_get(w->schedules, c->schedule);
    if (!sched ||
        !str_eq(json_string_value(json_object_get(sched, "organization_id")), c->org_id) ||
        !str_eq(json_string_value(json_object_get(sched, "state")), "approved")) {
        add_finding(w, K_UNAPPROVED, c, NULL);
        return 0;
    }
    audit_amount_format(c->amount_fen, amount);
    if (strcmp(c->date, json_string_value(json_object_get(sched, "period_start"))) < 0 ||
        strcmp(c->date, json_string_value(json_object_get(sched, "period_end"))) > 0)
        add_finding(w, K_PERIOD, c,
                    json_pack("{s:I, s:s, s:s, s:O, s:O, s:O}", "entry", (json_int_t)c->ledger_idx,
                              "date", c->date, "amount", amount, "schedule",
                              json_object_get(sched, "name"), "period_start",
                              json_object_get(sched, "period_start"), "period_end",
                              json_object_get(sched, "period_end")));
    price = json_string_value(json_object_get(sched, "price"));
    if (price && !audit_amount_parse(price, strlen(price), &price_fen, &why) &&
        c->amount_fen > price_fen)
        add_finding(w, K_PRICE, c,
                    json_pack("{s:I, s:s, s:s, s:O, s:s}", "entry", (json_int_t)c->ledger_idx,
                              "date", c->date, "amount", amount, "schedule",
                              json_object_get(sched, "name"), "price", price));
    return 0;
}

/* Checks each schedule's entries (create, approve) and the two-person rule as stored. */
static int check_schedules(struct walk *w, json_t *list, json_t *self_approved, struct err *err)
{
    json_t *doc;
    size_t i;

    json_array_foreach (list, i, doc) {
        const char *id = json_string_value(json_object_get(doc, "id"));
        json_t *ledger = json_object_get(doc, "ledger");
        static const char *const steps[2][2] = {{"create", "fee_schedule_create"},
                                                {"approve", "fee_schedule_approve"}};

        json_object_set(w->schedules, id, doc);
        json_object_set(w->schedules, json_string_value(json_object_get(doc, "name")), doc);
        for (size_t k = 0; k < 2; k++) {
            json_t *ix = json_object_get(ledger, steps[k][0]);
            struct store_ledger_entry *e = NULL;
            size_t n = 0;
            json_t *parsed;
            int rc;

            if (!json_is_integer(ix)) {
                if (k == 0 || str_eq(json_string_value(json_object_get(doc, "state")), "approved"))
                    mismatch(w, "fee_schedule", id, -1, "the schedule names no ledger entry");
                continue;
            }
            rc = store_ledger_entries(w->s, (uint64_t)json_integer_value(ix),
                                      (uint64_t)json_integer_value(ix) + 1, &e, &n, err);
            if (rc)
                return rc;
            parsed = n ? json_loadb(e[0].entry, e[0].len, 0, NULL) : NULL;
            if (!parsed)
                mismatch(w, "fee_schedule", id, json_integer_value(ix),
                         "the ledger has no entry at the schedule's index");
            else if (!str_eq(json_string_value(json_object_get(parsed, "type")), steps[k][1]) ||
                     !str_eq(json_string_value(json_object_get(json_object_get(parsed, "objects"),
                                                               "fee_schedule")),
                             id))
                mismatch(w, "fee_schedule", id, json_integer_value(ix),
                         "the entry at the schedule's index records something else");
            json_decref(parsed);
            store_ledger_entries_free(e, n);
        }
        if (str_eq(json_string_value(json_object_get(doc, "state")), "approved") &&
            str_eq(json_string_value(json_object_get(doc, "creator")),
                   json_string_value(json_object_get(doc, "approver"))))
            json_array_append_new(self_approved,
                                  json_pack("{s:O, s:O, s:O, s:O}", "organization",
                                            json_object_get(doc, "organization"), "fee_schedule",
                                            json_object_get(doc, "name"), "approver",
                                            json_object_get(doc, "approver"), "entries",
                                            json_object_get(doc, "ledger")));
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "organization")),
                   json_string_value(json_object_get(y, "organization")));

    return c;
}

static int by_unit_system(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "unit")),
                   json_string_value(json_object_get(y, "unit")));

    return c ? c
             : strcmp(json_string_value(json_object_get(x, "system")),
                      json_string_value(json_object_get(y, "system")));
}

/* Sorts a JSON array in place with cmp. */
static void sort_array(json_t *arr, int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size(arr), i;
    json_t **v = xcalloc(n ? n : 1, sizeof(*v));

    for (i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof(*v), cmp);
    json_array_clear(arr);
    for (i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

/* One kind's findings as the report lists them, and its summary. */
static json_t *kind_list(struct walk *w, json_t *byorg, json_t *summary)
{
    json_t *list = json_array(), *groups, *g;
    const char *org_id, *key;
    int64_t all_total = 0, all_charges = 0, all_units = 0, all_systems = 0;
    char total[AUDIT_AMOUNT_STR_MAX];

    json_object_foreach (byorg, org_id, groups) {
        json_t *org = json_object_get(w->orgs, org_id), *by = json_array();
        json_t *units = json_object(), *systems = json_object();
        int64_t t = 0, n = 0;

        json_object_foreach (groups, key, g) {
            int64_t gt = json_integer_value(json_object_get(g, "total_fen"));

            t += gt;
            n += json_integer_value(json_object_get(g, "charges"));
            audit_amount_format(gt, total);
            json_object_set_new(g, "total", json_string(total));
            json_object_del(g, "total_fen");
            json_object_set_new(units, json_string_value(json_object_get(g, "unit")), json_true());
            json_object_set_new(systems, json_string_value(json_object_get(g, "system")),
                                json_true());
            json_array_append(by, g);
        }
        sort_array(by, by_unit_system);
        audit_amount_format(t, total);
        json_array_append_new(list, json_pack("{s:O, s:O, s:I, s:I, s:I, s:s, s:o}", "organization",
                                              json_object_get(org, "name"), "title",
                                              json_object_get(org, "title"), "units",
                                              (json_int_t)json_object_size(units), "systems",
                                              (json_int_t)json_object_size(systems), "charges",
                                              (json_int_t)n, "total", total, "by_system", by));
        all_total += t;
        all_charges += n;
        all_units += (int64_t)json_object_size(units);
        all_systems += (int64_t)json_object_size(systems);
        json_decref(units);
        json_decref(systems);
    }
    sort_array(list, by_name);
    audit_amount_format(all_total, total);
    json_object_set_new(summary, "organizations", json_integer((json_int_t)json_array_size(list)));
    json_object_set_new(summary, "units", json_integer(all_units));
    json_object_set_new(summary, "systems", json_integer(all_systems));
    json_object_set_new(summary, "charges", json_integer(all_charges));
    json_object_set_new(summary, "total", json_string(total));
    return list;
}

/* The inclusion proof of entry idx in the tree of size n, as the ledger API gives it. */
static json_t *proof_json(struct store *s, uint64_t idx, uint64_t n, struct err *err)
{
    uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN], leaf[LEDGER_HASH_LEN];
    char b64[LEDGER_HASH_B64_LEN];
    json_t *p, *arr;
    size_t k = 0;

    if (ledger_inclusion_proof(s, idx, n, proof, &k, err) || ledger_leaf(s, idx, leaf, err))
        return NULL;
    arr = json_array();
    for (size_t i = 0; i < k; i++) {
        ledger_hash_b64(proof[i], b64);
        json_array_append_new(arr, json_string(b64));
    }
    ledger_hash_b64(leaf, b64);
    p = json_pack("{s:s, s:o}", "leaf_hash", b64, "proof", arr);
    return p;
}

/* Calls fn(ctx, index) for every entry a finding names: the charge kinds' groups and
 * the items of the findings about restricted data. */
static int each_entry(const json_t *report, int (*fn)(void *ctx, uint64_t idx), void *ctx)
{
    json_t *org, *g, *ix;
    size_t i, j, k;
    int rc = 0;

    for (size_t kk = 0; kk < K__COUNT + AUDIT_FINDING_KINDS; kk++) {
        const char *key = kk < K__COUNT ? kind_key[kk] : audit_finding_keys[kk - K__COUNT];
        const char *groups = kk < K__COUNT ? "by_system" : "items";

        json_array_foreach (json_object_get(report, key), i, org)
            json_array_foreach (json_object_get(org, groups), j, g)
                json_array_foreach (json_object_get(g, "entries"), k, ix)
                    if ((rc = fn(ctx, (uint64_t)json_integer_value(ix))))
                        return rc;
    }
    json_array_foreach (json_object_get(report, "ledger_mismatches"), i, g) {
        ix = json_object_get(g, "entry");
        if (json_integer_value(ix) >= 0 && (rc = fn(ctx, (uint64_t)json_integer_value(ix))))
            return rc;
    }
    return 0;
}

struct proofs_ctx {
    struct store *s;
    json_t *proofs;
    uint64_t size;
    struct err *err;
};

static int add_proof(void *ctx, uint64_t idx)
{
    struct proofs_ctx *p = ctx;
    char key[32];
    json_t *v;

    xsnprintf(key, sizeof(key), "%" PRIu64, idx);
    if (idx >= p->size || json_object_get(p->proofs, key))
        return 0;
    v = proof_json(p->s, idx, p->size, p->err);
    if (!v)
        return -ERR_INTERNAL;
    json_object_set_new(p->proofs, key, v);
    return 0;
}

/* Adds {"<index>": {leaf_hash, proof}} for every entry a finding names. */
static int add_proofs(struct store *s, json_t *report, uint64_t size, struct err *err)
{
    struct proofs_ctx p = {s, json_object(), size, err};
    int rc = each_entry(report, add_proof, &p);

    json_object_set_new(report, "proofs", p.proofs);
    return rc;
}

struct unsigned_ctx {
    uint64_t size;
    int64_t n;
};

static int count_one(void *ctx, uint64_t idx)
{
    struct unsigned_ctx *u = ctx;

    if (idx >= u->size)
        u->n++;
    return 0;
}

/* Counts the entries findings name that are past the signed checkpoint. */
static int64_t count_unsigned(const json_t *report, uint64_t size)
{
    struct unsigned_ctx u = {size, 0};

    each_entry(report, count_one, &u);
    return u.n;
}

int audit_report(struct store *s, const struct audit_options *o, json_t **report, struct err *err)
{
    struct walk w = {.s = s};
    json_t *schedules = NULL, *summary = NULL, *self_approved = json_array(), *checkpoint;
    uint8_t root[LEDGER_HASH_LEN];
    char now[TIME_ISO_MAX], b64[LEDGER_HASH_B64_LEN];
    const char *site = o && o->site_url ? o->site_url : "";
    struct buf note = BUF_INIT, url = BUF_INIT;
    uint64_t size = 0;
    int rc;

    *report = NULL;
    w.schedules = json_object();
    w.orgs = json_object();
    w.mismatches = json_array();
    for (size_t k = 0; k < K__COUNT; k++)
        w.kinds[k] = json_object();
    /* Every read recorded so far in the store (the read journal drained), then the
     * checkpoint: every entry the report names below it has a proof. */
    rc = ledger_journal_drain(s, NULL, err);
    if (!rc)
        rc = ledger_checkpoint(s, &note, &size, err);
    if (rc == -ERR_NOT_FOUND) {
        err_clear(err);
        size = 0;
        rc = 0;
    }
    if (rc)
        goto out;
    if (size)
        rc = ledger_root(s, size, root, err);
    if (rc)
        goto out;
    rc = store_fee_schedule_list(s, NULL, NULL, &schedules, err);
    if (!rc)
        rc = check_schedules(&w, schedules, self_approved, err);
    if (!rc)
        rc = store_charges_walk(s, walk_charge, &w, err);
    if (!rc)
        rc = store_charge_entries_orphaned(s, orphaned_entry, &w, err);
    if (rc)
        goto out;
    time_now_rfc3339(now);
    if (size)
        ledger_hash_b64(root, b64);
    checkpoint = size ? json_pack("{s:I, s:s, s:s}", "size", (json_int_t)size, "root_hash", b64,
                                  "note", note.buf)
                      : json_pack("{s:I}", "size", (json_int_t)0);
    buf_addstr(&url, site);
    buf_addf(&url, "/api/ledger/proof/inclusion?index={index}&size=%" PRIu64, size);
    summary = json_object();
    *report = json_pack("{s:s, s:o, s:s}", "generated", now, "checkpoint", checkpoint, "proof_url",
                        url.buf);
    buf_reset(&url);
    buf_addstr(&url, site);
    buf_addstr(&url, "/api/ledger/entries?start={index}&end={index+1}");
    json_object_set_new(*report, "entry_url", json_string(url.buf));
    for (size_t k = 0; k < K__COUNT; k++) {
        json_t *sum = json_object();

        json_object_set_new(*report, kind_key[k], kind_list(&w, w.kinds[k], sum));
        json_object_set_new(summary, kind_key[k], sum);
    }
    json_object_set_new(summary, "charges_audited", json_integer((json_int_t)w.charges));
    json_object_set_new(summary, "fee_schedules",
                        json_integer((json_int_t)json_array_size(schedules)));
    json_object_set_new(summary, "schedules_self_approved",
                        json_integer((json_int_t)json_array_size(self_approved)));
    json_object_set_new(summary, "ledger_mismatches",
                        json_integer((json_int_t)json_array_size(w.mismatches)));

    json_object_set_new(*report, "schedules_self_approved", json_incref(self_approved));
    json_object_set_new(*report, "ledger_mismatches", json_incref(w.mismatches));
    rc = audit_findings(s, *report, summary, err);
    json_object_set_new(*report, "summary", summary);
    if (rc)
        goto out;
    json_object_set_new(summary, "entries_not_yet_signed",
                        json_integer(count_unsigned(*report, size)));
    /* What this version cannot check: said, not hidden (nothing known now). */
    json_object_set_new(*report, "not_checked", json_array());
    if (o && o->proofs && size)
        rc = add_proofs(s, *report, size, err);
out:
    if (rc) {
        json_decref(*report);
        *report = NULL;
    }
    json_decref(schedules);
    json_decref(self_approved);
    json_decref(w.schedules);
    json_decref(w.orgs);
    json_decref(w.mismatches);
    for (size_t k = 0; k < K__COUNT; k++)
        json_decref(w.kinds[k]);
    buf_release(&note);
    buf_release(&url);
    return rc;
}

/* One RFC 4180 field. A cell starting with = + - @, a tab or a carriage return is read as
 * a formula by spreadsheets (CSV injection, OWASP): it gets a leading apostrophe, which
 * they show as text; the report's own cells (numbers, dates, names Kaifang checks) never
 * start so, only imported text (a unit or system name) can. */
static void csv_field(struct buf *out, const char *s)
{
    bool formula;

    if (!s)
        s = "";
    formula = *s && strchr("=+-@\t\r", *s);
    if (!formula && !strpbrk(s, ",\"\r\n")) {
        buf_addstr(out, s);
        return;
    }
    buf_addch(out, '"');
    if (formula)
        buf_addch(out, '\'');
    for (; *s; s++) {
        if (*s == '"')
            buf_addch(out, '"');
        buf_addch(out, *s);
    }
    buf_addch(out, '"');
}

void audit_report_csv(const json_t *report, struct buf *out)
{
    json_t *org, *g, *ix;
    size_t i, j, k;

    buf_addstr(out, "kind,organization,unit,system,charges,total,entries,subject,detail\r\n");
    for (size_t kk = 0; kk < K__COUNT; kk++) {
        json_array_foreach (json_object_get(report, kind_key[kk]), i, org) {
            json_array_foreach (json_object_get(org, "by_system"), j, g) {
                buf_addstr(out, kind_key[kk]);
                buf_addch(out, ',');
                csv_field(out, json_string_value(json_object_get(org, "organization")));
                buf_addch(out, ',');
                csv_field(out, json_string_value(json_object_get(g, "unit")));
                buf_addch(out, ',');
                csv_field(out, json_string_value(json_object_get(g, "system")));
                buf_addf(out, ",%" JSON_INTEGER_FORMAT ",%s,",
                         json_integer_value(json_object_get(g, "charges")),
                         json_string_value(json_object_get(g, "total")));
                json_array_foreach (json_object_get(g, "entries"), k, ix)
                    buf_addf(out, "%s%" JSON_INTEGER_FORMAT, k ? " " : "", json_integer_value(ix));
                buf_addstr(out, ",,\r\n");
            }
        }
    }
    for (size_t kk = 0; kk < AUDIT_FINDING_KINDS; kk++) {
        json_array_foreach (json_object_get(report, audit_finding_keys[kk]), i, org) {
            json_array_foreach (json_object_get(org, "items"), j, g) {
                struct audit_finding_text t;
                struct buf detail = BUF_INIT;

                audit_finding_describe(kk, g, &t, &detail);
                buf_addstr(out, audit_finding_keys[kk]);
                buf_addch(out, ',');
                csv_field(out, json_string_value(json_object_get(org, "organization")));
                buf_addch(out, ',');
                csv_field(out, t.dataset);
                buf_addch(out, ',');
                csv_field(out, t.resource);
                buf_addf(out, ",%" JSON_INTEGER_FORMAT ",,",
                         json_integer_value(json_object_get(g, "count")));
                json_array_foreach (json_object_get(g, "entries"), k, ix)
                    buf_addf(out, "%s%" JSON_INTEGER_FORMAT, k ? " " : "", json_integer_value(ix));
                buf_addch(out, ',');
                csv_field(out, t.subject);
                buf_addch(out, ',');
                csv_field(out, detail.buf ? detail.buf : "");
                buf_addstr(out, "\r\n");
                buf_release(&detail);
            }
        }
    }
}
