/*
 * findings.c - the audit's findings about restricted data (docs/internals/audit.md,
 * "Findings about restricted data"): reads outside any grant, expired grants still
 * used, restricted resources published without a grant, privacy overrides and grants
 * approved by their own requester. Each finding names its ledger entries.
 *
 * One walk over the ledger entries of grants, restricted reads, refusals, privacy
 * overrides and resource and dataset updates (store_ledger_audit_walk, in index order,
 * one entry in memory), checked against the grants and datasets of the store. In index
 * order a grant's request, approval and revocation come before the reads they bear on,
 * so each read is judged by what the ledger held when it was made.
 */
#include <string.h>

#include "access/grant.h"
#include "audit/audit-int.h"
#include "core/util.h"
#include "crypto/digest.h"
#include "store/store-audit.h"
#include "store/store-datastore.h"

/* The lists audit_findings() adds, in report order. */
const char *const audit_finding_keys[AUDIT_FINDING_KINDS] = {
        "reads_outside_grant", "expired_grants_used",  "restricted_published_without_grant",
        "privacy_overrides",   "grants_self_approved",
};

enum { F_OUTSIDE, F_EXPIRED, F_PUBLISHED, F_OVERRIDES, F_SELF };

/* How many distinct reasons a group of refusals keeps (the count covers them all). */
#define REASONS_MAX 10u

struct fwalk {
    struct store *s;
    json_t *grants; /* grant id → store record */
    json_t *ledger; /* grant id → {request, requested_by, approve, approved_by, revoke} */
    json_t *kinds[AUDIT_FINDING_KINDS]; /* org name → {group key → item} */
    json_t *resources;                  /* resource id → item of F_PUBLISHED it adds entries to */
    json_t *datasets;  /* dataset id → item of F_PUBLISHED (made public), or null */
    json_t *requested; /* dataset id → true once the ledger holds a grant request on it */
    /* The ids a dataset_update or resource_create/_update entry must name to matter
     * (the made-public datasets, the link resources), quoted as in the entry's text;
     * NULL when there are too many to look for (every such entry is parsed). */
    struct buf *ds_ids, *res_ids;
    size_t n_ds, n_res;
};

/* At most this many ids are looked for in the text of an update entry; more, and
 * every update entry is parsed. */
#define IDS_SCANNED 64u

static const char *sget(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The item of group key in kind k and organization org, made from tmpl (stolen) when
 * it is new: every item has count, first, last (entry times) and entries. */
static json_t *item(struct fwalk *w, int k, const char *org, const char *key, json_t *tmpl)
{
    json_t *byorg = json_object_get(w->kinds[k], org ? org : ""), *it;

    BUG_ON(!tmpl);
    if (!byorg) {
        byorg = json_object();
        json_object_set_new(w->kinds[k], org ? org : "", byorg);
    }
    it = json_object_get(byorg, key);
    if (it) {
        json_decref(tmpl);
        return it;
    }
    json_object_set_new(tmpl, "count", json_integer(0));
    json_object_set_new(tmpl, "entries", json_array());
    json_object_set_new(byorg, key, tmpl);
    return tmpl;
}

/* Counts one occurrence at entry idx (time t) in it. */
static void occur(json_t *it, uint64_t idx, const char *t, bool counted)
{
    if (counted)
        json_object_set_new(it, "count",
                            json_integer(json_integer_value(json_object_get(it, "count")) + 1));
    if (t && (!sget(it, "first") || strcmp(t, sget(it, "first")) < 0))
        json_object_set_new(it, "first", json_string(t));
    if (t && (!sget(it, "last") || strcmp(t, sget(it, "last")) > 0))
        json_object_set_new(it, "last", json_string(t));
    json_array_append_new(json_object_get(it, "entries"), json_integer((json_int_t)idx));
}

/* Adds idx to the entries of it unless it is there already. */
static void add_entry(json_t *it, json_int_t idx)
{
    json_t *e = json_object_get(it, "entries"), *x;
    size_t i;

    if (idx < 0)
        return;
    json_array_foreach (e, i, x)
        if (json_integer_value(x) == idx)
            return;
    json_array_append_new(e, json_integer(idx));
}

static json_int_t iget(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* A grant self-approved (by its requester or its grantee), from the store or the
 * ledger: one item per grant, naming its request and approval entries. */
static json_t *self_item(struct fwalk *w, const char *grant, const char *org, const char *source)
{
    const json_t *rec = json_object_get(w->grants, grant);
    json_t *it = item(w, F_SELF, org, grant,
                      json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:[]}", "grant", grant, "dataset",
                                sget(rec, "dataset"), "requested_by", sget(rec, "requested_by"),
                                "grantee", sget(rec, "grantee"), "decided_by",
                                sget(rec, "decided_by"), "sources"));
    json_t *src = json_object_get(it, "sources"), *x;
    size_t i;
    bool have = false;

    json_array_foreach (src, i, x)
        have |= str_eq(json_string_value(x), source);
    if (!have)
        json_array_append_new(src, json_string(source));
    json_object_set_new(it, "count", json_integer(1));
    return it;
}

