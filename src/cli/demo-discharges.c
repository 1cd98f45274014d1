/*
 * demo-discharges.c - the "hospital discharges" dataset of `kaifang demo`, published
 * through the privacy pipeline (issue 5; docs/internals/privacy-gate.md, "The demo"):
 * synthetic people (privacy/synth.h) de-identified by a policy (privacy/policy.h, the
 * interface of `kaifang anonymize --policy`: direct identifiers suppressed,
 * quasi-identifiers generalised to k >= 5 by the optimal search), the result uploaded
 * into a private dataset, ingested (and so scanned), then the dataset made public
 * through the publish gate. The report records what the policy did. Nobody's real data.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>

#include "catalog/catalog.h"
#include "cli/cli-int.h"
#include "crypto/digest.h"
#include "datastore/datastore.h"
#include "privacy/policy.h"
#include "privacy/synth.h"
#include "core/util.h"

#define DEMO_ROWS    3000
#define DEMO_SEED    2026
#define DEMO_K       5
#define DEMO_DATASET "hospital-discharges"
#define DEMO_ORG     "city-health-commission"
#define DEMO_FILE    "hospital-discharges.csv"

/*
 * The policy the demo publishes by: what a publisher would write in a policy file and
 * give to `kaifang anonymize --policy` (docs/internals/privacy-anonymization.md,
 * "Policies"), parsed and applied through the same interface (privacy/policy.h). The
 * record number and the direct identifiers are dropped; birth date, sex, ethnicity and
 * occupation are the quasi-identifiers, generalised by the optimal search to k >= 5 with
 * at most 4% of the records suppressed (ARX's usual limit: without it, the whole birth
 * date goes); diagnosis is the sensitive attribute; income is rounded.
 */
static const char demo_policy[] =
        "{\"description\": \"hospital discharges of the demo: k = 5, at most 4% of records "
        "suppressed\",\n"
        " \"k\": 5, \"suppression\": 0.04, \"metric\": \"loss\",\n"
        " \"columns\": [\n"
        "  {\"name\": \"序号\", \"action\": \"suppress\"},\n"
        "  {\"name\": \"姓名\", \"action\": \"suppress\"},\n"
        "  {\"name\": \"身份证号\", \"action\": \"suppress\"},\n"
        "  {\"name\": \"手机号码\", \"action\": \"suppress\"},\n"
        "  {\"name\": \"备注\", \"action\": \"suppress\"},\n"
        "  {\"name\": \"出生日期\", \"hierarchy\": \"date\"},\n"
        "  {\"name\": \"性别\", \"hierarchy\": \"mask\"},\n"
        "  {\"name\": \"民族\", \"hierarchy\": \"mask\"},\n"
        "  {\"name\": \"职业\", \"hierarchy\": \"mask\"},\n"
        "  {\"name\": \"诊断\", \"sensitive\": true},\n"
        "  {\"name\": \"年收入\", \"round\": 1000}]}\n";

/* The synthetic people, every column as `kaifang synth people` writes them. */
static int write_people(const char *path, struct err *err)
{
    FILE *f = fopen(path, "w");
    int ret;

    if (!f)
        return err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\": %s", path, strerror(errno));
    ret = synth_people_write(f, DEMO_ROWS, DEMO_SEED, err);
    if (fclose(f) && !ret)
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\"", path);
    return ret;
}

/* One column's line of the privacy report, from the policy's report of it (its
 * "columns" member) and the level the search chose. New string. */
static char *column_transformation(const char *name, const json_t *col, const json_t *rep)
{
    const char *action = json_string_value(json_object_get(col, "action"));
    const json_t *level = json_object_get(json_object_get(rep, "levels"), name);
    const json_t *height = json_object_get(json_object_get(rep, "heights"), name);

    if (str_eq(action, "suppress"))
        return xstrdup("suppressed (column dropped by the policy)");
    if (json_is_integer(level) && !json_integer_value(level))
        return xstrfmt("kept as it was (level 0 of the \"%s\" hierarchy)",
                       json_string_value(json_object_get(col, "hierarchy")));
    if (json_is_integer(level) && json_integer_value(level) + 1 >= json_integer_value(height))
        return xstrfmt("withheld (*, the top of the \"%s\" hierarchy)",
                       json_string_value(json_object_get(col, "hierarchy")));
    if (json_is_integer(level))
        return xstrfmt("generalised through the \"%s\" hierarchy to level %" JSON_INTEGER_FORMAT
                       " of %" JSON_INTEGER_FORMAT,
                       json_string_value(json_object_get(col, "hierarchy")),
                       json_integer_value(level), json_integer_value(height) - 1);
    if (json_is_number(json_object_get(col, "round")))
        return xstrfmt("rounded to the nearest %g",
                       json_number_value(json_object_get(col, "round")));
    if (json_is_true(json_object_get(col, "sensitive")))
        return xstrdup("kept: the sensitive attribute");
    return xstrfmt("%s", action ? action : "kept");
}

