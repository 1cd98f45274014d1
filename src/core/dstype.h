/*
 * dstype.h - the column types of datastore tables, shared by ingest (type inference),
 * store (column storage) and datastore (the DataStore API).
 *
 * Names are the PostgreSQL type names CKAN's DataStore reports in "fields" (CKAN 2.10
 * docs, "DataStore extension: Field types"): text, int8, numeric, bool, date, timestamp,
 * json. How each type's values are written (the canonical text of a value):
 *   text       the UTF-8 text as it came in
 *   int8       a signed 64-bit integer, decimal, no sign for positives, no leading zero
 *   numeric    an exact decimal kept as the text that came in ("315.70", ".097", "1e-3"):
 *              never rounded, never passed through floating point
 *   bool       true | false
 *   date       YYYY-MM-DD (ISO 8601 calendar date)
 *   timestamp  YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM] (ISO 8601, as it came in
 *              after the date part is normalised)
 *   json       JSON text (nested values of JSON input)
 */
#ifndef KAIFANG_CORE_DSTYPE_H
#define KAIFANG_CORE_DSTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dstype {
    DSTYPE_TEXT = 0,
    DSTYPE_INT8,
    DSTYPE_NUMERIC,
    DSTYPE_BOOL,
    DSTYPE_DATE,
    DSTYPE_TIMESTAMP,
    DSTYPE_JSON,
};
#define DSTYPE_COUNT 7

/* The type's name ("text", "int8", …). Static storage. */
const char *dstype_name(enum dstype t);

/* Parses a type name as datastore_create accepts it: the names above and CKAN's
 * aliases (int, int4, integer, bigint → int8; float, float8, double, number, decimal →
 * numeric; boolean → bool; datetime, timestamptz → timestamp; string, varchar → text).
 * Case-insensitive. Returns false for anything else. */
bool dstype_parse(const char *name, enum dstype *out);

/* The Frictionless Table Schema type of t ("string", "integer", "number", "boolean",
 * "date", "datetime", "object"). Static storage. */
const char *dstype_frictionless(enum dstype t);

/*
 * A typed value, as ingest produces it and the store keeps it. kind NULL has no value;
 * INT carries i; TEXT carries s/len (the canonical text of the column's type, see above;
 * for numeric, date, timestamp, bool, json and text columns). s is borrowed and need not
 * be NUL-terminated.
 */
enum dsvalue_kind {
    DSVALUE_NULL = 0,
    DSVALUE_INT,
    DSVALUE_TEXT,
};

struct dsvalue {
    enum dsvalue_kind kind;
    int64_t i;
    const char *s;
    size_t len;
};

#endif
