/*
 * actions.c - the fee and audit actions of the CKAN-style API (issue 8): thin adapters
 * from the action table's calling convention (api/api-ckan.c) to this module. Names
 * follow CKAN's noun_verb style; the shapes are documented in docs/internals/audit.md.
 */
#include <jansson.h>

#include "audit/audit-actions.h"
#include "audit/audit.h"
#include "core/parse.h"
#include "core/util.h"

static const char *param_str(const json_t *params, const char *key)
{
    return json_string_value(json_object_get(params, key));
}

/* A boolean parameter: JSON true/false or the query-string text ("true", "1", …). */
static int param_flag(const json_t *params, const char *key, bool *out, struct err *err)
{
    json_t *v = json_object_get(params, key);

    *out = false;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v) && !parse_bool(json_string_value(v), out))
        return 0;
    return err_set(err, ERR_VALIDATION, key, "must be true or false");
}

int audit_action_fee_schedule_create(struct catalog *c, const struct actor *a, json_t *params,
                                     json_t **result, struct err *err)
{
    return audit_schedule_create(c->store, a, params, result, err);
}

int audit_action_fee_schedule_approve(struct catalog *c, const struct actor *a, json_t *params,
                                      json_t **result, struct err *err)
{
    return audit_schedule_approve(c->store, a, param_str(params, "id"), result, err);
}

int audit_action_fee_schedule_show(struct catalog *c, const struct actor *a, json_t *params,
                                   json_t **result, struct err *err)
{
    return audit_schedule_show(c->store, a, param_str(params, "id"), result, err);
}

int audit_action_fee_schedule_list(struct catalog *c, const struct actor *a, json_t *params,
                                   json_t **result, struct err *err)
{
    bool pending = false;
    int rc = param_flag(params, "include_pending", &pending, err);

    return rc ? rc
              : audit_schedule_list(c->store, a, param_str(params, "organization"), pending, result,
                                    err);
}

int audit_action_charge_record(struct catalog *c, const struct actor *a, json_t *params,
                               json_t **result, struct err *err)
{
    return audit_charge_record(c->store, a, params, result, err);
}

int audit_action_audit_report(struct catalog *c, const struct actor *a, json_t *params,
                              json_t **result, struct err *err)
{
    struct audit_options o = {.site_url = c->site_url};
    int rc = param_flag(params, "proofs", &o.proofs, err);

    (void)a; /* public: the report holds nothing the ledger does not */
    return rc ? rc : audit_report(c->store, &o, result, err);
}
