/*
 * dstype.c - datastore column type names (core/dstype.h).
 */
#include "core/dstype.h"
#include "core/util.h"

static const char *const names[DSTYPE_COUNT] = {
        [DSTYPE_TEXT] = "text", [DSTYPE_INT8] = "int8", [DSTYPE_NUMERIC] = "numeric",
        [DSTYPE_BOOL] = "bool", [DSTYPE_DATE] = "date", [DSTYPE_TIMESTAMP] = "timestamp",
        [DSTYPE_JSON] = "json",
};

static const char *const frictionless[DSTYPE_COUNT] = {
        [DSTYPE_TEXT] = "string",  [DSTYPE_INT8] = "integer", [DSTYPE_NUMERIC] = "number",
        [DSTYPE_BOOL] = "boolean", [DSTYPE_DATE] = "date",    [DSTYPE_TIMESTAMP] = "datetime",
        [DSTYPE_JSON] = "object",
};

static const struct {
    const char *name;
    enum dstype type;
} aliases[] = {
        {"int", DSTYPE_INT8},           {"int4", DSTYPE_INT8},
        {"integer", DSTYPE_INT8},       {"bigint", DSTYPE_INT8},
        {"float", DSTYPE_NUMERIC},      {"float8", DSTYPE_NUMERIC},
        {"double", DSTYPE_NUMERIC},     {"number", DSTYPE_NUMERIC},
        {"decimal", DSTYPE_NUMERIC},    {"boolean", DSTYPE_BOOL},
        {"datetime", DSTYPE_TIMESTAMP}, {"timestamptz", DSTYPE_TIMESTAMP},
        {"string", DSTYPE_TEXT},        {"varchar", DSTYPE_TEXT},
};

const char *dstype_name(enum dstype t)
{
    return (unsigned)t < DSTYPE_COUNT ? names[t] : "text";
}

const char *dstype_frictionless(enum dstype t)
{
    return (unsigned)t < DSTYPE_COUNT ? frictionless[t] : "string";
}

bool dstype_parse(const char *name, enum dstype *out)
{
    if (!name)
        return false;
    for (unsigned i = 0; i < DSTYPE_COUNT; i++) {
        if (!strcasecmp(name, names[i])) {
            *out = (enum dstype)i;
            return true;
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(aliases); i++) {
        if (!strcasecmp(name, aliases[i].name)) {
            *out = aliases[i].type;
            return true;
        }
    }
    return false;
}