/* A read of restricted data: judged against its grant as the store and the ledger (up
 * to this entry) hold it. */
static void judge_read(struct fwalk *w, uint64_t idx, const json_t *e)
{
    const json_t *o = json_object_get(e, "objects");
    const char *actor = sget(e, "actor"), *org = sget(e, "org"), *t = sget(e, "time");
    const char *gid = sget(o, "grant"), *ds = sget(o, "dataset"), *res = sget(o, "resource");
    const json_t *rec = gid ? json_object_get(w->grants, gid) : NULL;
    const json_t *gl = gid ? json_object_get(w->ledger, gid) : NULL;
    const char *why = NULL;
    char day[11] = "", key[512];
    json_t *it;

    if (t)
        xsnprintf(day, sizeof(day), "%.10s", t);
    if (!gid)
        why = "the read names no grant";
    else if (!rec)
        why = "the grant it names is not in the store";
    else if (!str_eq(sget(rec, "dataset"), ds))
        why = "the grant it names is of another dataset";
    else if (!str_eq(sget(rec, "grantee"), actor))
        why = "the grant it names is of another grantee";
    else if (iget(gl, "approve") < 0)
        why = "the ledger holds no approval of the grant before the read";
    else if (strcmp(day, sget(rec, "valid_from") ? sget(rec, "valid_from") : "") < 0)
        why = "the read is before the grant's period";
    if (why) {
        xsnprintf(key, sizeof(key), "read\x1f%s\x1f%s\x1f%s\x1f%s", ds ? ds : "", res ? res : "",
                  actor ? actor : "", why);
        it = item(w, F_OUTSIDE, org, key,
                  json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:[s]}", "kind", "read", "dataset", ds,
                            "resource", res, "actor", actor, "grant", gid, "reasons", why));
        occur(it, idx, t, true);
        return;
    }
    if (iget(gl, "revoke") >= 0)
        why = "read after the grant was revoked";
    else if (strcmp(day, sget(rec, "valid_until") ? sget(rec, "valid_until") : "") > 0)
        why = "read after the grant's period";
    if (!why)
        return;
    xsnprintf(key, sizeof(key), "%s\x1f%s", gid, why);
    it = item(w, F_EXPIRED, org, key,
              json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s}", "grant", gid, "dataset", ds,
                        "grantee", sget(rec, "grantee"), "valid_from", sget(rec, "valid_from"),
                        "valid_until", sget(rec, "valid_until"), "state", sget(rec, "state"),
                        "reason", why));
    if (!json_array_size(json_object_get(it, "entries"))) {
        /* The grant's approval (and revocation) first: the reads rest on them. */
        add_entry(it, iget(gl, "approve"));
        add_entry(it, iget(gl, "revoke"));
    }
    occur(it, idx, t, true);
}

/* A refusal: someone asked for restricted data outside any grant. Grouped per dataset,
 * resource and caller, with the distinct reasons. */