/* De-identifies the people at in into out by the demo's policy; *tr gets the
 * transformations for the privacy report, from the policy's own report. */
static int deidentify(const char *in, const char *out, json_t **tr, struct err *err)
{
    struct privacy_policy *pol = NULL;
    struct privacy_outcome o;
    const json_t *col;
    const char *name;
    char *what;
    int ret;

    memset(&o, 0, sizeof(o));
    *tr = NULL;
    ret = privacy_policy_parse(&pol, demo_policy, strlen(demo_policy), "the demo's policy", err);
    if (!ret)
        ret = privacy_policy_apply(pol, in, out, NULL, &o, err);
    if (ret)
        goto out;
    if (!o.found) {
        ret = err_set(err, ERR_INTERNAL, NULL, "the demo's policy found no generalisation");
        goto out;
    }
    *tr = json_array();
    json_object_foreach ((json_t *)json_object_get(o.report, "columns"), name, col) {
        what = column_transformation(name, col, o.report);
        json_array_append_new(*tr, json_pack("{s:s,s:s}", "column", name, "transformation", what));
        free(what);
    }
    what = xstrfmt("by a policy (privacy/policy.h, as `kaifang anonymize --policy`): optimal "
                   "full-domain generalisation to k >= %" JSON_INTEGER_FORMAT
                   " (%s metric), %" JSON_INTEGER_FORMAT " records suppressed (* in every "
                   "quasi-identifier), smallest class %" JSON_INTEGER_FORMAT,
                   json_integer_value(json_object_get(o.report, "k")),
                   json_string_value(json_object_get(o.report, "metric")),
                   json_integer_value(json_object_get(o.report, "suppressed")),
                   json_integer_value(json_object_get(o.report, "min_class")));
    json_array_append_new(*tr,
                          json_pack("{s:s,s:s}", "column", "k-anonymity", "transformation", what));
    free(what);
out:
    privacy_outcome_release(&o);
    privacy_policy_free(pol);
    return ret;
}

static int file_digest(const char *path, char hex[SHA256_HEX_LEN], uint64_t *size, struct err *err)
{
    struct sha256_ctx ctx;
    uint8_t md[SHA256_LEN];
    char buf[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return err_set(err, ERR_INTERNAL, NULL, "cannot read \"%s\"", path);
    *size = 0;
    sha256_init(&ctx);
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        sha256_update(&ctx, buf, (size_t)n);
        *size += (uint64_t)n;
    }
    sha256_final(&ctx, md);
    close(fd);
    hex_encode(md, SHA256_LEN, hex);
    return n < 0 ? err_set(err, ERR_INTERNAL, NULL, "cannot read \"%s\"", path) : 0;
}

static const char notes[] =
        "Synthetic discharge records of 3,000 patients, made by `kaifang synth people` "
        "(nobody's real data), published through Kaifang's privacy pipeline: de-identified "
        "by the policy below (the file `kaifang anonymize --policy` reads): the direct "
        "identifiers (name, ID number, phone, remarks) suppressed, birth date, sex, "
        "ethnicity and occupation generalised to k-anonymity with k ≥ 5 by the optimal "
        "search (at most 4% of the records suppressed), then scanned at ingest and passed "
        "through the publish gate. The privacy "
        "report below shows what was done and the k reached.";

