#include "core/log.h"
#include "core/timeutil.h"
#include "core/util.h"

static enum log_level min_level = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level level)
{
    min_level = level;
}

void log_init_from_env(void)
{
    const char *v = getenv("KAIFANG_LOG");

    if (!v)
        return;
    if (!strcmp(v, "debug"))
        min_level = LOG_DEBUG;
    else if (!strcmp(v, "info"))
        min_level = LOG_INFO;
    else if (!strcmp(v, "warn"))
        min_level = LOG_WARN;
    else if (!strcmp(v, "error"))
        min_level = LOG_ERROR;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char when[TIME_ISO_MAX];
    va_list ap;

    if (level < min_level)
        return;
    time_now_rfc3339(when);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s %s ", when, names[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
}