static void judge_refusal(struct fwalk *w, uint64_t idx, const json_t *e)
{
    const json_t *o = json_object_get(e, "objects");
    const char *actor = sget(e, "actor"), *ds = sget(o, "dataset"), *res = sget(o, "resource");
    const char *reason = sget(o, "reason");
    json_t *it, *rs, *x;
    char key[512];
    size_t i;
    bool have = false;

    xsnprintf(key, sizeof(key), "refused\x1f%s\x1f%s\x1f%s", ds ? ds : "", res ? res : "",
              actor ? actor : "");
    it = item(w, F_OUTSIDE, sget(e, "org"), key,
              json_pack("{s:s, s:s?, s:s?, s:s?, s:[]}", "kind", "refused", "dataset", ds,
                        "resource", res, "actor", actor, "reasons"));
    occur(it, idx, sget(e, "time"), true);
    rs = json_object_get(it, "reasons");
    json_array_foreach (rs, i, x)
        have |= str_eq(json_string_value(x), reason);
    if (!have && reason && json_array_size(rs) < REASONS_MAX)
        json_array_append_new(rs, json_string(reason));
}

/* Whether the override in report is what the entry's digest commits to: the digest
 * input is {resource_id, source_sha256, justification, reasons, k_required}
 * (catalog/privacy.c, canonical JSON as ledger_record() writes it). */
static bool override_digest_ok(const char *rid, const json_t *ov, const char *digest)
{
    json_t *in = json_pack("{s:s, s:O?, s:O?, s:O?, s:O?}", "resource_id", rid, "source_sha256",
                           json_object_get(ov, "source_sha256"), "justification",
                           json_object_get(ov, "justification"), "reasons",
                           json_object_get(ov, "reasons"), "k_required",
                           json_object_get(ov, "k_required"));
    char *text = in ? json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    uint8_t h[SHA256_LEN];
    char hex[SHA256_HEX_LEN];
    bool ok = false;

    if (text) {
        sha256(text, strlen(text), h);
        hex_encode(h, sizeof(h), hex);
        ok = digest && starts_with(digest, "sha256:") && str_eq(digest + 7, hex);
    }
    free(text);
    json_decref(in);
    return ok;
}

/* A privacy override: every entry is a finding, with its approver (the entry's actor)
 * and the justification the store's privacy report keeps (checked against the entry's
 * digest: a later override or scan of the resource replaces the report's). */
static int judge_override(struct fwalk *w, uint64_t idx, const json_t *e, struct err *err)
{
    const json_t *o = json_object_get(e, "objects");
    const char *rid = sget(o, "resource");
    json_t *report = NULL, *ov, *it;
    char key[64];
    int rc = rid ? store_privacy_report_get(w->s, rid, &report, err) : -ERR_NOT_FOUND;

    if (rc == -ERR_NOT_FOUND) {
        err_clear(err);
        rc = 0;
    }
    if (rc)
        return rc;
    ov = json_object_get(report, "override");
    xsnprintf(key, sizeof(key), "%" PRIu64, idx);
    it = item(w, F_OVERRIDES, sget(e, "org"), key,
              json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:b}", "dataset", sget(o, "dataset"),
                        "name", sget(o, "name"), "resource", rid, "approver", sget(e, "actor"),
                        "publisher", sget(report, "publisher"), "justification", json_null(),
                        "self_approved", str_eq(sget(report, "publisher"), sget(e, "actor"))));
    if (ov && override_digest_ok(rid, ov, sget(e, "digest")))
        json_object_set(it, "justification", json_object_get(ov, "justification"));
    else
        json_object_set_new(it, "justification_note",
                            json_string("the store's privacy report no longer holds this "
                                        "override's justification (a later scan or override "
                                        "replaced it); the entry's digest commits to it"));
    occur(it, idx, sget(e, "time"), true);
    json_decref(report);
    return 0;
}

/*
 * The type of an entry from its text, without parsing it: entries are canonical JSON
 * (ledger.h: keys sorted, compact), so "type", the greatest key of the top level, comes
 * last and the text ends with "type":"<type>"}. The value holds no quote (the first
 * quote found from the end opens it; an escaped one is preceded by a backslash, not by
 * "type":). false when the text does not end so (the caller parses it).
 */
static bool tail_type(const char *text, size_t len, const char **type, size_t *n)
{
    size_t q;

    if (len < 11 || text[len - 1] != '}' || text[len - 2] != '"')
        return false;
    for (q = len - 3; q > 0 && text[q] != '"'; q--)
        ;
    if (q < 8 || memcmp(text + q - 7, "\"type\":", 7))
        return false;
    *type = text + q + 1;
    *n = len - 2 - (q + 1);
    return true;
}