int cli_demo_discharges(struct portal *p, struct err *err)
{
    struct catalog c;
    struct datastore *ds = NULL;
    struct actor actor;
    struct upload up;
    struct datastore_ingest_request req;
    json_t *params = NULL, *doc = NULL, *result = NULL, *tr = NULL, *report = NULL, *res;
    char *stage = NULL, *out = NULL, *notes_md = NULL, hex[SHA256_HEX_LEN];
    const char *rid;
    int ret, fd;

    memset(&actor, 0, sizeof(actor));
    catalog_init(&c, p->store, p->files_dir, p->cfg.site_url);
    c.privacy_k = p->cfg.privacy_k;
    ds = datastore_new(&c);
    ret = cli_actor(p->store, &actor, err);
    if (ret)
        goto out;
    /* Made once: a second start serves what the first published. */
    params = json_pack("{s:s}", "id", DEMO_DATASET);
    if (!catalog_package_show(&c, &actor, params, &doc, NULL)) {
        res = json_array_get(json_object_get(doc, "resources"), 0);
        if (res && datastore_table_current(&c, res))
            goto out;
        ret = err_set(err, ERR_CONFLICT, "name",
                      "dataset \"%s\" exists but is not the demo's: left as it is", DEMO_DATASET);
        goto out;
    }
    stage = xstrfmt("%s/tmp/demo-stage-XXXXXX", p->files_dir);
    out = xstrfmt("%s/tmp/demo-discharges-XXXXXX", p->files_dir);
    fd = mkstemp(stage);
    if (fd >= 0)
        close(fd);
    fd = fd < 0 ? -1 : mkstemp(out);
    if (fd < 0) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot create a file in \"%s/tmp\"", p->files_dir);
        goto out;
    }
    close(fd);
    ret = write_people(stage, err);
    if (!ret)
        ret = deidentify(stage, out, &tr, err);
    if (ret)
        goto out;

    /* The publisher's side: organization, a private dataset, the upload, the ingest. */
    json_decref(params);
    params = json_pack("{s:s}", "id", DEMO_ORG);
    json_decref(result);
    result = NULL;
    if (catalog_organization_show(&c, &actor, params, &result, NULL)) {
        json_decref(params);
        params = json_pack("{s:s,s:s,s:s}", "name", DEMO_ORG, "title",
                           "City Health Commission (synthetic demo)", "description",
                           "A fictitious publisher of the synthetic demo data.");
        ret = catalog_organization_create(&c, &actor, params, &result, err);
        if (ret)
            goto out;
    }
    json_decref(params);
    notes_md = xstrfmt("%s\n\n```json\n%s```\n", notes, demo_policy);
    params = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:[{s:s},{s:s},{s:s}]}", "name", DEMO_DATASET,
                       "title", "Hospital discharges (synthetic, de-identified)", "notes", notes_md,
                       "owner_org", DEMO_ORG, "license_id", "CC0-1.0", "private", true, "tags",
                       "name", "health", "name", "synthetic", "name", "k-anonymity");
    json_decref(doc);
    doc = NULL;
    ret = catalog_package_create(&c, &actor, params, &doc, err);
    if (ret)
        goto out;
    memset(&up, 0, sizeof(up));
    ret = file_digest(out, hex, &up.size, err);
    if (ret)
        goto out;
    up.tmp_path = out;
    up.filename = DEMO_FILE;
    up.content_type = "text/csv";
    xsnprintf(up.sha256_hex, sizeof(up.sha256_hex), "%s", hex);
    json_decref(params);
    params = json_pack("{s:O,s:s,s:s,s:s}", "package_id", json_object_get(doc, "id"), "name",
                       "Discharges, de-identified (k ≥ 5)", "format", "CSV", "description",
                       "One row per discharge: sex, ethnicity, birth date and occupation "
                       "generalised; diagnosis (ICD-10) and yearly income.");
    json_decref(result);
    result = NULL;
    ret = catalog_resource_create(&c, &actor, params, &up, &result, err);
    if (ret)
        goto out;
    rid = json_string_value(json_object_get(result, "id"));
    memset(&req, 0, sizeof(req));
    req.resource_id = rid;
    req.opts = (struct ingest_options)INGEST_OPTIONS_INIT;
    req.transformations = tr;
    ret = datastore_ingest(&c, &actor, &req, &report, err);
    if (ret)
        goto out;
    /* Publication: through the gate, as any publisher's. */
    json_decref(params);
    params = json_pack("{s:s,s:b}", "id", DEMO_DATASET, "private", false);
    json_decref(doc);
    doc = NULL;
    ret = catalog_package_patch(&c, &actor, params, &doc, err);
    if (!ret)
        fprintf(stderr,
                "kaifang: published \"%s\" (%d synthetic people, k = %" JSON_INTEGER_FORMAT
                ") through the privacy gate\n",
                DEMO_DATASET, DEMO_ROWS,
                json_integer_value(json_object_get(json_object_get(report, "privacy"), "k")));
out:
    if (stage)
        unlink(stage);
    if (out)
        unlink(out); /* ENOENT when the catalog moved it to its content address */
    free(stage);
    free(out);
    free(notes_md);
    json_decref(params);
    json_decref(doc);
    json_decref(result);
    json_decref(tr);
    json_decref(report);
    actor_release(&actor);
    datastore_free(ds);
    catalog_release(&c);
    return ret;
}
