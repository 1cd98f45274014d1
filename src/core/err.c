#include "core/err.h"
#include "core/util.h"

int err_set(struct err *err, enum err_kind kind, const char *field, const char *fmt, ...)
{
    va_list ap;

    if (err && err->kind == ERR_NONE) {
        err->kind = kind;
        xsnprintf(err->field, sizeof(err->field), "%.*s", ERR_FIELD_MAX - 1, field ? field : "");
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return -(int)kind;
}

void err_clear(struct err *err)
{
    err->kind = ERR_NONE;
    err->field[0] = '\0';
    err->msg[0] = '\0';
}

const char *err_kind_type(enum err_kind kind)
{
    switch (kind) {
    case ERR_VALIDATION:
    case ERR_CONFLICT:
        return "Validation Error";
    case ERR_NOT_FOUND:
        return "Not Found Error";
    case ERR_AUTH:
        return "Authorization Error";
    case ERR_BAD_REQUEST:
        return "Bad request";
    case ERR_TOO_LARGE:
        return "Request Entity Too Large";
    case ERR_SEARCH:
        return "Search Query Error";
    case ERR_UNAVAILABLE:
        return "Service Unavailable";
    case ERR_NONE:
    case ERR_INTERNAL:
        break;
    }
    return "Internal Server Error";
}

unsigned err_kind_status(enum err_kind kind)
{
    switch (kind) {
    case ERR_VALIDATION:
    case ERR_CONFLICT:
    case ERR_SEARCH:
        return 409;
    case ERR_NOT_FOUND:
        return 404;
    case ERR_AUTH:
        return 403;
    case ERR_BAD_REQUEST:
        return 400;
    case ERR_TOO_LARGE:
        return 413;
    case ERR_UNAVAILABLE:
        return 503;
    case ERR_NONE:
    case ERR_INTERNAL:
        break;
    }
    return 500;
}
