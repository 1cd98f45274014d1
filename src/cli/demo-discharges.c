/*
 * demo-discharges.c - the "hospital discharges" dataset of `kaifang demo`, published
 * through the privacy pipeline (issue 5; docs/internals/privacy-gate.md, "The demo"):
 * synthetic people (privacy/synth.h), their direct identifiers suppressed, the
 * quasi-identifiers generalised to k >= 5 by the optimal search (privacy/anon.h), the
 * result uploaded into a private dataset, ingested (and so scanned), then the dataset
 * made public through the publish gate. The report records what was transformed.
 * Nobody's real data.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>

#include "catalog/catalog.h"
#include "cli/cli-int.h"
#include "crypto/digest.h"
#include "datastore/datastore.h"
#include "privacy/anon.h"
#include "privacy/synth.h"
#include "core/util.h"

#define DEMO_ROWS      3000
#define DEMO_SEED      2026
#define DEMO_K         5
#define DEMO_DATASET   "hospital-discharges"
#define DEMO_ORG       "city-health-commission"
#define DEMO_FILE      "hospital-discharges.csv"
#define ETHNICITY_MAIN "汉族"

/* A CSV field: quoted when it holds a comma, quote or line end (RFC 4180). */
static void csv_field(FILE *f, const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

/* The people with their direct identifiers (name, ID number, phone, remarks) and the
 * record number dropped: what the search then generalises. */
static int write_stage(const char *path, struct err *err)
{
    struct synth g;
    struct synth_person sp;
    char income[16];
    FILE *f = fopen(path, "w");

    if (!f)
        return err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\": %s", path, strerror(errno));
    fputs("性别,民族,出生日期,职业,诊断,年收入\r\n", f);
    synth_init(&g, DEMO_SEED);
    for (unsigned i = 0; i < DEMO_ROWS; i++) {
        synth_person_next(&g, &sp);
        xsnprintf(income, sizeof(income), "%u", sp.income);
        csv_field(f, sp.gender, false);
        csv_field(f, sp.ethnicity, false);
        csv_field(f, sp.birth_date, false);
        csv_field(f, sp.occupation, false);
        csv_field(f, sp.diagnosis, false);
        csv_field(f, income, true);
    }
    if (fclose(f))
        return err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\"", path);
    return 0;
}

/* A two- or three-level hierarchy over a column's values, as ARX CSV text: each value,
 * then (ethnicity) the main group or "少数民族", then "*". */
static int hierarchy_for(const char *stage, const char *column, bool ethnic,
                         struct anon_hierarchy **out, struct err *err)
{
    struct buf csv = BUF_INIT;
    char **values = NULL;
    size_t n = 0;
    int ret;

    ret = anon_column_values(stage, column, "qi", &values, &n, err);
    if (ret)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (ethnic)
            buf_addf(&csv, "%s;%s;*\n", values[i],
                     str_eq(values[i], ETHNICITY_MAIN) ? ETHNICITY_MAIN : "少数民族");
        else
            buf_addf(&csv, "%s;*\n", values[i]);
    }
    ret = anon_hierarchy_parse(out, csv.buf, csv.len, column, err);
out:
    for (size_t i = 0; i < n; i++)
        free(values[i]);
    free(values);
    buf_release(&csv);
    return ret;
}

static const char *const level_names[][6] = {
        {"kept", "withheld (*)"},
        {"kept", "main group or minority", "withheld (*)"},
        {"day", "month", "quarter", "year", "decade", "withheld (*)"},
        {"kept", "withheld (*)"},
};

/* Generalises stage into out_path (k >= DEMO_K, no record suppressed); *tr gets the
 * transformations for the report. */
