/*
 * header.c - field ids from a header row (ingest.h, ingest_header_ids; the rules are in
 * docs/internals/ingest.md, "Types").
 *
 * An id must be usable as a CKAN DataStore field name: CKAN reserves names that start
 * with '_' (_id, _full_text), PostgreSQL cuts identifiers at 63 bytes (NAMEDATALEN - 1),
 * and datastore_search_sql quotes them with '"'. The label keeps the header text as the
 * publisher wrote it, so nothing is lost by shortening.
 */
#include "core/limits.h"
#include "ingest/ingest.h"
#include "core/util.h"

/* Bytes of the whitespace character at s (ASCII white space, U+00A0 NO-BREAK SPACE,
 * U+3000 IDEOGRAPHIC SPACE, U+FEFF BYTE ORDER MARK), 0 when s holds none; n bytes are
 * readable. */
static size_t space_at(const unsigned char *s, size_t n)
{
    if (!n)
        return 0;
    if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        return 1;
    if (n >= 2 && s[0] == 0xc2 && s[1] == 0xa0)
        return 2;
    if (n >= 3 && ((s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) ||
                   (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)))
        return 3;
    return 0;
}

/* Whether the whitespace character ending at s + n is there (the last bytes). */
static size_t space_before(const unsigned char *s, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++)
        if (space_at(s + n - k, k) == k)
            return k;
    return 0;
}

/* Bytes in the UTF-8 character at s (n readable), 0 when the bytes there are not one
 * (the readers give valid UTF-8, but an id must be valid whatever it is given). */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    size_t len;

    if (*s < 0x80)
        return 1;
    if (*s >= 0xc2 && *s < 0xe0)
        len = 2;
    else if (*s >= 0xe0 && *s < 0xf0)
        len = 3;
    else if (*s >= 0xf0 && *s < 0xf5)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* Overlong forms, surrogates and code points past U+10FFFF. */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return len;
}

/* The id's text for one label, new string (free()), "" when nothing is left. */
static char *base_id(const char *label)
{
    const unsigned char *s = (const unsigned char *)(label ? label : "");
    size_t n = strlen((const char *)s), k, len = 0;
    char out[LIMIT_INGEST_FIELD_ID + 1];

    while ((k = space_at(s, n))) {
        s += k;
        n -= k;
    }
    while ((k = space_before(s, n)))
        n -= k;
    while (n) {
        size_t cl = utf8_char(s, n);
        bool under;

        /* '"', control characters (C0, DEL, C1 U+0080–U+009F) and bytes that are not
         * UTF-8 become '_'. */
        under = !cl || *s < 0x20 || *s == 0x7f || *s == '"' || (*s == 0xc2 && s[1] < 0xa0);
        if (!cl)
            cl = 1;
        if (!len && (under || *s == '_' || space_at(s, n))) {
            /* No leading '_' (CKAN reserves them), nor the space after one ("_ id"). */
            s += cl;
            n -= cl;
            continue;
        }
        if (len + (under ? 1 : cl) > LIMIT_INGEST_FIELD_ID)
            break; /* cut at this character's boundary */
        if (under) {
            out[len++] = '_';
        } else {
            memcpy(out + len, s, cl);
            len += cl;
        }
        s += cl;
        n -= cl;
    }
    /* A cut can leave white space at the end ("… (million "). */
    while ((k = space_before((const unsigned char *)out, len)))
        len -= k;
    return xstrndup(out, len);
}

/* ASCII case-insensitive: ids are matched so by SQLite and by people, so "Name" and
 * "name" must not both be ids. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        h ^= (c >= 'A' && c <= 'Z') ? c + 32u : c;
        h *= 1099511628211ull;
    }
    return h;
}

struct name_slot {
    const char *name; /* NULL: free */
    unsigned next;    /* for a base id: the next suffix to try */
};

struct name_set {
    struct name_slot *slots;
    size_t mask;
};

/* The slot holding name, or the free slot where it would go. The set is never full: it
 * has room for twice the names ever put in. */
static struct name_slot *name_find(struct name_set *set, const char *name)
{
    size_t i = (size_t)name_hash(name) & set->mask;

    while (set->slots[i].name && strcasecmp(set->slots[i].name, name))
        i = (i + 1) & set->mask;
    return &set->slots[i];
}

/* base with "_k" appended, base cut at a character boundary so that both fit the limit. */
static char *suffixed(const char *base, unsigned k)
{
    char suffix[16];
    size_t room, len = strlen(base);

    xsnprintf(suffix, sizeof(suffix), "_%u", k);
    room = LIMIT_INGEST_FIELD_ID - strlen(suffix);
    if (len > room) {
        len = room;
        while (len && ((unsigned char)base[len] & 0xc0) == 0x80)
            len--;
    }
    return xstrfmt("%.*s%s", (int)len, base, suffix);
}

void ingest_header_ids(const char *const *labels, size_t n, char **ids)
{
    struct name_set set = {NULL, 0};
    bool *repeat = xcalloc(n ? n : 1, sizeof(*repeat));
    size_t cap = 16;

    while (cap < 4 * n)
        cap *= 2;
    set.slots = xcalloc(cap, sizeof(*set.slots));
    set.mask = cap - 1;

    for (size_t i = 0; i < n; i++) {
        struct name_slot *slot;

        ids[i] = base_id(labels[i]);
        if (!ids[i][0]) {
            free(ids[i]);
            ids[i] = xstrfmt("column_%zu", i + 1);
        }
        /* Every first occurrence keeps its name, so a repeat's suffix never takes the
         * name of a later column ("a", "a", "a_2" → "a", "a_3", "a_2"). */
        slot = name_find(&set, ids[i]);
        if (slot->name) {
            repeat[i] = true;
        } else {
            slot->name = ids[i];
            slot->next = 2;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct name_slot *base, *slot;
        char *id;

        if (!repeat[i])
            continue;
        base = name_find(&set, ids[i]);
        for (;;) {
            id = suffixed(ids[i], base->next++);
            slot = name_find(&set, id);
            if (!slot->name)
                break;
            free(id);
        }
        slot->name = id;
        slot->next = 2;
        free(ids[i]);
        ids[i] = id;
    }
    free(set.slots);
    free(repeat);
}
