/*
 * audit-actions.h - the fee and audit actions of the API's action table
 * (api/api-ckan.c), each a catalog_action_fn over the catalog's store:
 *   fee_schedule_create   params of audit_schedule_create()
 *   fee_schedule_approve  {id}
 *   fee_schedule_show     {id}
 *   fee_schedule_list     {organization, include_pending}
 *   charge_record         params of audit_charge_record()
 *   audit_report          {proofs}: audit_report() with the site's URL
 * Contracts and errors: audit.h. Thread-safe.
 */
#ifndef KAIFANG_AUDIT_AUDIT_ACTIONS_H
#define KAIFANG_AUDIT_AUDIT_ACTIONS_H

#include <jansson.h>

#include "access/access.h"
#include "catalog/catalog.h"
#include "core/err.h"

int audit_action_fee_schedule_create(struct catalog *c, const struct actor *a, json_t *params,
                                     json_t **result, struct err *err);
int audit_action_fee_schedule_approve(struct catalog *c, const struct actor *a, json_t *params,
                                      json_t **result, struct err *err);
int audit_action_fee_schedule_show(struct catalog *c, const struct actor *a, json_t *params,
                                   json_t **result, struct err *err);
int audit_action_fee_schedule_list(struct catalog *c, const struct actor *a, json_t *params,
                                   json_t **result, struct err *err);
int audit_action_charge_record(struct catalog *c, const struct actor *a, json_t *params,
                               json_t **result, struct err *err);
int audit_action_audit_report(struct catalog *c, const struct actor *a, json_t *params,
                              json_t **result, struct err *err);

#endif