static bool tail_is(const char *t, size_t n, const char *want)
{
    return n == strlen(want) && !memcmp(t, want, n);
}

/* Whether the text names one of ids (quoted ids, one per buf; ids NULL: maybe). */
static bool names_any(const char *text, size_t len, const struct buf *ids, size_t n)
{
    if (!ids)
        return true;
    for (size_t i = 0; i < n; i++)
        if (memmem(text, len, ids[i].buf, ids[i].len))
            return true;
    return false;
}

/* The quoted keys of set whose value is an object (an item), for names_any(). */
static struct buf *quoted_ids(json_t *set, size_t *n)
{
    struct buf *ids;
    const char *key;
    json_t *v;

    *n = 0;
    json_object_foreach (set, key, v)
        if (json_is_object(v))
            (*n)++;
    if (*n > IDS_SCANNED)
        return NULL;
    ids = xcalloc(*n ? *n : 1, sizeof(*ids));
    *n = 0;
    json_object_foreach (set, key, v) {
        if (!json_is_object(v))
            continue;
        buf_init(&ids[*n], 0);
        buf_addf(&ids[*n], "\"%s\"", key);
        (*n)++;
    }
    return ids;
}

static void ids_free(struct buf *ids, size_t n)
{
    if (!ids)
        return;
    for (size_t i = 0; i < n; i++)
        buf_release(&ids[i]);
    free(ids);
}

static int walk_entry(void *ctx, uint64_t idx, const char *text, size_t len, struct err *err)
{
    struct fwalk *w = ctx;
    json_t *e, *o, *gl, *it;
    const char *type, *gid, *t;
    size_t tn;
    int rc = 0;

    /* Updates of datasets and resources are most of a catalog's ledger; only those of
     * the few datasets and resources found before the walk matter. */
    if (tail_type(text, len, &t, &tn)) {
        if (tail_is(t, tn, "dataset_update") && !names_any(text, len, w->ds_ids, w->n_ds))
            return 0;
        if ((tail_is(t, tn, "resource_create") || tail_is(t, tn, "resource_update")) &&
            !names_any(text, len, w->res_ids, w->n_res))
            return 0;
    }
    e = json_loadb(text, len, 0, NULL);
    if (!e)
        return 0; /* not JSON: the ledger's own verification reports it */
    type = sget(e, "type");
    o = json_object_get(e, "objects");
    gid = sget(o, "grant");
    if (type && starts_with(type, "grant_") && gid) {
        gl = json_object_get(w->ledger, gid);
        if (!gl) {
            gl = json_object();
            json_object_set_new(w->ledger, gid, gl);
        }
        if (str_eq(type, "grant_request")) {
            json_object_set_new(gl, "request", json_integer((json_int_t)idx));
            json_object_set_new(gl, "requested_by", json_string(sget(e, "actor")));
            if (sget(o, "dataset"))
                json_object_set_new(w->requested, sget(o, "dataset"), json_true());
        } else if (str_eq(type, "grant_approve")) {
            json_object_set_new(gl, "approve", json_integer((json_int_t)idx));
            if (str_eq(sget(e, "actor"), sget(gl, "requested_by")) ||
                str_eq(sget(e, "actor"), sget(o, "grantee"))) {
                it = self_item(w, gid, sget(e, "org"), "ledger");
                add_entry(it, iget(gl, "request"));
                add_entry(it, (json_int_t)idx);
                json_object_set_new(it, "decided_by", json_string(sget(e, "actor")));
            }
        } else if (str_eq(type, "grant_revoke")) {
            json_object_set_new(gl, "revoke", json_integer((json_int_t)idx));
        }
    } else if (str_eq(type, "restricted_read")) {
        judge_read(w, idx, e);
    } else if (str_eq(type, "restricted_read_refused")) {
        judge_refusal(w, idx, e);
    } else if (str_eq(type, "privacy_override")) {
        rc = judge_override(w, idx, e, err);
    } else if (str_eq(type, "resource_create") || str_eq(type, "resource_update")) {
        it = sget(o, "resource") ? json_object_get(w->resources, sget(o, "resource")) : NULL;
        if (it)
            add_entry(it, (json_int_t)idx);
    } else if (str_eq(type, "dataset_update")) {
        /* Only the updates after a grant was requested: the dataset was restricted then,
         * so one of them made its data public. */
        it = sget(o, "dataset") ? json_object_get(w->datasets, sget(o, "dataset")) : NULL;
        if (json_is_object(it) && json_object_get(w->requested, sget(o, "dataset")))
            add_entry(it, (json_int_t)idx);
    }
    json_decref(e);
    return rc;
}

