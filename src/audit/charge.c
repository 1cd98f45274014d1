/*
 * charge.c - charges: one recorded through Kaifang (for a grant, under an approved
 * schedule), or a whole file imported from a unit's billing system. Each charge is a row
 * and a "charge_record" ledger entry in the same transaction; an import is one
 * transaction for the whole file.
 *
 * What the public entry holds (docs/internals/audit.md): the charge's id, its unit and
 * system, date, amount, currency, the schedule it names and how it came in. The payer
 * (a person or a business) is only in the digest, whose input also holds a random salt
 * kept in the store: without the salt a digest cannot be used to confirm a guessed payer.
 */
#include <string.h>

#include "audit/audit-int.h"
#include "core/timeutil.h"
#include "core/util.h"
#include "crypto/digest.h"
#include "crypto/secret.h"
#include "store/store-audit.h"

#define SALT_BYTES 16
#define SALT_HEX   (2 * SALT_BYTES + 1)
/* Charges written to the store per statement batch during an import. */
#define IMPORT_BATCH 512

/* Stages the ledger entry of charge x of organization org_name. */
static int charge_entry(struct store *s, const char *actor, const char *org_name,
                        const struct store_charge *x, uint64_t *idx, struct err *err)
{
    char amount[AUDIT_AMOUNT_STR_MAX];
    json_t *objects, *digest;

    audit_amount_format(x->amount_fen, amount);
    objects = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "charge", x->id, "unit", x->unit,
                        "system", x->system, "date", x->date, "amount", amount, "currency",
                        x->currency, "source", x->source);
    digest = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:s?, s:s}", "id",
                       x->id, "organization", org_name, "unit", x->unit, "system", x->system,
                       "payer", x->payer, "date", x->date, "amount", amount, "currency",
                       x->currency, "schedule", x->schedule, "source", x->source, "grant",
                       x->grant_id, "salt", x->salt);
    if (!objects || !digest) {
        json_decref(objects);
        json_decref(digest);
        return err_set(err, ERR_VALIDATION, NULL, "charge fields must be valid UTF-8");
    }
    if (x->schedule)
        json_object_set_new(objects, "schedule", json_string(x->schedule));
    if (x->grant_id)
        json_object_set_new(objects, "grant", json_string(x->grant_id));
    return audit_record(s, "charge_record", actor, org_name, objects, digest, idx, err);
}

static void new_salt(char out[SALT_HEX])
{
    uint8_t raw[SALT_BYTES];

    secret_random(raw, sizeof(raw));
    hex_encode(raw, sizeof(raw), out);
}

static int text_field(const json_t *params, const char *key, bool required, const char **out,
                      struct err *err)
{
    json_t *v = json_object_get(params, key);

    *out = json_string_value(v);
    if (!v || json_is_null(v) || (*out && !**out)) {
        *out = NULL;
        return required ? err_set(err, ERR_VALIDATION, key, "Missing value") : 0;
    }
    if (!*out)
        return err_set(err, ERR_VALIDATION, key, "must be a string");
    if (strlen(*out) > AUDIT_FIELD_MAX)
        return err_set(err, ERR_VALIDATION, key, "longer than %u bytes", AUDIT_FIELD_MAX);
    for (const char *p = *out; *p; p++)
        if ((unsigned char)*p < 0x20)
            return err_set(err, ERR_VALIDATION, key, "holds a control character");
    return 0;
}

int audit_charge_record(struct store *s, const struct actor *a, const json_t *params, json_t **out,
                        struct err *err)
{
    const char *org, *unit, *system, *payer, *date, *currency, *schedule, *grant;
    const char *org_id, *org_name, *state;
    char id[UUID_STR_LEN], salt[SALT_HEX], now[TIME_ISO_MAX], price[AUDIT_AMOUNT_STR_MAX];
    json_t *orgdoc = NULL, *sched = NULL;
    struct store_charge x = {0};
    int64_t fen = 0, price_fen = 0;
    const char *why = NULL;
    uint64_t idx = 0;
    bool began = false;
    int rc;

