/*
 * timeutil.h - timestamps in the forms the standards use.
 */
#ifndef KAIFANG_CORE_TIMEUTIL_H
#define KAIFANG_CORE_TIMEUTIL_H

#include <stdint.h>

#define TIME_ISO_MAX 40

/* Current UTC time as RFC 3339 with seconds, "2026-11-29T10:00:00Z". out: TIME_ISO_MAX. */
void time_now_rfc3339(char *out);

/* Current UTC time as CKAN writes metadata_created/metadata_modified: ISO 8601 with
 * microseconds and no zone, "2026-11-29T10:00:00.123456". out: TIME_ISO_MAX. */
void time_now_ckan(char *out);

/* Formats seconds since the epoch (UTC) as an RFC 7231 HTTP date,
 * "Sun, 29 Nov 2026 10:00:00 GMT". out: TIME_ISO_MAX. */
void time_http_date(int64_t epoch_seconds, char *out);

/* Monotonic clock in microseconds (for durations only). */
uint64_t time_mono_us(void);

#endif