/* Restricted data the public can reach without a grant (audit.md defines it):
 * (a) a link resource (not an upload) of a restricted dataset that is public and active:
 *     its URL is in the dataset's public metadata, so anyone downloads the data from
 *     where it points, outside any grant and without a ledger entry;
 * (b) a dataset that grants were requested on (it was restricted then) which is now
 *     public, active and not restricted: its data is open to everyone. */
static int find_published(struct fwalk *w, struct err *err)
{
    static const struct store_term terms[2] = {
            {.is_filter = true, .filter = {"access_level", "restricted public"}},
            {.is_filter = true, .filter = {"access_level", "non-public"}},
    };
    const struct store_clause clause = {terms, 2};
    struct store_search q = {.clauses = &clause, .nclauses = 1, .sort = STORE_SORT_NAME};
    json_t *d, *r, *rec, *doc = NULL;
    const char *gid;
    size_t i, j;
    int rc = 0;

    for (q.start = 0;; q.start += 500) {
        struct store_search_result res = {0};

        q.rows = 500;
        rc = store_dataset_search(w->s, &q, &res, err);
        if (rc) {
            store_search_result_release(&res);
            return rc;
        }
        json_array_foreach (res.docs, i, d) {
            if (json_is_true(json_object_get(d, "private")) || !dataset_restricted(d))
                continue;
            json_array_foreach (json_object_get(d, "resources"), j, r) {
                const char *url = sget(r, "url");
                json_t *it;

                if (str_eq(sget(r, "url_type"), "upload") || !url || !*url || !sget(r, "id"))
                    continue;
                it = item(w, F_PUBLISHED, sget(json_object_get(d, "organization"), "name"),
                          sget(r, "id"),
                          json_pack("{s:s, s:s?, s:s?, s:s?, s:s, s:s?, s:s}", "reason", "link",
                                    "dataset", sget(d, "id"), "name", sget(d, "name"),
                                    "access_level", sget(d, "access_level"), "resource",
                                    sget(r, "id"), "resource_name", sget(r, "name"), "url", url));
                json_object_set_new(it, "count", json_integer(1));
                json_object_set(w->resources, sget(r, "id"), it);
            }
        }
        i = json_array_size(res.docs);
        store_search_result_release(&res);
        if (i < q.rows)
            break;
    }
    /* (b): the datasets of the grants in the store. */
    json_object_foreach (w->grants, gid, rec) {
        const char *ds = sget(rec, "dataset");
        json_t *it;

        if (!ds || json_object_get(w->datasets, ds))
            continue;
        rc = store_dataset_get(w->s, ds, &doc, err);
        if (rc == -ERR_NOT_FOUND) {
            err_clear(err);
            json_object_set_new(w->datasets, ds, json_null());
            rc = 0;
            continue;
        }
        if (rc)
            return rc;
        if (str_eq(sget(doc, "state"), "active") &&
            !json_is_true(json_object_get(doc, "private")) && !dataset_restricted(doc)) {
            it = item(w, F_PUBLISHED, sget(rec, "organization"), ds,
                      json_pack("{s:s, s:s, s:s?, s:s?, s:[]}", "reason", "made_public", "dataset",
                                ds, "name", sget(doc, "name"), "access_level",
                                sget(doc, "access_level") ? sget(doc, "access_level") : "public",
                                "grants"));
            json_object_set_new(it, "count", json_integer(1));
            json_object_set(w->datasets, ds, it);
        } else {
            json_object_set_new(w->datasets, ds, json_null());
        }
        json_decref(doc);
        doc = NULL;
    }
    return 0;
}

