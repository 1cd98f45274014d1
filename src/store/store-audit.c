/*
 * store-audit.c - the front of the fee schedule and charge tables (store-audit.h):
 * dispatch to the backend's audit table and failure injection for the writes.
 */
#include "store/store-audit.h"
#include "store/store-int.h"
#include "core/util.h"

static int audit_backend(struct store *s, const struct store_audit_backend **out, struct err *err)
{
    *out = s->backend->audit;
    if (!*out)
        return err_set(err, ERR_INTERNAL, NULL, "the %s store keeps no fee schedules or charges",
                       s->backend->name);
    return 0;
}

int store_fee_schedule_put(struct store *s, const char *id, const char *name, const char *org_id,
                           const char *state, const json_t *doc, struct err *err)
{
    const struct store_audit_backend *a = NULL;
    int rc = audit_backend(s, &a, err);

    BUG_ON(!id || !name || !org_id || !state || !doc);
    if (!rc)
        rc = store_fail_point(s, "store_fee_schedule_put", err);
    return rc ? rc : a->schedule_put(s, id, name, org_id, state, doc, err);
}

int store_fee_schedule_get(struct store *s, const char *id_or_name, json_t **doc, struct err *err)
{
    const struct store_audit_backend *a = NULL;
    int rc = audit_backend(s, &a, err);

    *doc = NULL;
    return rc ? rc : a->schedule_get(s, id_or_name, doc, err);
}

int store_fee_schedule_list(struct store *s, const char *org_id, const char *state, json_t **docs,
                            struct err *err)
{
    const struct store_audit_backend *a = NULL;
    int rc = audit_backend(s, &a, err);

    *docs = NULL;
    return rc ? rc : a->schedule_list(s, org_id, state, docs, err);
}

int store_charges_put(struct store *s, const struct store_charge *c, size_t n, struct err *err)
{
    const struct store_audit_backend *a = NULL;
    int rc = audit_backend(s, &a, err);

    if (!rc)
        rc = store_fail_point(s, "store_charges_put", err);
    return rc ? rc : a->charges_put(s, c, n, err);
}

int store_charge_get(struct store *s, const char *id, json_t **charge, struct err *err)
{
    const struct store_audit_backend *a = NULL;
    int rc = audit_backend(s, &a, err);

    *charge = NULL;
    return rc ? rc : a->charge_get(s, id, charge, err);
}

int store_charge_count(struct store *s, uint64_t *count, struct err *err)
{
    const struct store_audit_backend *a = NULL;
    int rc = audit_backend(s, &a, err);

    *count = 0;
    return rc ? rc : a->charge_count(s, count, err);
}

int store_charges_walk(struct store *s,
                       int (*fn)(void *ctx, const struct store_charge *c, const char *entry,
                                 size_t len, struct err *err),
                       void *ctx, struct err *err)
{
    const struct store_audit_backend *a = NULL;
    int rc = audit_backend(s, &a, err);

    return rc ? rc : a->charges_walk(s, fn, ctx, err);
}

int store_charge_entries_orphaned(struct store *s,
                                  int (*fn)(void *ctx, uint64_t index, const char *entry,
                                            size_t len, struct err *err),
                                  void *ctx, struct err *err)
{
    const struct store_audit_backend *a = NULL;
    int rc = audit_backend(s, &a, err);

    if (!rc && !a->charge_entries_orphaned)
        rc = err_set(err, ERR_INTERNAL, NULL,
                     "the %s store cannot list charge_record entries without a charge",
                     s->backend->name);
    return rc ? rc : a->charge_entries_orphaned(s, fn, ctx, err);
}

int store_ledger_audit_walk(struct store *s,
                            int (*fn)(void *ctx, uint64_t index, const char *entry, size_t len,
                                      struct err *err),
                            void *ctx, struct err *err)
{
    const struct store_audit_backend *a = NULL;
    int rc = audit_backend(s, &a, err);

    return rc ? rc : a->ledger_audit_walk(s, fn, ctx, err);
}