    *out = NULL;
    if (!a || !a->authenticated) {
        rc = err_set(err, ERR_AUTH, NULL, "recording a charge needs a signed-in user");
        goto out;
    }
    if (!json_is_object(params)) {
        rc = err_set(err, ERR_BAD_REQUEST, NULL, "parameters must be an object");
        goto out;
    }
    /* Who may, first: the organization and the actor's capacity in it. */
    rc = text_field(params, "organization", true, &org, err);
    if (!rc)
        rc = audit_org_lookup(s, org, "organization", &orgdoc, err);
    if (rc)
        goto out;
    org_id = json_string_value(json_object_get(orgdoc, "id"));
    org_name = json_string_value(json_object_get(orgdoc, "name"));
    if (actor_capacity(a, org_id) < CAPACITY_EDITOR) {
        rc = err_set(err, ERR_AUTH, NULL,
                     "user \"%s\" may not record charges of organization \"%s\"", a->name,
                     org_name);
        goto out;
    }
    rc = text_field(params, "unit", true, &unit, err);
    if (!rc)
        rc = text_field(params, "system", true, &system, err);
    if (!rc)
        rc = text_field(params, "payer", true, &payer, err);
    if (!rc)
        rc = audit_date_param(params, "date", &date, err);
    if (!rc)
        rc = audit_amount_param(params, "amount", &fen, err);
    if (!rc)
        rc = text_field(params, "currency", false, &currency, err);
    if (!rc && currency && !str_eq(currency, AUDIT_CURRENCY))
        rc = err_set(err, ERR_VALIDATION, "currency", "must be " AUDIT_CURRENCY);
    if (!rc)
        rc = text_field(params, "schedule", true, &schedule, err);
    if (!rc)
        rc = text_field(params, "grant", false, &grant, err);
    if (rc)
        goto out;
    rc = store_begin(s, err);
    if (rc)
        goto out;
    began = true;
    /* Kaifang never charges outside an approved schedule of the organization. */
    rc = store_fee_schedule_get(s, schedule, &sched, err);
    if (rc == -ERR_NOT_FOUND) {
        err_clear(err);
        rc = err_set(err, ERR_VALIDATION, "schedule", "fee schedule \"%s\" not found", schedule);
    }
    if (rc)
        goto out;
    state = json_string_value(json_object_get(sched, "state"));
    if (!str_eq(json_string_value(json_object_get(sched, "organization_id")), org_id)) {
        rc = err_set(err, ERR_VALIDATION, "schedule",
                     "fee schedule \"%s\" belongs to another organization", schedule);
        goto out;
    }
    if (!str_eq(state, "approved")) {
        rc = err_set(err, ERR_VALIDATION, "schedule", "fee schedule \"%s\" is not approved",
                     schedule);
        goto out;
    }
    if (strcmp(date, json_string_value(json_object_get(sched, "period_start"))) < 0 ||
        strcmp(date, json_string_value(json_object_get(sched, "period_end"))) > 0) {
        rc = err_set(err, ERR_VALIDATION, "date", "%s is outside the period of fee schedule \"%s\"",
                     date, schedule);
        goto out;
    }
    xsnprintf(price, sizeof(price), "%s", json_string_value(json_object_get(sched, "price")));
    if (audit_amount_parse(price, strlen(price), &price_fen, &why) || fen > price_fen) {
        rc = err_set(err, ERR_VALIDATION, "amount", "above the price of fee schedule \"%s\" (%s)",
                     schedule, price);
        goto out;
    }
    secret_uuid4(id);
    new_salt(salt);
    time_now_rfc3339(now);
    x = (struct store_charge){
            .id = id,
            .org_id = org_id,
            .unit = unit,
            .system = system,
            .payer = payer,
            .date = date,
            .amount_fen = fen,
            .currency = AUDIT_CURRENCY,
            .schedule = json_string_value(json_object_get(sched, "name")),
            .source = "kaifang",
            .grant_id = grant,
            .salt = salt,
            .created = now,
    };
    rc = charge_entry(s, a->name, org_name, &x, &idx, err);
    if (rc)
        goto out;
    x.ledger_idx = (int64_t)idx;
    rc = store_charges_put(s, &x, 1, err);
    if (!rc)
        rc = store_commit(s, err);
    if (rc)
        goto out;
    began = false;
    *out = json_pack("{s:s, s:I}", "id", id, "ledger_index", (json_int_t)idx);
out:
    if (began)
        store_rollback(s);
    json_decref(sched);
    json_decref(orgdoc);
    return rc;
}

