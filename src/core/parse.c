#include "core/parse.h"
#include "core/util.h"

int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    bool neg = false;
    uint64_t v = 0, lim;

    if (!s || !*s)
        return -1;
    if (*s == '-') {
        neg = true;
        s++;
        if (!*s)
            return -1;
    }
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *s; s++) {
        unsigned d;

        if (*s < '0' || *s > '9')
            return -1;
        d = (unsigned)(*s - '0');
        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg) {
        int64_t r = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;

        if (r < min || r > max)
            return -1;
        *out = r;
    } else {
        if ((int64_t)v < min || (int64_t)v > max)
            return -1;
        *out = (int64_t)v;
    }
    return 0;
}

int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    int64_t v;

    if (max > INT64_MAX)
        max = INT64_MAX;
    if (parse_i64(s, 0, (int64_t)max, &v))
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on", "y", "t"};
    static const char *const no[] = {"false", "0", "no", "off", "n", "f"};

    if (!s)
        return -1;
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}