static int deidentify(const char *stage, const char *out_path, json_t **tr, struct err *err)
{
    static const char *const qcols[] = {"性别", "民族", "出生日期", "职业"};
    struct anon_hierarchy *h[4] = {NULL, NULL, NULL, NULL};
    struct anon_qi qi[4];
    struct anon_data *d = NULL;
    struct anon_result res;
    struct anon_config cfg = {DEMO_K, ANON_LDIV_NONE, 1, ANON_TCLOSE_NONE, 0, 0, ANON_METRIC_LOSS};
    char **dates = NULL;
    size_t ndates = 0;
    int ret;

    memset(&res, 0, sizeof(res));
    *tr = NULL;
    ret = hierarchy_for(stage, "性别", false, &h[0], err);
    if (!ret)
        ret = hierarchy_for(stage, "民族", true, &h[1], err);
    if (!ret)
        ret = anon_column_values(stage, "出生日期", "qi", &dates, &ndates, err);
    if (!ret)
        ret = anon_hierarchy_builtin(&h[2], "date", (const char *const *)dates, ndates, err);
    if (!ret)
        ret = hierarchy_for(stage, "职业", false, &h[3], err);
    if (ret)
        goto out;
    for (size_t j = 0; j < 4; j++) {
        qi[j].column = qcols[j];
        qi[j].hierarchy = h[j];
    }
    ret = anon_data_load(&d, stage, qi, 4, NULL, NULL, err);
    if (!ret)
        ret = anon_search(d, &cfg, &res, err);
    if (ret)
        goto out;
    if (!res.found) {
        ret = err_set(err, ERR_INTERNAL, NULL, "no generalisation reaches k = %d", DEMO_K);
        goto out;
    }
    ret = anon_data_write(d, &cfg, res.levels, out_path, err);
    if (ret)
        goto out;
    *tr = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "column", "序号",
                    "transformation", "suppressed (record number)", "column", "姓名",
                    "transformation", "suppressed (direct identifier)", "column", "身份证号",
                    "transformation", "suppressed (direct identifier)", "column", "手机号码",
                    "transformation", "suppressed (direct identifier)", "column", "备注",
                    "transformation", "suppressed (free text holding phone numbers)");
    BUG_ON(!*tr);
    for (size_t j = 0; j < 4; j++) {
        unsigned l = res.levels[j];
        size_t height = anon_data_height(d, j);
        const char *what = l < 6 && level_names[j][l] ? level_names[j][l] : "generalised";

        if (l + 1 == height)
            what = "withheld (*)";
        char *text = l ? xstrfmt("generalised: %s", what) : xstrdup("kept as it was");

        json_array_append_new(*tr, json_pack("{s:s,s:s,s:I}", "column", qcols[j], "transformation",
                                             text, "level", (json_int_t)l));
        free(text);
    }
    json_array_append_new(
            *tr, json_pack("{s:s,s:s}", "column", "k-anonymity", "transformation",
                           "optimal full-domain generalisation to k >= 5 (loss metric), no "
                           "record suppressed"));
out:
    anon_result_release(&res);
    anon_data_free(d);
    for (size_t j = 0; j < 4; j++)
        anon_hierarchy_free(h[j]);
    for (size_t i = 0; i < ndates; i++)
        free(dates[i]);
    free(dates);
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
        "(nobody's real data), published through Kaifang's privacy pipeline: the direct "
        "identifiers (name, ID number, phone, remarks) suppressed, birth date, sex, "
        "ethnicity and occupation generalised to k-anonymity with k ≥ 5 by the optimal "
        "search, then scanned at ingest and passed through the publish gate. The privacy "
        "report below shows what was done and the k reached.";

int cli_demo_discharges(struct portal *p, struct err *err)
{
    struct catalog c;
    struct datastore *ds = NULL;
    struct actor actor;
    struct upload up;
    struct datastore_ingest_request req;
    json_t *params = NULL, *doc = NULL, *result = NULL, *tr = NULL, *report = NULL, *res;
    char *stage = NULL, *out = NULL, hex[SHA256_HEX_LEN];
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
    ret = write_stage(stage, err);
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
    params = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:[{s:s},{s:s},{s:s}]}", "name", DEMO_DATASET,
                       "title", "Hospital discharges (synthetic, de-identified)", "notes", notes,
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
