#include "core/timeutil.h"
#include "core/util.h"

void time_now_rfc3339(char *out)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, TIME_ISO_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void time_now_ckan(char *out)
{
    struct timespec ts;
    struct tm tm;
    char base[TIME_ISO_MAX];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    xsnprintf(out, TIME_ISO_MAX, "%s.%06ld", base, ts.tv_nsec / 1000);
}

void time_http_date(int64_t epoch_seconds, char *out)
{
    time_t t = (time_t)epoch_seconds;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, TIME_ISO_MAX, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

uint64_t time_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