/* (b)'s items get their grants and those grants' entries once the walk is done. */
static void published_grants(struct fwalk *w)
{
    json_t *rec, *it, *gl;
    const char *gid;

    json_object_foreach (w->grants, gid, rec) {
        it = json_object_get(w->datasets, sget(rec, "dataset"));
        if (!json_is_object(it))
            continue;
        json_array_append_new(json_object_get(it, "grants"), json_string(gid));
        gl = json_object_get(w->ledger, gid);
        add_entry(it, iget(gl, "request"));
        add_entry(it, iget(gl, "approve"));
        add_entry(it, iget(gl, "revoke"));
    }
}

/* Grants decided by their requester or grantee as the store holds them (the API
 * refuses both; a store edited by hand could hold one). */
static void store_self_approved(struct fwalk *w)
{
    json_t *g, *it, *gl;
    const char *gid;

    json_object_foreach (w->grants, gid, g) {
        const char *by = sget(g, "decided_by"), *state = sget(g, "state");

        if (!by || !(str_eq(state, "approved") || str_eq(state, "revoked")))
            continue;
        /* A grant revoked before revoked_by existed had its decided_by overwritten by the
         * revoker: there the store no longer says who approved, and the approve entry
         * (judged in the walk) is the only witness. */
        if (str_eq(state, "revoked") && !sget(g, "revoked_by"))
            continue;
        if (!str_eq(by, sget(g, "requested_by")) && !str_eq(by, sget(g, "grantee")))
            continue;
        it = self_item(w, gid, sget(g, "organization"), "store");
        gl = json_object_get(w->ledger, gid);
        add_entry(it, iget(gl, "request"));
        add_entry(it, iget(gl, "approve"));
    }
}

static int cmp_int(const void *a, const void *b)
{
    json_int_t x = json_integer_value(*(json_t *const *)a);
    json_int_t y = json_integer_value(*(json_t *const *)b);

    return (x > y) - (x < y);
}

static int cmp_org(const void *a, const void *b)
{
    return strcmp(sget(*(json_t *const *)a, "organization"),
                  sget(*(json_t *const *)b, "organization"));
}

/* Sorts a JSON array in place with cmp. */
static void sort_json(json_t *arr, int (*cmp)(const void *, const void *))
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

/* One kind's list per organization: [{organization, title, findings, count, items}],
 * and its summary {organizations, findings, count, entries}. */
static int kind_list(struct fwalk *w, json_t *byorg, json_t **list, json_t *sum, struct err *err)
{
    json_int_t nf = 0, nc = 0, ne = 0;
    json_t *items, *it, *doc = NULL;
    const char *org, *key;
    int rc;

    *list = json_array();
    json_object_foreach (byorg, org, items) {
        json_t *arr = json_array();
        json_int_t c = 0;
        const char *title = "";

        json_object_foreach (items, key, it) {
            sort_json(json_object_get(it, "entries"), cmp_int);
            c += json_integer_value(json_object_get(it, "count"));
            ne += (json_int_t)json_array_size(json_object_get(it, "entries"));
            json_array_append(arr, it);
        }
        rc = *org ? store_group_get(w->s, true, org, &doc, err) : -ERR_NOT_FOUND;
        if (rc == -ERR_NOT_FOUND) {
            err_clear(err);
            rc = 0;
        }
        if (rc) {
            json_decref(arr);
            return rc;
        }
        if (sget(doc, "title"))
            title = sget(doc, "title");
        json_array_append_new(*list,
                              json_pack("{s:s, s:s, s:I, s:I, s:o}", "organization", org, "title",
                                        title, "findings", (json_int_t)json_array_size(arr),
                                        "count", c, "items", arr));
        json_decref(doc);
        doc = NULL;
        nf += (json_int_t)json_array_size(arr);
        nc += c;
    }
    sort_json(*list, cmp_org);
    json_object_set_new(sum, "organizations", json_integer((json_int_t)json_array_size(*list)));
    json_object_set_new(sum, "findings", json_integer(nf));
    json_object_set_new(sum, "count", json_integer(nc));
    json_object_set_new(sum, "entries", json_integer(ne));
    return 0;
}

