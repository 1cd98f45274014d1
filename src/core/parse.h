/*
 * parse.h - the one checked parser for integers and booleans from input.
 */
#ifndef KAIFANG_CORE_PARSE_H
#define KAIFANG_CORE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Parses a base-10 integer in [min, max] from the whole of s: optional leading '-',
 * digits, nothing else (no spaces, no '+', no trailing junk). Returns 0 and sets *out,
 * or -1 on an empty string, junk, overflow or a value out of range (*out unchanged).
 */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* parse_i64() for the non-negative range of size_t-sized counts. */
int parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Parses "true"/"false"/"1"/"0"/"yes"/"no"/"on"/"off" (ASCII case-insensitive), as CKAN's
 * asbool does. Returns 0 or -1. */
int parse_bool(const char *s, bool *out);

#endif