/* ---- Import ------------------------------------------------------------------------------ */

struct import {
    struct store *s;
    const char *actor;
    json_t *orgs; /* name or id as written → organization dict */
    bool write;   /* second pass: write; first pass: check only */
    uint64_t count;
    char now[TIME_ISO_MAX];
    /* The batch not yet written: charges and the strings they point to. */
    struct store_charge batch[IMPORT_BATCH];
    char *strings[IMPORT_BATCH * 8];
    size_t nbatch, nstrings;
};

static const char *keep(struct import *im, const char *s)
{
    char *c = xstrdup(s);

    BUG_ON(im->nstrings >= ARRAY_SIZE(im->strings));
    im->strings[im->nstrings++] = c;
    return c;
}

/* Forgets the batch (after it was written, or when the import fails). */
static void batch_clear(struct import *im)
{
    for (size_t i = 0; i < im->nstrings; i++)
        free(im->strings[i]);
    im->nstrings = 0;
    im->nbatch = 0;
}

static int flush(struct import *im, struct err *err)
{
    int rc = im->nbatch ? store_charges_put(im->s, im->batch, im->nbatch, err) : 0;

    batch_clear(im);
    return rc;
}

static int import_row(void *ctx, const struct audit_charge_row *row, struct err *err)
{
    struct import *im = ctx;
    json_t *org = json_object_get(im->orgs, row->organization);
    struct store_charge *x;
    char id[UUID_STR_LEN], salt[SALT_HEX];
    uint64_t idx = 0;
    int rc;

    if (!org) {
        rc = audit_org_lookup(im->s, row->organization, "file", &org, err);
        if (rc == -ERR_VALIDATION) {
            err_clear(err);
            return err_set(err, ERR_VALIDATION, "file",
                           "line %lu, column 1 (organization): organization \"%.100s\" not found",
                           row->line, row->organization);
        }
        if (rc)
            return rc;
        json_object_set_new(im->orgs, row->organization, org);
    }
    im->count++;
    if (!im->write)
        return 0;
    if (im->nbatch == IMPORT_BATCH) {
        rc = flush(im, err);
        if (rc)
            return rc;
    }
    secret_uuid4(id);
    new_salt(salt);
    x = &im->batch[im->nbatch];
    *x = (struct store_charge){
            .id = keep(im, id),
            .org_id = json_string_value(json_object_get(org, "id")),
            .unit = keep(im, row->unit),
            .system = keep(im, row->system),
            .payer = keep(im, row->payer),
            .date = keep(im, row->date),
            .amount_fen = row->amount_fen,
            .currency = AUDIT_CURRENCY,
            .schedule = *row->schedule ? keep(im, row->schedule) : NULL,
            .source = "import",
            .salt = keep(im, salt),
            .created = im->now,
    };
    rc = charge_entry(im->s, im->actor, json_string_value(json_object_get(org, "name")), x, &idx,
                      err);
    if (rc)
        return rc;
    x->ledger_idx = (int64_t)idx;
    im->nbatch++;
    return 0;
}

int audit_charges_import(struct store *s, const struct actor *a, const char *data, size_t len,
                         uint64_t *count, struct err *err)
{
    struct import *im = xcalloc(1, sizeof(*im));
    bool began = false;
    int rc;

    *count = 0;
    im->s = s;
    im->orgs = json_object();
    if (!a || !a->authenticated || !a->sysadmin) {
        rc = err_set(err, ERR_AUTH, NULL, "only a sysadmin may import charges");
        goto out;
    }
    im->actor = a->name;
    time_now_rfc3339(im->now);
    /* First pass: the whole file is checked before anything is written. */
    rc = audit_charges_parse(data, len, import_row, im, err);
    if (rc)
        goto out;
    im->write = true;
    im->count = 0;
    rc = store_begin(s, err);
    if (rc)
        goto out;
    began = true;
    rc = audit_charges_parse(data, len, import_row, im, err);
    if (!rc)
        rc = flush(im, err);
    if (!rc)
        rc = store_commit(s, err);
    if (rc)
        goto out;
    began = false;
    *count = im->count;
out:
    if (began)
        store_rollback(s);
    batch_clear(im);
    json_decref(im->orgs);
    free(im);
    return rc;
}