int audit_findings(struct store *s, json_t *report, json_t *summary, struct err *err)
{
    struct fwalk w = {.s = s};
    json_t *docs = NULL, *g, *list;
    size_t i;
    int rc;

    w.grants = json_object();
    w.ledger = json_object();
    w.resources = json_object();
    w.datasets = json_object();
    w.requested = json_object();
    for (size_t k = 0; k < AUDIT_FINDING_KINDS; k++)
        w.kinds[k] = json_object();
    rc = store_grant_list(s, NULL, NULL, &docs, err);
    if (rc)
        goto out;
    json_array_foreach (docs, i, g)
        if (sget(g, "id"))
            json_object_set(w.grants, sget(g, "id"), g);
    rc = find_published(&w, err);
    if (!rc) {
        w.ds_ids = quoted_ids(w.datasets, &w.n_ds);
        w.res_ids = quoted_ids(w.resources, &w.n_res);
        rc = store_ledger_audit_walk(s, walk_entry, &w, err);
    }
    if (rc)
        goto out;
    published_grants(&w);
    store_self_approved(&w);
    for (size_t k = 0; k < AUDIT_FINDING_KINDS && !rc; k++) {
        json_t *sum = json_object();

        rc = kind_list(&w, w.kinds[k], &list, sum, err);
        json_object_set_new(report, audit_finding_keys[k], list);
        json_object_set_new(summary, audit_finding_keys[k], sum);
    }
out:
    json_decref(docs);
    json_decref(w.grants);
    json_decref(w.ledger);
    json_decref(w.resources);
    json_decref(w.datasets);
    json_decref(w.requested);
    ids_free(w.ds_ids, w.n_ds);
    ids_free(w.res_ids, w.n_res);
    for (size_t k = 0; k < AUDIT_FINDING_KINDS; k++)
        json_decref(w.kinds[k]);
    return rc;
}

/* Joins the strings of arr with sep into out. */
static void join(struct buf *out, const json_t *arr, const char *sep)
{
    json_t *x;
    size_t i;

    json_array_foreach (arr, i, x) {
        if (i)
            buf_addstr(out, sep);
        buf_addstr(out, json_string_value(x) ? json_string_value(x) : "");
    }
}

void audit_finding_describe(size_t kind, const json_t *it, struct audit_finding_text *t,
                            struct buf *detail)
{
    const char *name = sget(it, "name");

    t->dataset = name ? name : sget(it, "dataset");
    t->resource = sget(it, "resource");
    t->subject = NULL;
    switch (kind) {
    case F_OUTSIDE:
        t->subject = sget(it, "actor");
        buf_addstr(detail, str_eq(sget(it, "kind"), "refused") ? "refused: " : "read: ");
        join(detail, json_object_get(it, "reasons"), "; ");
        break;
    case F_EXPIRED:
        t->subject = sget(it, "grant");
        buf_addf(detail, "%s (grant of %s, valid %s to %s, %s)", sget(it, "reason"),
                 sget(it, "grantee") ? sget(it, "grantee") : "?",
                 sget(it, "valid_from") ? sget(it, "valid_from") : "?",
                 sget(it, "valid_until") ? sget(it, "valid_until") : "?",
                 sget(it, "state") ? sget(it, "state") : "?");
        break;
    case F_PUBLISHED:
        t->subject = sget(it, "reason");
        if (str_eq(sget(it, "reason"), "link")) {
            buf_addstr(detail, "link to ");
            buf_addstr(detail, sget(it, "url") ? sget(it, "url") : "");
        } else {
            buf_addstr(detail, "public, access level ");
            buf_addstr(detail, sget(it, "access_level") ? sget(it, "access_level") : "?");
            buf_addstr(detail, "; grants ");
            join(detail, json_object_get(it, "grants"), " ");
        }
        break;
    case F_OVERRIDES:
        t->subject = sget(it, "approver");
        if (sget(it, "justification"))
            buf_addstr(detail, sget(it, "justification"));
        else
            buf_addstr(detail, "(justification no longer in the store)");
        if (json_is_true(json_object_get(it, "self_approved")))
            buf_addstr(detail, " [approved by the table's publisher]");
        break;
    case F_SELF:
        t->subject = sget(it, "grant");
        buf_addf(detail, "requested by %s for %s, decided by %s (",
                 sget(it, "requested_by") ? sget(it, "requested_by") : "?",
                 sget(it, "grantee") ? sget(it, "grantee") : "?",
                 sget(it, "decided_by") ? sget(it, "decided_by") : "?");
        join(detail, json_object_get(it, "sources"), ", ");
        buf_addch(detail, ')');
        break;
    default:
        break;
    }
}
