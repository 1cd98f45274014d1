/*
 * test-catalog.c - the CKAN actions of the catalog against a real store in a temporary
 * portal directory: shapes, validation, authorization, update/patch semantics, search,
 * uploads (site-independent urls, cleanup after a failed action), rollback, and the
 * ledger entry of every write action (one per success, none per failure; every write
 * action of the CKAN table covered).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>

#include "audit/audit.h"

#include "catalog/catalog-int.h" /* dataset_write(), to plant an old-style upload url */
#include "catalog/catalog.h"
#include "catalog/views.h"
#include "core/limits.h"
#include "ledger/ledger.h"
#include "store/store-datastore.h"
#include "store/store-int.h" /* store_fail_count_reset() for failure injection */
#include "core/util.h"

struct fixture {
    char dir[64];
    char db[128];
    char files[128];
    struct store *s;
    struct catalog c;
    struct actor anon, root, admin, editor, member, outsider, both;
    char org1_id[UUID_STR_LEN], org2_id[UUID_STR_LEN];
    struct ledger_key *key; /* signs the checkpoints of ledger_new() */
    uint64_t lsize;         /* ledger entries read so far by ledger_new() */
};

static void remove_tree(const char *dir)
{
    struct dirent *e;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((e = readdir(d))) {
        char *p;
        struct stat st;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        p = xstrfmt("%s/%s", dir, e->d_name);
        if (!lstat(p, &st) && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);

    if (!v)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return v;
}

/* Runs an action that must succeed; returns its result (caller decrefs). */
static json_t *ok_(struct fixture *f, catalog_action_fn fn, const struct actor *a,
                   const char *params, int line)
{
    json_t *p = parse(params), *r = NULL;
    struct err err = ERR_INIT;
    int ret = fn(&f->c, a, p, &r, &err);

    json_decref(p);
    if (ret)
        fail_msg("line %d: action failed (%d): %s: %s", line, ret, err.field, err.msg);
    return r;
}
#define ok(f, fn, a, params) ok_(f, fn, a, params, __LINE__)

/* Runs an action that must fail with kind (and field when given); returns the message. */
static void fails_(struct fixture *f, catalog_action_fn fn, const struct actor *a,
                   const char *params, enum err_kind kind, const char *field, const char *msg_part,
                   int line)
{
    json_t *p = parse(params), *r = NULL;
    struct err err = ERR_INIT;
    int ret = fn(&f->c, a, p, &r, &err);

    json_decref(p);
    if (ret != -(int)kind)
        fail_msg("line %d: expected error %d, got %d (%s: %s)", line, kind, -ret, err.field,
                 err.msg);
    assert_null(r);
    assert_int_equal(err.kind, kind);
    if (field && strcmp(err.field, field))
        fail_msg("line %d: expected field \"%s\", got \"%s\" (%s)", line, field, err.field,
                 err.msg);
    if (msg_part && !strstr(err.msg, msg_part))
        fail_msg("line %d: message \"%s\" lacks \"%s\"", line, err.msg, msg_part);
}
#define fails(f, fn, a, params, kind, field, msg)                                                  \
    fails_(f, fn, a, params, kind, field, msg, __LINE__)

static const char *sget(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void load_actor(struct fixture *f, const char *name, struct actor *a)
{
    struct err err = ERR_INIT;

    assert_int_equal(access_actor_from_user(f->s, name, a, &err), 0);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct err err = ERR_INIT;
    json_t *o;
    char *tmp;

    secret_init();
    xsnprintf(f->dir, sizeof(f->dir), "/tmp/kf-catalog-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    xsnprintf(f->db, sizeof(f->db), "%s/kaifang.db", f->dir);
    xsnprintf(f->files, sizeof(f->files), "%s/files", f->dir);
    mkdir(f->files, 0755);
    tmp = xstrfmt("%s/tmp", f->files);
    mkdir(tmp, 0755);
    free(tmp);
    if (store_open(&f->s, f->db, true, &err)) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        return -1;
    }
    catalog_init(&f->c, f->s, f->files, "http://portal.test/");
    f->anon = (struct actor)ACTOR_ANONYMOUS;
    if (access_user_add(f->s, "root", NULL, NULL, true, NULL, &err))
        return -1;
    load_actor(f, "root", &f->root);
    o = ok(f, catalog_organization_create, &f->root,
           "{\"name\": \"stats-bureau\", \"title\": \"统计局 Statistics Bureau\"}");
    xsnprintf(f->org1_id, sizeof(f->org1_id), "%s", sget(o, "id"));
    json_decref(o);
    o = ok(f, catalog_organization_create, &f->root,
           "{\"name\": \"transport-bureau\", \"title\": \"Transport Bureau\"}");
    xsnprintf(f->org2_id, sizeof(f->org2_id), "%s", sget(o, "id"));
    json_decref(o);
    static const char *const users[][3] = {
            {"ada", "stats-bureau", "admin"},   {"ed", "stats-bureau", "editor"},
            {"mem", "stats-bureau", "member"},  {"out", "transport-bureau", "editor"},
            {"both", "stats-bureau", "editor"}, {"both", "transport-bureau", "editor"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(users); i++) {
        json_t *u = NULL;

        if (store_user_get(f->s, users[i][0], &u, NULL) &&
            access_user_add(f->s, users[i][0], NULL, NULL, false, NULL, &err))
            return -1;
        json_decref(u);
        if (access_member_set(f->s, users[i][1], users[i][0], users[i][2], &err))
            return -1;
    }
    load_actor(f, "ada", &f->admin);
    load_actor(f, "ed", &f->editor);
    load_actor(f, "mem", &f->member);
    load_actor(f, "out", &f->outsider);
    load_actor(f, "both", &f->both);
    tmp = xstrfmt("%s/ledger.key", f->dir);
    if (ledger_key_create(tmp, "portal.test/ledger", &err) || ledger_key_load(tmp, &f->key, &err) ||
        ledger_integrate(f->s, f->key, &f->lsize, &err)) {
        fprintf(stderr, "ledger: %s\n", err.msg);
        free(tmp);
        return -1;
    }
    free(tmp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    actor_release(&f->root);
    actor_release(&f->admin);
    actor_release(&f->editor);
    actor_release(&f->member);
    actor_release(&f->outsider);
    actor_release(&f->both);
    ledger_key_free(f->key);
    catalog_release(&f->c);
    store_free(f->s);
    remove_tree(f->dir);
    free(f);
    return 0;
}

static const char full_dataset[] =
        "{\"name\": \"traffic-stats\", \"title\": \"交通运输统计\", \"notes\": \"Monthly **traffic**.\","
        " \"owner_org\": \"stats-bureau\", \"author\": \"Li\", \"author_email\": \"li@example.org\","
        " \"license_id\": \"CC-BY-4.0\", \"url\": \"https://example.org\", \"version\": \"1.0\","
        " \"tags\": [{\"name\": \"transport\"}, {\"name\": \"交通\"}], \"tag_string\": \"roads,transport\","
        " \"extras\": [{\"key\": \"source\", \"value\": \"NBS\"}, {\"key\": \"a-first\", \"value\": \"x\"}],"
        " \"access_level\": \"public\", \"contact_name\": \"Data Office\","
        " \"contact_email\": \"data@example.org\", \"temporal\": \"2010-01-01/2012-12-31\","
        " \"spatial\": \"China\", \"frequency\": \"R/P1M\", \"language\": [\"zh-CN\", \"en\"],"
        " \"title_translated\": {\"en\": \"Transport statistics\", \"zh_CN\": \"交通运输统计\"},"
        " \"notes_translated\": {\"en\": \"Freight and passengers\"},"
        " \"resources\": [{\"url\": \"https://example.org/data/traffic.csv\", \"name\": \"Traffic\"}]}";

static void assert_keys(json_t *obj, const char *const *keys, size_t n)
{
    const char *k;
    json_t *v;

    for (size_t i = 0; i < n; i++)
        if (!json_object_get(obj, keys[i]))
            fail_msg("missing key \"%s\"", keys[i]);
    json_object_foreach (obj, k, v) {
        bool known = false;

        for (size_t i = 0; i < n; i++)
            known = known || !strcmp(keys[i], k);
        if (!known)
            fail_msg("unexpected key \"%s\"", k);
    }
}

static void test_create_show_shape(void **state)
{
    static const char *const pkg_keys[] = {
            "author",
            "author_email",
            "creator_user_id",
            "extras",
            "groups",
            "id",
            "isopen",
            "license_id",
            "license_title",
            "license_url",
            "maintainer",
            "maintainer_email",
            "metadata_created",
            "metadata_modified",
            "name",
            "notes",
            "num_resources",
            "num_tags",
            "organization",
            "owner_org",
            "private",
            "relationships_as_object",
            "relationships_as_subject",
            "resources",
            "state",
            "tags",
            "title",
            "type",
            "url",
            "version",
            "access_level",
            "contact_name",
            "contact_email",
            "temporal",
            "spatial",
            "frequency",
            "language",
            "title_translated",
            "notes_translated",
    };
    static const char *const res_keys[] = {
            "cache_last_updated",
            "cache_url",
            "created",
            "datastore_active",
            "description",
            "format",
            "hash",
            "id",
            "last_modified",
            "metadata_modified",
            "mimetype",
            "mimetype_inner",
            "name",
            "package_id",
            "position",
            "resource_type",
            "size",
            "state",
            "url",
            "url_type",
    };
    static const char *const org_keys[] = {"id",
                                           "name",
                                           "title",
                                           "type",
                                           "description",
                                           "image_url",
                                           "created",
                                           "is_organization",
                                           "approval_status",
                                           "state"};
    static const char *const tag_keys[] = {"display_name", "id", "name", "state", "vocabulary_id"};
    struct fixture *f = *state;
    json_t *d = ok(f, catalog_package_create, &f->editor, full_dataset), *s, *tags, *r, *p;
    char *params;

    assert_keys(d, pkg_keys, ARRAY_SIZE(pkg_keys));
    assert_string_equal(sget(d, "name"), "traffic-stats");
    assert_string_equal(sget(d, "type"), "dataset");
    assert_string_equal(sget(d, "state"), "active");
    assert_string_equal(sget(d, "owner_org"), f->org1_id);
    assert_string_equal(sget(d, "creator_user_id"), f->editor.id);
    assert_string_equal(sget(d, "license_title"), "Creative Commons Attribution 4.0");
    assert_true(json_is_true(json_object_get(d, "isopen")));
    assert_true(json_is_false(json_object_get(d, "private")));
    assert_null(sget(d, "maintainer"));
    assert_true(json_is_null(json_object_get(d, "maintainer")));
    assert_keys(json_object_get(d, "organization"), org_keys, ARRAY_SIZE(org_keys));
    assert_string_equal(sget(json_object_get(d, "organization"), "name"), "stats-bureau");
    /* tags: union of tags and tag_string, deduplicated, sorted by name */
    tags = json_object_get(d, "tags");
    assert_int_equal(json_array_size(tags), 3);
    assert_int_equal(json_integer_value(json_object_get(d, "num_tags")), 3);
    assert_string_equal(sget(json_array_get(tags, 0), "name"), "roads");
    assert_string_equal(sget(json_array_get(tags, 1), "name"), "transport");
    assert_string_equal(sget(json_array_get(tags, 2), "name"), "交通");
    assert_keys(json_array_get(tags, 0), tag_keys, ARRAY_SIZE(tag_keys));
    /* extras sorted by key */
    assert_string_equal(sget(json_array_get(json_object_get(d, "extras"), 0), "key"), "a-first");
    /* resources */
    assert_int_equal(json_integer_value(json_object_get(d, "num_resources")), 1);
    r = json_array_get(json_object_get(d, "resources"), 0);
    assert_keys(r, res_keys, ARRAY_SIZE(res_keys));
    assert_string_equal(sget(r, "format"), "CSV");
    assert_string_equal(sget(r, "url_type"), "");
    assert_string_equal(sget(r, "package_id"), sget(d, "id"));
    assert_int_equal(json_integer_value(json_object_get(r, "position")), 0);
    assert_true(json_is_false(json_object_get(r, "datastore_active")));
    assert_int_equal(json_array_size(json_object_get(d, "language")), 2);

    /* package_show by name and by id gives the same dict, to anyone (public, active). */
    s = ok(f, catalog_package_show, &f->anon, "{\"id\": \"traffic-stats\"}");
    assert_true(json_equal(s, d));
    json_decref(s);
    params = xstrfmt("{\"id\": \"%s\"}", sget(d, "id"));
    s = ok(f, catalog_package_show, &f->anon, params);
    assert_true(json_equal(s, d));
    json_decref(s);
    free(params);

    /* Title defaults to the name; no licence: no license_url, isopen false. */
    p = ok(f, catalog_package_create, &f->editor,
           "{\"name\": \"bare\", \"owner_org\": \"stats-bureau\"}");
    assert_string_equal(sget(p, "title"), "bare");
    assert_null(json_object_get(p, "license_url"));
    assert_true(json_is_false(json_object_get(p, "isopen")));
    assert_string_equal(sget(p, "access_level"), "public");
    assert_int_equal(json_array_size(json_object_get(p, "resources")), 0);
    json_decref(p);

    /* package_list: public active names. */
    p = ok(f, catalog_package_list, &f->anon, "{}");
    assert_int_equal(json_array_size(p), 2);
    assert_string_equal(json_string_value(json_array_get(p, 0)), "bare");
    json_decref(p);
    p = ok(f, catalog_package_list, &f->anon, "{\"limit\": \"1\", \"offset\": \"1\"}");
    assert_int_equal(json_array_size(p), 1);
    assert_string_equal(json_string_value(json_array_get(p, 0)), "traffic-stats");
    json_decref(p);
    fails(f, catalog_package_show, &f->anon, "{\"id\": \"nope\"}", ERR_NOT_FOUND, "id", NULL);
    fails(f, catalog_package_show, &f->anon, "{}", ERR_VALIDATION, "id", NULL);
    json_decref(d);
}

static void test_validation(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *json;
        enum err_kind kind;
        const char *field, *msg;
    } cases[] = {
            {"{\"owner_org\": \"stats-bureau\"}", ERR_VALIDATION, "name", "Missing value"},
            {"{\"name\": \"Bad Name\", \"owner_org\": \"stats-bureau\"}", ERR_VALIDATION, "name",
             "Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_"},
            {"{\"name\": \"x\", \"owner_org\": \"stats-bureau\"}", ERR_VALIDATION, "name",
             "at least 2"},
            {"{\"name\": \"new\", \"owner_org\": \"stats-bureau\"}", ERR_VALIDATION, "name", NULL},
            {"{\"name\": 5, \"owner_org\": \"stats-bureau\"}", ERR_VALIDATION, "name", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"colour\": \"red\"}",
             ERR_VALIDATION, "colour", "colour"},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"tags\": \"x\"}",
             ERR_VALIDATION, "tags", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"tags\": [\"x\"]}",
             ERR_VALIDATION, "tags", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"tags\": [{\"name\": "
             "\"a\"}]}",
             ERR_VALIDATION, "tags", "less than minimum 2"},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"tags\": [{\"name\": "
             "\"a!b\"}]}",
             ERR_VALIDATION, "tags", "-_."},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"tag_string\": "
             "\"good,b@d\"}",
             ERR_VALIDATION, "tags", "b@d"},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"private\": \"maybe\"}",
             ERR_VALIDATION, "private", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"license_id\": "
             "\"my-own\"}",
             ERR_VALIDATION, "license_id", "my-own"},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"groups\": [{\"name\": "
             "\"nosuch\"}]}",
             ERR_VALIDATION, "groups", "nosuch"},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"extras\": [{\"key\": "
             "\"k\", \"value\": \"1\"}, {\"key\": \"k\", \"value\": \"2\"}]}",
             ERR_VALIDATION, "extras", "duplicate"},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"extras\": {\"k\": "
             "\"v\"}}",
             ERR_VALIDATION, "extras", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"extras\": [{\"key\": "
             "\"title\", \"value\": \"v\"}]}",
             ERR_VALIDATION, "extras", "schema field"},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"state\": \"deleted\"}",
             ERR_VALIDATION, "state", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"access_level\": "
             "\"secret\"}",
             ERR_VALIDATION, "access_level", "secret"},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"frequency\": "
             "\"monthly\"}",
             ERR_VALIDATION, "frequency", "monthly"},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"temporal\": \"last "
             "year\"}",
             ERR_VALIDATION, "temporal", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"language\": [5]}",
             ERR_VALIDATION, "language", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"language\": \"en\"}",
             ERR_VALIDATION, "language", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"title_translated\": "
             "\"x\"}",
             ERR_VALIDATION, "title_translated", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"notes_translated\": "
             "{\"en\": 1}}",
             ERR_VALIDATION, "notes_translated", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"author_email\": \"not "
             "an email\"}",
             ERR_VALIDATION, "author_email", "not a valid format"},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"type\": \"harvest\"}",
             ERR_VALIDATION, "type", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"resources\": {}}",
             ERR_VALIDATION, "resources", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"resources\": [{\"url\": "
             "\"a\"}, {\"url\": 7}]}",
             ERR_VALIDATION, "resources", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"title\": [1]}",
             ERR_VALIDATION, "title", NULL},
            {"{\"name\": \"ok-name\"}", ERR_VALIDATION, "owner_org", NULL},
            {"{\"name\": \"ok-name\", \"owner_org\": \"no-such-org\"}", ERR_VALIDATION, "owner_org",
             "Organization does not exist"},
            {"[1, 2]", ERR_BAD_REQUEST, NULL, NULL},
    };
    json_t *d, *big;
    char *s;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        fails_(f, catalog_package_create, &f->editor, cases[i].json, cases[i].kind, cases[i].field,
               cases[i].msg, (int)i);
    /* Nothing of the failed attempts exists. */
    fails(f, catalog_package_show, &f->root, "{\"id\": \"ok-name\"}", ERR_NOT_FOUND, NULL, NULL);

    /* Accepted: Chinese tags, spaces and dots in tags, output-only fields sent back. */
    d = ok(f, catalog_package_create, &f->editor,
           "{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\", \"tags\": [{\"name\": "
           "\"交通\"}, {\"name\": \"road safety v1.0\"}], \"num_tags\": 99, \"isopen\": true, "
           "\"metadata_created\": \"1999-01-01T00:00:00\", \"id\": \"ignored\", \"private\": "
           "\"false\", \"extras\": [{\"key\": \"k\", \"value\": \"v\", \"state\": \"active\"}]}");
    assert_int_equal(json_integer_value(json_object_get(d, "num_tags")), 2);
    assert_string_not_equal(sget(d, "metadata_created"), "1999-01-01T00:00:00");
    assert_string_not_equal(sget(d, "id"), "ignored");
    json_decref(d);

    /* Duplicate name: CKAN's message. */
    fails(f, catalog_package_create, &f->editor,
          "{\"name\": \"ok-name\", \"owner_org\": \"stats-bureau\"}", ERR_CONFLICT, "name",
          "That URL is already in use.");

    /* Limits: tags per dataset, name length. */
    big = parse("{\"name\": \"many-tags\", \"owner_org\": \"stats-bureau\", \"tags\": []}");
    for (unsigned i = 0; i <= LIMIT_TAGS_PER_DATASET; i++) {
        char t[16];

        xsnprintf(t, sizeof(t), "tag%u", i);
        json_array_append_new(json_object_get(big, "tags"), json_pack("{s:s}", "name", t));
    }
    s = json_dumps(big, 0);
    fails(f, catalog_package_create, &f->editor, s, ERR_VALIDATION, "tags", NULL);
    free(s);
    json_decref(big);
    {
        char name[LIMIT_NAME_MAX + 2];

        memset(name, 'n', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        s = xstrfmt("{\"name\": \"%s\", \"owner_org\": \"stats-bureau\"}", name);
        fails(f, catalog_package_create, &f->editor, s, ERR_VALIDATION, "name", "maximum");
        free(s);
        name[LIMIT_NAME_MAX] = '\0';
        s = xstrfmt("{\"name\": \"%s\", \"owner_org\": \"stats-bureau\"}", name);
        json_decref(ok(f, catalog_package_create, &f->editor, s));
        free(s);
    }
}

static void test_update_patch(void **state)
{
    struct fixture *f = *state;
    json_t *d = ok(f, catalog_package_create, &f->editor, full_dataset), *u, *p, *r0;
    char *s, *rid;

    rid = xstrdup(sget(json_array_get(json_object_get(d, "resources"), 0), "id"));

    /* What package_show gave, sent back unchanged, is accepted and changes nothing that
     * matters (ckanapi's round trip). */
    s = json_dumps(d, 0);
    u = ok(f, catalog_package_update, &f->editor, s);
    free(s);
    assert_string_equal(sget(u, "id"), sget(d, "id"));
    assert_string_equal(sget(u, "metadata_created"), sget(d, "metadata_created"));
    r0 = json_array_get(json_object_get(u, "resources"), 0);
    assert_string_equal(sget(r0, "id"), rid);
    assert_string_equal(
            sget(r0, "metadata_modified"),
            sget(json_array_get(json_object_get(d, "resources"), 0), "metadata_modified"));
    assert_true(json_equal(json_object_get(u, "tags"), json_object_get(d, "tags")));
    json_decref(u);

    /* package_patch: only the given keys change. */
    p = ok(f, catalog_package_patch, &f->editor,
           "{\"id\": \"traffic-stats\", \"title\": \"New title\"}");
    assert_string_equal(sget(p, "title"), "New title");
    assert_string_equal(sget(p, "notes"), "Monthly **traffic**.");
    assert_int_equal(json_array_size(json_object_get(p, "resources")), 1);
    assert_string_equal(sget(json_array_get(json_object_get(p, "resources"), 0), "id"), rid);
    assert_int_equal(json_array_size(json_object_get(p, "tags")), 3);
    assert_true(strcmp(sget(p, "metadata_modified"), sget(d, "metadata_modified")) >= 0);
    json_decref(p);
    fails(f, catalog_package_patch, &f->editor, "{\"id\": \"traffic-stats\", \"private\": 3}",
          ERR_VALIDATION, "private", NULL);
    fails(f, catalog_package_patch, &f->editor, "{\"id\": \"traffic-stats\", \"bogus\": 1}",
          ERR_VALIDATION, "bogus", NULL);

    /* package_update replaces: omitted fields are cleared, and omitted resources removed
     * (CKAN 2.10 package_update; package_patch keeps them). */
    u = ok(f, catalog_package_update, &f->editor,
           "{\"id\": \"traffic-stats\", \"name\": \"traffic-stats\", \"owner_org\": "
           "\"stats-bureau\", \"title\": \"Replaced\"}");
    assert_string_equal(sget(u, "title"), "Replaced");
    assert_true(json_is_null(json_object_get(u, "notes")));
    assert_int_equal(json_array_size(json_object_get(u, "resources")), 0);
    assert_int_equal(json_array_size(json_object_get(u, "tags")), 0);
    assert_string_equal(sget(u, "id"), sget(d, "id"));
    json_decref(u);
    {
        struct err err = ERR_INIT;
        json_t *rs = NULL, *prm = json_pack("{s:s}", "id", rid);

        assert_int_equal(catalog_resource_show(&f->c, &f->anon, prm, &rs, &err), -ERR_NOT_FOUND);
        json_decref(prm);
    }

    /* Renames, and a rename onto a taken name. */
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"other\", \"owner_org\": \"stats-bureau\"}"));
    p = ok(f, catalog_package_patch, &f->editor,
           "{\"id\": \"traffic-stats\", \"name\": \"traffic-renamed\"}");
    assert_string_equal(sget(p, "name"), "traffic-renamed");
    json_decref(p);
    fails(f, catalog_package_show, &f->anon, "{\"id\": \"traffic-stats\"}", ERR_NOT_FOUND, NULL,
          NULL);
    fails(f, catalog_package_patch, &f->editor,
          "{\"id\": \"traffic-renamed\", \"name\": \"other\"}", ERR_CONFLICT, "name",
          "That URL is already in use.");
    fails(f, catalog_package_update, &f->editor, "{\"id\": \"nope\", \"name\": \"nope\"}",
          ERR_NOT_FOUND, NULL, NULL);
    fails(f, catalog_package_update, &f->editor, "{\"title\": \"x\"}", ERR_VALIDATION, "id", NULL);
    free(rid);
    json_decref(d);
}

enum expect { OK, NF, AU };

static void expect_(struct fixture *f, catalog_action_fn fn, const struct actor *a,
                    const char *params, enum expect e, int line)
{
    json_t *p = parse(params), *r = NULL;
    struct err err = ERR_INIT;
    int ret = fn(&f->c, a, p, &r, &err);
    int want = e == OK ? 0 : e == NF ? -ERR_NOT_FOUND : -ERR_AUTH;

    json_decref(p);
    json_decref(r);
    if (ret != want)
        fail_msg("line %d: actor \"%s\": expected %d, got %d (%s)", line, a->name, want, ret,
                 err.msg);
}
#define expect(f, fn, a, params, e) expect_(f, fn, a, params, e, __LINE__)

static void test_authorization(void **state)
{
    struct fixture *f = *state;
    const struct actor *who[] = {&f->anon,   &f->member, &f->outsider,
                                 &f->editor, &f->admin,  &f->root};
    /* show expectations for: public, private, draft, deleted */
    static const enum expect show[4][6] = {
            {OK, OK, OK, OK, OK, OK},
            {NF, OK, NF, OK, OK, OK},
            {NF, NF, NF, OK, OK, OK},
            {NF, NF, NF, OK, OK, OK},
    };
    /* Anonymous writes are 403 whatever the dataset (the same answer whether it exists
     * or not); signed-in users who may not read it get 404. */
    static const enum expect edit[4][6] = {
            {AU, AU, AU, OK, OK, OK},
            {AU, AU, NF, OK, OK, OK},
            {AU, NF, NF, OK, OK, OK},
            {AU, NF, NF, OK, OK, OK},
    };
    static const char *const names[] = {"pub", "priv", "drft", "gone"};
    json_t *d;

    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"pub\", \"owner_org\": \"stats-bureau\"}"));
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"priv\", \"owner_org\": \"stats-bureau\", \"private\": true}"));
    json_decref(ok(f, catalog_package_create, &f->admin,
                   "{\"name\": \"drft\", \"owner_org\": \"stats-bureau\", \"state\": \"draft\"}"));
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"gone\", \"owner_org\": \"stats-bureau\"}"));
    d = ok(f, catalog_package_delete, &f->editor, "{\"id\": \"gone\"}");
    assert_true(json_is_null(d));
    json_decref(d);

    for (size_t i = 0; i < 4; i++) {
        char *p = xstrfmt("{\"id\": \"%s\"}", names[i]);
        char *patch = xstrfmt("{\"id\": \"%s\", \"version\": \"2\"}", names[i]);

        for (size_t j = 0; j < ARRAY_SIZE(who); j++) {
            expect_(f, catalog_package_show, who[j], p, show[i][j], (int)(i * 10 + j));
            expect_(f, catalog_package_patch, who[j], patch, edit[i][j], (int)(100 + i * 10 + j));
        }
        free(p);
        free(patch);
    }
    /* package_patch on the deleted one kept it deleted. */
    d = ok(f, catalog_package_show, &f->editor, "{\"id\": \"gone\"}");
    assert_string_equal(sget(d, "state"), "deleted");
    json_decref(d);
    /* Deleting is editing. */
    expect(f, catalog_package_delete, &f->member, "{\"id\": \"pub\"}", AU);
    expect(f, catalog_package_delete, &f->anon, "{\"id\": \"pub\"}", AU);
    expect(f, catalog_package_delete, &f->outsider, "{\"id\": \"priv\"}", NF);

    /* Creating: anonymous no; a member may not publish; an editor needs an org; a
     * sysadmin may publish without one. */
    fails(f, catalog_package_create, &f->anon,
          "{\"name\": \"x1\", \"owner_org\": \"stats-bureau\"}", ERR_AUTH, NULL, NULL);
    fails(f, catalog_package_create, &f->member,
          "{\"name\": \"x1\", \"owner_org\": \"stats-bureau\"}", ERR_AUTH, NULL, NULL);
    fails(f, catalog_package_create, &f->outsider,
          "{\"name\": \"x1\", \"owner_org\": \"stats-bureau\"}", ERR_AUTH, NULL, NULL);
    fails(f, catalog_package_create, &f->editor, "{\"name\": \"x1\"}", ERR_VALIDATION, "owner_org",
          NULL);
    d = ok(f, catalog_package_create, &f->root, "{\"name\": \"x1\"}");
    assert_true(json_is_null(json_object_get(d, "owner_org")));
    assert_true(json_is_null(json_object_get(d, "organization")));
    json_decref(d);
    fails(f, catalog_package_create, &f->root, "{\"name\": \"x2\", \"private\": true}",
          ERR_VALIDATION, "private", NULL);

    /* Moving a dataset needs editor rights in both organizations. */
    fails(f, catalog_package_patch, &f->editor,
          "{\"id\": \"pub\", \"owner_org\": \"transport-bureau\"}", ERR_AUTH, NULL, NULL);
    d = ok(f, catalog_package_patch, &f->both,
           "{\"id\": \"pub\", \"owner_org\": \"transport-bureau\"}");
    assert_string_equal(sget(d, "owner_org"), f->org2_id);
    assert_string_equal(sget(json_object_get(d, "organization"), "name"), "transport-bureau");
    json_decref(d);
    expect(f, catalog_package_patch, &f->editor, "{\"id\": \"pub\", \"version\": \"3\"}", AU);
    expect(f, catalog_package_patch, &f->outsider, "{\"id\": \"pub\", \"version\": \"3\"}", OK);

    /* Lists and search never show what the actor may not read. */
    d = ok(f, catalog_package_list, &f->root, "{}");
    assert_int_equal(json_array_size(d), 2); /* pub, x1 */
    json_decref(d);
    d = ok(f, catalog_package_search, &f->anon, "{\"include_private\": true}");
    assert_int_equal(json_integer_value(json_object_get(d, "count")), 2);
    json_decref(d);
    d = ok(f, catalog_package_search, &f->member, "{\"include_private\": true}");
    assert_int_equal(json_integer_value(json_object_get(d, "count")), 3);
    json_decref(d);
    d = ok(f, catalog_package_search, &f->member, "{}");
    assert_int_equal(json_integer_value(json_object_get(d, "count")), 2);
    json_decref(d);
    d = ok(f, catalog_package_search, &f->root,
           "{\"include_private\": \"true\", \"include_drafts\": \"true\"}");
    assert_int_equal(json_integer_value(json_object_get(d, "count")), 4); /* not the deleted */
    json_decref(d);
    /* Drafts are for editors: a member asking for them still does not get them. */
    d = ok(f, catalog_package_search, &f->member,
           "{\"include_private\": true, \"include_drafts\": true}");
    assert_int_equal(json_integer_value(json_object_get(d, "count")), 3);
    json_decref(d);
    d = ok(f, catalog_package_search, &f->editor,
           "{\"include_private\": true, \"include_drafts\": true, \"q\": \"name:drft\"}");
    assert_int_equal(json_integer_value(json_object_get(d, "count")), 1);
    json_decref(d);
    fails(f, catalog_package_search, &f->editor, "{\"q\": \"draft_org:x\"}", ERR_SEARCH, NULL,
          "draft_org");
}

static json_t *search(struct fixture *f, const struct actor *a, const char *params)
{
    return ok(f, catalog_package_search, a, params);
}

static size_t search_count(struct fixture *f, const char *params)
{
    json_t *r = search(f, &f->anon, params);
    size_t n = (size_t)json_integer_value(json_object_get(r, "count"));

    assert_int_equal(json_array_size(json_object_get(r, "results")) <= n, 1);
    json_decref(r);
    return n;
}

/* The names of the results, comma-separated. */
static char *search_names(struct fixture *f, const char *params)
{
    json_t *r = search(f, &f->anon, params), *d;
    struct buf b = BUF_INIT;
    size_t i;

    json_array_foreach (json_object_get(r, "results"), i, d) {
        if (i)
            buf_addch(&b, ',');
        buf_addstr(&b, sget(d, "name"));
    }
    json_decref(r);
    return buf_detach(&b, NULL);
}

#define assert_names(f, params, want)                                                              \
    do {                                                                                           \
        char *got_ = search_names(f, params);                                                      \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

static void seed_search(struct fixture *f)
{
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"a-traffic\", \"title\": \"交通运输统计\", \"owner_org\": "
                   "\"stats-bureau\", \"license_id\": \"cc-by\", \"tags\": [{\"name\": \"交通\"}, "
                   "{\"name\": \"transport\"}], \"resources\": [{\"url\": \"http://x/a.csv\"}]}"));
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"b-air\", \"title\": \"Air Quality Monitoring 空气质量\", "
                   "\"owner_org\": \"stats-bureau\", \"tags\": [{\"name\": \"environment\"}], "
                   "\"notes\": \"Hourly PM2.5 readings\", \"resources\": [{\"url\": "
                   "\"http://x/b.json\"}]}"));
    json_decref(ok(f, catalog_package_create, &f->outsider,
                   "{\"name\": \"c-census\", \"title\": \"Population census 人口普查\", "
                   "\"owner_org\": \"transport-bureau\", \"tags\": [{\"name\": \"census\"}, "
                   "{\"name\": \"road safety\"}], \"resources\": [{\"url\": \"http://x/c.csv\"}], "
                   "\"title_translated\": {\"en\": \"Census\", \"zh_CN\": \"统计普查\"}}"));
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"d-secret\", \"title\": \"Secret transport plan\", \"owner_org\": "
                   "\"stats-bureau\", \"private\": true, \"tags\": [{\"name\": \"transport\"}]}"));
}

static void test_search(void **state)
{
    struct fixture *f = *state;
    json_t *r, *fa, *items;

    seed_search(f);
    /* Chinese: one and two characters, longer runs, non-adjacent characters. */
    assert_names(f, "{\"q\": \"交\"}", "a-traffic");
    assert_names(f, "{\"q\": \"交通\"}", "a-traffic");
    assert_names(f, "{\"q\": \"运输统计\"}", "a-traffic");
    assert_names(f, "{\"q\": \"输\"}", "a-traffic");
    assert_int_equal(search_count(f, "{\"q\": \"通统\"}"), 0); /* 通 and 统 are not adjacent */
    /* 统计 is in a title, in a title_translated, and in the title of the organization
     * of a-traffic and b-air (organization titles are indexed as text, as CKAN does). */
    assert_names(f, "{\"q\": \"统计\", \"sort\": \"name asc\"}", "a-traffic,b-air,c-census");
    assert_names(f, "{\"q\": \"统计局\", \"sort\": \"name asc\"}", "a-traffic,b-air");
    assert_names(f, "{\"q\": \"普查\"}", "c-census");
    /* English, case-folded; mixed text; notes. */
    assert_names(f, "{\"q\": \"AIR quality\"}", "b-air");
    assert_names(f, "{\"q\": \"quality 空气\"}", "b-air");
    assert_names(f, "{\"q\": \"pm2\"}", "b-air");
    assert_int_equal(search_count(f, "{\"q\": \"air census\"}"), 0);
    /* A private dataset is not found by the public, even by its words. */
    assert_names(f, "{\"q\": \"tags:transport\"}", "a-traffic");
    assert_names(f, "{\"q\": \"transport\", \"sort\": \"name asc\"}", "a-traffic,c-census");
    assert_int_equal(search_count(f, "{\"q\": \"secret\"}"), 0);
    r = search(f, &f->member, "{\"q\": \"tags:transport\", \"include_private\": true}");
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
    json_decref(r);
    r = search(f, &f->outsider, "{\"q\": \"tags:transport\", \"include_private\": true}");
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
    json_decref(r);

    /* field:value, quoted values, negation, fq, fq_list */
    assert_names(f, "{\"q\": \"tags:census\"}", "c-census");
    assert_names(f, "{\"q\": \"tags:交通\"}", "a-traffic");
    assert_names(f, "{\"q\": \"tags:\\\"road safety\\\"\"}", "c-census");
    assert_names(f, "{\"fq\": \"res_format:CSV\", \"sort\": \"name asc\"}", "a-traffic,c-census");
    assert_names(f, "{\"fq\": \"-res_format:CSV\"}", "b-air");
    assert_names(f, "{\"fq\": \"+organization:stats-bureau\", \"sort\": \"name desc\"}",
                 "b-air,a-traffic");
    assert_names(f, "{\"q\": \"统计\", \"fq\": \"-organization:stats-bureau\"}", "c-census");
    assert_names(f,
                 "{\"q\": \"统计\", \"fq\": \"organization:\\\"stats-bureau\\\"\", \"sort\": "
                 "\"name asc\"}",
                 "a-traffic,b-air");
    assert_names(f, "{\"fq_list\": [\"res_format:CSV\", \"organization:transport-bureau\"]}",
                 "c-census");
    assert_names(f, "{\"fq_list\": \"[\\\"license_id:cc-by\\\"]\"}", "a-traffic");
    assert_names(f, "{\"q\": \"*:*\", \"fq\": \"name:b-air\"}", "b-air");
    assert_names(f, "{\"q\": \"census AND tags:census\"}", "c-census");
    fails(f, catalog_package_search, &f->anon, "{\"q\": \"colour:red\"}", ERR_SEARCH, NULL,
          "colour");
    fails(f, catalog_package_search, &f->anon, "{\"fq\": \"bogus:1\"}", ERR_SEARCH, NULL, "bogus");
    assert_names(f, "{\"q\": \"-census\", \"sort\": \"name asc\"}", "a-traffic,b-air");
    fails(f, catalog_package_search, &f->anon, "{\"q\": \"tags:\\\"open\"}", ERR_SEARCH, NULL,
          NULL);

    /* Facets, with titles as display names; facet.field as a JSON string (GET). */
    r = search(f, &f->anon,
               "{\"facet.field\": [\"organization\", \"res_format\", \"tags\"], \"rows\": 0}");
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 3);
    assert_int_equal(json_array_size(json_object_get(r, "results")), 0);
    fa = json_object_get(r, "facets");
    assert_int_equal(json_integer_value(
                             json_object_get(json_object_get(fa, "organization"), "stats-bureau")),
                     2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(fa, "res_format"), "CSV")),
                     2);
    items = json_object_get(json_object_get(json_object_get(r, "search_facets"), "organization"),
                            "items");
    assert_string_equal(
            sget(json_object_get(json_object_get(r, "search_facets"), "organization"), "title"),
            "organization");
    assert_string_equal(sget(json_array_get(items, 0), "name"), "stats-bureau");
    assert_string_equal(sget(json_array_get(items, 0), "display_name"), "统计局 Statistics Bureau");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "count")), 2);
    assert_string_equal(sget(r, "sort"), "score desc, metadata_modified desc");
    json_decref(r);
    r = search(f, &f->anon, "{\"facet.field\": \"[\\\"tags\\\"]\", \"facet.limit\": \"1\"}");
    assert_int_equal(json_object_size(json_object_get(json_object_get(r, "facets"), "tags")), 1);
    json_decref(r);
    r = search(f, &f->anon, "{\"facet.field\": [\"tags\"], \"facet.limit\": -1}");
    assert_int_equal(json_object_size(json_object_get(json_object_get(r, "facets"), "tags")), 5);
    json_decref(r);
    r = search(f, &f->anon, "{}");
    assert_int_equal(json_object_size(json_object_get(r, "facets")), 0);
    assert_int_equal(json_object_size(json_object_get(r, "search_facets")), 0);
    json_decref(r);
    fails(f, catalog_package_search, &f->anon, "{\"facet.field\": [\"colour\"]}", ERR_SEARCH, NULL,
          "colour");
    fails(f, catalog_package_search, &f->anon, "{\"facet.field\": 3}", ERR_VALIDATION,
          "facet.field", NULL);

    /* rows, start, sort */
    r = search(f, &f->anon, "{\"rows\": \"1\", \"start\": \"1\", \"sort\": \"name asc\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "count")), 3);
    assert_int_equal(json_array_size(json_object_get(r, "results")), 1);
    assert_string_equal(sget(json_array_get(json_object_get(r, "results"), 0), "name"), "b-air");
    json_decref(r);
    assert_int_equal(search_count(f, "{\"rows\": 5000}"), 3); /* clamped, not refused */
    fails(f, catalog_package_search, &f->anon, "{\"rows\": -1}", ERR_VALIDATION, "rows", NULL);
    fails(f, catalog_package_search, &f->anon, "{\"rows\": \"ten\"}", ERR_VALIDATION, "rows",
          "must be an integer");
    /* Digits past 64 bits are out of range, with the range, not "not an integer". */
    fails(f, catalog_package_search, &f->anon, "{\"start\": \"18446744073709551615\"}",
          ERR_VALIDATION, "start", "\"start\" is out of range: it must be between 0 and");
    fails(f, catalog_package_search, &f->anon, "{\"rows\": \"100000000000000000000\"}",
          ERR_VALIDATION, "rows", "out of range");
    fails(f, catalog_package_search, &f->anon, "{\"rows\": \"-1\"}", ERR_VALIDATION, "rows",
          "out of range");
    fails(f, catalog_package_search, &f->anon, "{\"facet.mincount\": \"x\"}", ERR_VALIDATION,
          "facet.mincount", "must be an integer");
    /* facet.mincount drops the values counted fewer times. */
    r = search(f, &f->anon, "{\"facet.field\": [\"license_id\"], \"facet.mincount\": 1}");
    assert_true(json_object_size(json_object_get(json_object_get(r, "facets"), "license_id")) > 0);
    json_decref(r);
    r = search(f, &f->anon, "{\"facet.field\": [\"license_id\"], \"facet.mincount\": 4}");
    assert_int_equal(json_object_size(json_object_get(json_object_get(r, "facets"), "license_id")),
                     0);
    json_decref(r);
    assert_names(f, "{\"sort\": \"title asc\"}", "b-air,c-census,a-traffic");
    assert_names(f, "{\"sort\": \"metadata_created asc\"}", "a-traffic,b-air,c-census");
    assert_names(f, "{\"sort\": \"metadata_modified desc\"}", "c-census,b-air,a-traffic");
    fails(f, catalog_package_search, &f->anon, "{\"sort\": \"colour asc\"}", ERR_SEARCH, "sort",
          "colour");
    fails(f, catalog_package_search, &f->anon, "{\"sort\": \"name sideways\"}", ERR_SEARCH, "sort",
          NULL);

    /* Limits: number of terms and query length. */
    {
        struct buf q = BUF_INIT;

        buf_addstr(&q, "{\"q\": \"");
        for (unsigned i = 0; i <= LIMIT_SEARCH_TERMS; i++)
            buf_addf(&q, "w%u ", i);
        buf_addstr(&q, "\"}");
        fails(f, catalog_package_search, &f->anon, q.buf, ERR_SEARCH, "q", "terms");
        buf_reset(&q);
        buf_addstr(&q, "{\"q\": \"");
        for (unsigned i = 0; i <= LIMIT_SEARCH_QUERY; i++)
            buf_addch(&q, 'x');
        buf_addstr(&q, "\"}");
        fails(f, catalog_package_search, &f->anon, q.buf, ERR_SEARCH, "q", "longer");
        buf_release(&q);
    }
}

/* Names of a search sorted by name, q given as C text (JSON-escaped here). */
static char *q_names(struct fixture *f, const char *param, const char *q)
{
    json_t *p = json_pack("{s:s, s:s, s:i}", param, q, "sort", "name asc", "rows", 100), *r = NULL,
           *d;
    struct err err = ERR_INIT;
    struct buf b = BUF_INIT;
    size_t i;

    if (catalog_package_search(&f->c, &f->anon, p, &r, &err))
        fail_msg("%s=%s failed: %s", param, q, err.msg);
    json_array_foreach (json_object_get(r, "results"), i, d) {
        if (i)
            buf_addch(&b, ',');
        buf_addstr(&b, sget(d, "name"));
    }
    json_decref(r);
    json_decref(p);
    return buf_detach(&b, NULL);
}

#define assert_q(f, q, want)                                                                       \
    do {                                                                                           \
        char *got_ = q_names(f, "q", q);                                                           \
        if (strcmp(got_, want))                                                                    \
            fail_msg("line %d: q=%s: got \"%s\", want \"%s\"", __LINE__, q, got_, want);           \
        free(got_);                                                                                \
    } while (0)

/* The error of q (or fq) must be a Search Query Error naming the parameter. */
static void q_fails(struct fixture *f, const char *param, const char *q, const char *msg_part)
{
    json_t *p = json_pack("{s:s}", param, q), *r = NULL;
    struct err err = ERR_INIT;
    int ret = catalog_package_search(&f->c, &f->anon, p, &r, &err);

    json_decref(p);
    if (ret != -ERR_SEARCH)
        fail_msg("%s=%s: expected a search error, got %d", param, q, ret);
    assert_null(r);
    assert_string_equal(err.field, param);
    if (msg_part && !strstr(err.msg, msg_part))
        fail_msg("%s=%s: message \"%s\" lacks \"%s\"", param, q, err.msg, msg_part);
    /* A Search Query Error carries no field lists: its message names the parameter. */
    if (strncmp(err.msg, "invalid \"", 9) || strncmp(err.msg + 9, param, strlen(param)))
        fail_msg("%s=%s: message \"%s\" does not name the parameter", param, q, err.msg);
}

/* Solr syntax: OR and its grouping, NOT, parentheses, field groups, phrases (CJK too),
 * columns, boosts, errors and limits. */
static void test_search_syntax(void **state)
{
    struct fixture *f = *state;
    struct buf b = BUF_INIT;

    seed_search(f);
    /* OR, ||, between words, filters and both. */
    assert_q(f, "census OR hourly", "b-air,c-census");
    assert_q(f, "tags:census OR tags:environment", "b-air,c-census");
    assert_q(f, "tags:census || res_format:JSON", "b-air,c-census");
    assert_q(f, "hourly OR tags:census", "b-air,c-census");
    assert_q(f, "census or hourly", ""); /* lower-case "or" is a word, as in Solr */
    /* OR binds its neighbours: a b OR c is a AND (b OR c), with or without AND. */
    assert_q(f, "quality census OR population", "");
    assert_q(f, "quality AND census OR population", "");
    assert_q(f, "population census OR quality", "c-census");
    /* Parentheses regroup. */
    assert_q(f, "(quality census) OR population", "c-census");
    assert_q(f, "(quality OR census) population", "c-census");
    assert_q(f, "(air OR census) AND (hourly OR 人口)", "b-air,c-census");
    assert_q(f, "((air OR census) (hourly OR (人口 OR nothing)))", "b-air,c-census");
    assert_q(f, "()", "a-traffic,b-air,c-census");
    /* NOT, -, ! on words, filters, groups; with OR. */
    assert_q(f, "NOT census", "a-traffic,b-air");
    assert_q(f, "!census", "a-traffic,b-air");
    assert_q(f, "air -quality", "");
    assert_q(f, "-(air quality)", "a-traffic,c-census");
    assert_q(f, "-(tags:transport OR tags:census)", "b-air");
    assert_q(f, "tags:transport OR -res_format:CSV", "a-traffic,b-air");
    assert_q(f, "census OR NOT tags:census", "a-traffic,b-air,c-census");
    assert_q(f, "NOT NOT census", "c-census");
    /* field:( … ) gives its field to the bare words inside. */
    assert_q(f, "tags:(census OR environment)", "b-air,c-census");
    assert_q(f, "title:(air monitoring)", "b-air");
    assert_q(f, "notes:(hourly OR population)", "b-air");
    assert_q(f, "tags:(census OR title:交通)", "a-traffic,c-census");
    /* Phrases keep word order and adjacency, CJK runs included. */
    assert_q(f, "\"air quality\"", "b-air");
    assert_q(f, "\"quality air\"", "");
    assert_q(f, "\"quality air\"~3", "b-air"); /* proximity: all the words */
    assert_q(f, "\"运输统计\"", "a-traffic");
    assert_q(f, "\"交通统计\"", "");
    assert_q(f, "统计 交通", "a-traffic");
    assert_q(f, "\"统计交通\"", "");
    assert_q(f, "\"交\"", "a-traffic");
    assert_q(f, "\"monitoring 空气\"", "b-air");
    assert_q(f, "\"quality 空气\"", "");
    assert_q(f, "title:\"air quality\"", "b-air");
    assert_q(f, "notes:\"air quality\"", "");
    assert_q(f, "\"air quality\" OR \"population census\"", "b-air,c-census");
    /* Columns: title (with title_translated) and notes; 统计 is also in the text of the
     * organization title of a-traffic and b-air. */
    assert_q(f, "统计", "a-traffic,b-air,c-census");
    assert_q(f, "title:统计", "a-traffic,c-census");
    assert_q(f, "notes:hourly", "b-air");
    assert_q(f, "title:hourly", "");
    assert_q(f, "-title:air", "a-traffic,c-census");
    /* Boosts and fuzzy marks are dropped; escapes keep characters; *:* and type:. */
    assert_q(f, "air^2 quality", "b-air");
    assert_q(f, "census~", "c-census");
    assert_q(f, "name:c\\-census", "c-census");
    assert_q(f, "*:* OR census", "a-traffic,b-air,c-census");
    assert_q(f, "type:harvest OR census", "c-census");
    assert_q(f, "!!! OR census", "c-census"); /* a word without tokens is no term */
    assert_q(f, "census AND population", "c-census");
    assert_q(f, "*", "a-traffic,b-air,c-census");
    assert_q(f, "tags:*", "a-traffic,b-air,c-census");
    assert_q(f, "census\\*", "c-census"); /* an escaped '*' is a character */
    assert_q(f, "\"census*\"", "c-census");
    /* fq takes the same syntax and is ANDed with q. */
    {
        char *got = q_names(f, "fq", "tags:census OR tags:environment");

        assert_string_equal(got, "b-air,c-census");
        free(got);
    }

    /* Errors: Search Query Error naming the parameter. */
    q_fails(f, "q", "(air", "unbalanced parenthesis");
    q_fails(f, "q", "air)", "unbalanced parenthesis");
    q_fails(f, "q", "title:(air", "unbalanced parenthesis");
    q_fails(f, "q", "\"air", "unbalanced quote");
    q_fails(f, "q", "title:\"air", "unbalanced quote");
    q_fails(f, "fq", "(tags:census", "unbalanced parenthesis");
    q_fails(f, "fq_list", "tags:census)", "unbalanced parenthesis");
    q_fails(f, "q", "air OR", "missing term");
    q_fails(f, "q", "OR air", "missing term");
    q_fails(f, "q", "air OR OR census", "missing term");
    q_fails(f, "q", "NOT", "missing term");
    q_fails(f, "q", "(OR)", "missing term");
    q_fails(f, "q", "-)", "negate");
    q_fails(f, "q", "state:draft OR census", "state");
    q_fails(f, "q", "-(state:draft)", "state");
    q_fails(f, "q", "colour:red OR census", "colour");
    /* AND needs a term on each side; a field needs a value; '*' only stands alone. */
    q_fails(f, "q", "AND", "missing term");
    q_fails(f, "q", "census AND", "missing term");
    q_fails(f, "q", "AND census", "missing term");
    q_fails(f, "fq", "(&& census)", "missing term");
    q_fails(f, "q", "title:", "no value for field \"title\"");
    q_fails(f, "fq", "organization:", "no value for field \"organization\"");
    q_fails(f, "fq_list", "-tags:", "no value");
    q_fails(f, "q", "cens*", "wildcards");
    q_fails(f, "q", "census*", "wildcards");
    q_fails(f, "fq", "tags:cens*", "wildcards");
    /* Depth: LIMIT_SEARCH_DEPTH parentheses are fine, one more is not. */
    for (unsigned i = 0; i < LIMIT_SEARCH_DEPTH; i++)
        buf_addch(&b, '(');
    buf_addstr(&b, "census");
    for (unsigned i = 0; i < LIMIT_SEARCH_DEPTH; i++)
        buf_addch(&b, ')');
    assert_q(f, b.buf, "c-census");
    buf_reset(&b);
    for (unsigned i = 0; i <= LIMIT_SEARCH_DEPTH; i++)
        buf_addch(&b, '(');
    buf_addstr(&b, "census");
    for (unsigned i = 0; i <= LIMIT_SEARCH_DEPTH; i++)
        buf_addch(&b, ')');
    q_fails(f, "q", b.buf, "nested");
    /* Distributing OR over groups may not exceed LIMIT_SEARCH_TERMS terms. */
    q_fails(f, "q", "(a b c d e f) OR (g h i j k l)", "terms");
    assert_q(f, "(a b) OR (c d)", "");
    buf_release(&b);
}

static void expect_tokens(const char *text, const char *want)
{
    struct buf b = BUF_INIT;

    catalog_search_text(text, &b);
    assert_string_equal(b.buf, want);
    buf_release(&b);
}

static void test_search_text(void **state)
{
    (void)state;
    expect_tokens("Hello, World", "hello world");
    expect_tokens("交通运输", "交 交通 通 通运 运 运输 输");
    expect_tokens("交", "交");
    expect_tokens("GDP增长2023年", "gdp 增 增长 长 2023 年");
    expect_tokens("交通、运输", "交 交通 通 运 运输 输");
    expect_tokens("Café ÉTÉ", "café été");
    expect_tokens("ＡＢＣ１２３", "abc123");
    expect_tokens("МОСКВА", "москва");
    /* Runs of ASCII letters and digits (taken in one go) next to capitals, other letters
     * and CJK characters. */
    expect_tokens("harbour ROAD Depot9 x", "harbour road depot9 x");
    expect_tokens("abcé abcÉ Éabc", "abcé abcé éabc");
    expect_tokens("ab清河cd", "ab 清 清河 河 cd");
    expect_tokens("PM2.5 (µg/m³)", "pm2 5 µg m");
    expect_tokens("", "");
    expect_tokens("\xff\xfe bad \xe4\xba", "bad");
    expect_tokens("㐀㐁 丽", "㐀 㐀㐁 㐁 丽");
}

/* Writes a temporary upload file under files/tmp and fills up. */
static void make_upload(struct fixture *f, const char *name, const char *content, struct upload *up,
                        char *path, size_t size)
{
    uint8_t h[SHA256_LEN];
    FILE *fp;
    static int n;

    xsnprintf(path, size, "%s/tmp/up-%d", f->files, n++);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
    sha256(content, strlen(content), h);
    memset(up, 0, sizeof(*up));
    up->tmp_path = path;
    up->filename = name;
    up->content_type = "application/x-whatever";
    up->size = strlen(content);
    hex_encode(h, SHA256_LEN, up->sha256_hex);
}

static int count_files(const char *dir)
{
    struct dirent *e;
    DIR *d = opendir(dir);
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_resources(void **state)
{
    struct fixture *f = *state;
    json_t *d, *r, *p, *res = NULL, *shown;
    struct err err = ERR_INIT;
    struct upload up;
    struct resource_file rf;
    char path[256], *cas, *dir, *tmpdir, *s, *rid;
    const char *csv = "city,count\n北京,3\n";

    d = ok(f, catalog_package_create, &f->editor,
           "{\"name\": \"res-test\", \"owner_org\": \"stats-bureau\"}");

    /* A link. */
    p = json_pack("{s:s, s:s, s:s}", "package_id", "res-test", "url",
                  "https://example.org/files/report.xlsx?x=1", "name", "Report");
    assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, NULL, &r, &err), 0);
    json_decref(p);
    assert_string_equal(sget(r, "format"), "XLSX");
    assert_string_equal(sget(r, "url_type"), "");
    assert_int_equal(json_integer_value(json_object_get(r, "position")), 0);
    assert_string_equal(sget(r, "package_id"), sget(d, "id"));
    rid = xstrdup(sget(r, "id"));
    json_decref(r);
    s = xstrfmt("{\"id\": \"%s\"}", rid);
    shown = ok(f, catalog_resource_show, &f->anon, s);
    assert_string_equal(sget(shown, "name"), "Report");
    json_decref(shown);
    shown = ok(f, catalog_package_show, &f->anon, "{\"id\": \"res-test\"}");
    assert_int_equal(json_integer_value(json_object_get(shown, "num_resources")), 1);
    assert_true(strcmp(sget(shown, "metadata_modified"), sget(d, "metadata_modified")) >= 0);
    json_decref(shown);

    /* Downloads resolve only uploads. */
    assert_int_equal(catalog_resource_file(&f->c, &f->anon, "res-test", rid, &rf, &err),
                     -ERR_NOT_FOUND);
    err_clear(&err);

    /* An upload moves to its content address. */
    make_upload(f, "../../报表 2023.csv", csv, &up, path, sizeof(path));
    p = json_pack("{s:s}", "package_id", sget(d, "id"));
    assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, &up, &r, &err), 0);
    json_decref(p);
    assert_int_equal(access(path, F_OK), -1);
    cas = xstrfmt("%s/%.2s/%s", f->files, up.sha256_hex, up.sha256_hex + 2);
    assert_int_equal(access(cas, R_OK), 0);
    assert_string_equal(sget(r, "url_type"), "upload");
    assert_string_equal(sget(r, "format"), "CSV");
    assert_string_equal(sget(r, "mimetype"), "text/csv");
    assert_true(starts_with(sget(r, "hash"), "sha256:"));
    assert_string_equal(sget(r, "hash") + 7, up.sha256_hex);
    assert_int_equal(json_integer_value(json_object_get(r, "size")), (json_int_t)strlen(csv));
    s = (free(s), xstrfmt("http://portal.test/dataset/%s/resource/%s/download/"
                          "%%E6%%8A%%A5%%E8%%A1%%A8_2023.csv",
                          sget(d, "id"), sget(r, "id")));
    assert_string_equal(sget(r, "url"), s);
    assert_int_equal(json_integer_value(json_object_get(r, "position")), 1);
    assert_int_equal(catalog_resource_file(&f->c, &f->anon, "res-test", sget(r, "id"), &rf, &err),
                     0);
    assert_string_equal(rf.path, cas);
    assert_string_equal(rf.filename, "报表_2023.csv");
    assert_string_equal(rf.mimetype, "text/csv");
    assert_int_equal(rf.size, strlen(csv));
    resource_file_release(&rf);
    res = r;

    /* The same content again: stored once, the temporary file dropped. */
    make_upload(f, "again.csv", csv, &up, path, sizeof(path));
    p = json_pack("{s:s, s:s}", "package_id", "res-test", "format", "text");
    assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, &up, &r, &err), 0);
    json_decref(p);
    assert_string_equal(sget(r, "format"), "text"); /* the client's format wins */
    assert_int_equal(access(path, F_OK), -1);
    dir = xstrfmt("%s/%.2s", f->files, up.sha256_hex);
    assert_int_equal(count_files(dir), 1);
    tmpdir = xstrfmt("%s/tmp", f->files);
    assert_int_equal(count_files(tmpdir), 0);
    json_decref(r);

    /* resource_update: fields change, the upload stays unless a new url is given. */
    s = (free(s),
         xstrfmt("{\"id\": \"%s\", \"description\": \"Counts by city\"}", sget(res, "id")));
    p = parse(s);
    assert_int_equal(catalog_resource_update(&f->c, &f->editor, p, NULL, &r, &err), 0);
    json_decref(p);
    assert_string_equal(sget(r, "description"), "Counts by city");
    assert_string_equal(sget(r, "url_type"), "upload");
    assert_string_equal(sget(r, "url"), sget(res, "url"));
    json_decref(r);
    p = parse(s);
    assert_int_equal(catalog_resource_update(&f->c, &f->member, p, NULL, &r, &err), -ERR_AUTH);
    err_clear(&err);
    assert_int_equal(catalog_resource_update(&f->c, &f->anon, p, NULL, &r, &err), -ERR_AUTH);
    err_clear(&err);
    json_decref(p);
    /* An upload refused for lack of rights leaves no temporary file behind. */
    make_upload(f, "x.csv", "a,b\n", &up, path, sizeof(path));
    p = json_pack("{s:s}", "package_id", "res-test");
    assert_int_equal(catalog_resource_create(&f->c, &f->member, p, &up, &r, &err), -ERR_AUTH);
    err_clear(&err);
    json_decref(p);
    assert_int_equal(access(path, F_OK), -1);

    /* resource_delete */
    s = (free(s), xstrfmt("{\"id\": \"%s\"}", rid));
    fails(f, catalog_resource_delete, &f->member, s, ERR_AUTH, NULL, NULL);
    r = ok(f, catalog_resource_delete, &f->editor, s);
    assert_true(json_is_null(r));
    json_decref(r);
    fails(f, catalog_resource_show, &f->anon, s, ERR_NOT_FOUND, "id", NULL);
    shown = ok(f, catalog_package_show, &f->anon, "{\"id\": \"res-test\"}");
    assert_int_equal(json_integer_value(json_object_get(shown, "num_resources")), 2);
    assert_int_equal(json_integer_value(json_object_get(
                             json_array_get(json_object_get(shown, "resources"), 0), "position")),
                     0);
    json_decref(shown);

    /* Resources of a private dataset are invisible to the public. */
    json_decref(
            ok(f, catalog_package_patch, &f->editor, "{\"id\": \"res-test\", \"private\": true}"));
    s = (free(s), xstrfmt("{\"id\": \"%s\"}", sget(res, "id")));
    fails(f, catalog_resource_show, &f->anon, s, ERR_NOT_FOUND, NULL, NULL);
    json_decref(ok(f, catalog_resource_show, &f->member, s));
    assert_int_equal(catalog_resource_file(&f->c, &f->anon, "res-test", sget(res, "id"), &rf, &err),
                     -ERR_NOT_FOUND);
    err_clear(&err);
    p = parse("{\"url\": \"http://x\"}");
    assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, NULL, &r, &err),
                     -ERR_VALIDATION);
    assert_string_equal(err.field, "package_id");
    err_clear(&err);
    json_decref(p);

    json_decref(res);
    json_decref(d);
    free(s);
    free(rid);
    free(cas);
    free(dir);
    free(tmpdir);
}

/* Resource urls that would run script or read local files in a reader's browser are
 * refused, however their scheme is spelled; http, https, ftp and relative urls stay. */
static void test_resource_url_schemes(void **state)
{
    static const char *const bad[] = {
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " \t\njavascript:alert(1)",
            "\x01javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "DATA:text/html;base64,PHNjcmlwdD4=",
            "file:///etc/passwd",
            "vbscript:msgbox(1)",
            "VBScript:msgbox(1)",
            "a-very-long-made-up-scheme-name:x",
    };
    static const char *const good[] = {
            "",
            "http://example.org/a.csv",
            "HTTPS://example.org/a.csv",
            " https://example.org/b.csv",
            "ftp://ftp.example.org/c.csv",
            "data/d.csv",
            "/files/e.csv",
            "f.csv?x=a:b",
            "g/h:i.csv",
            "#j",
    };
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    json_t *p, *r = NULL, *d;
    char *s;

    d = ok(f, catalog_package_create, &f->editor,
           "{\"name\": \"url-schemes\", \"owner_org\": \"stats-bureau\"}");
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        p = json_pack("{s:s, s:s}", "package_id", "url-schemes", "url", bad[i]);
        assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, NULL, &r, &err),
                         -ERR_VALIDATION);
        assert_string_equal(err.field, "url");
        err_clear(&err);
        json_decref(p);
        /* package_create and package_update carry resources through the same check. */
        p = json_pack("{s:s, s:s, s:[{s:s}]}", "name", "url-schemes-2", "owner_org", "stats-bureau",
                      "resources", "url", bad[i]);
        assert_int_equal(catalog_package_create(&f->c, &f->editor, p, &r, &err), -ERR_VALIDATION);
        assert_string_equal(err.field, "resources"); /* CKAN lists resource errors there */
        assert_non_null(strstr(err.msg, "\"url\""));
        err_clear(&err);
        json_decref(p);
    }
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        p = json_pack("{s:s, s:s}", "package_id", "url-schemes", "url", good[i]);
        assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, NULL, &r, &err), 0);
        json_decref(p);
        /* An existing resource cannot be turned into a bad one either. */
        s = xstrfmt("{\"id\": \"%s\", \"url\": \"javascript:alert(1)\"}", sget(r, "id"));
        json_decref(r);
        r = NULL;
        p = parse(s);
        assert_int_equal(catalog_resource_update(&f->c, &f->editor, p, NULL, &r, &err),
                         -ERR_VALIDATION);
        assert_string_equal(err.field, "url");
        err_clear(&err);
        json_decref(p);
        free(s);
    }
    json_decref(d);
}

/* An upload sets last_modified to the upload time (CKAN's rule), on resource_create and
 * on resource_update with a file; an update without a file keeps it. */
static void test_upload_last_modified(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    struct upload up;
    json_t *p, *r = NULL, *d;
    char path[256], *first, *s;

    d = ok(f, catalog_package_create, &f->editor,
           "{\"name\": \"last-mod\", \"owner_org\": \"stats-bureau\"}");
    make_upload(f, "a.csv", "a,b\n1,2\n", &up, path, sizeof(path));
    p = json_pack("{s:s}", "package_id", "last-mod");
    assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, &up, &r, &err), 0);
    json_decref(p);
    assert_true(json_is_string(json_object_get(r, "last_modified")));
    assert_string_equal(sget(r, "last_modified"), sget(r, "metadata_modified"));
    first = xstrdup(sget(r, "last_modified"));

    /* Without a file: the upload time stays. */
    s = xstrfmt("{\"id\": \"%s\", \"description\": \"new words\"}", sget(r, "id"));
    json_decref(r);
    r = NULL;
    p = parse(s);
    assert_int_equal(catalog_resource_update(&f->c, &f->editor, p, NULL, &r, &err), 0);
    json_decref(p);
    assert_string_equal(sget(r, "last_modified"), first);

    /* With a new file: a new upload time. */
    free(s);
    s = xstrfmt("{\"id\": \"%s\"}", sget(r, "id"));
    json_decref(r);
    r = NULL;
    usleep(2000);
    make_upload(f, "b.csv", "a,b\n3,4\n", &up, path, sizeof(path));
    p = parse(s);
    assert_int_equal(catalog_resource_update(&f->c, &f->editor, p, &up, &r, &err), 0);
    json_decref(p);
    assert_true(json_is_string(json_object_get(r, "last_modified")));
    assert_true(strcmp(sget(r, "last_modified"), first) > 0);
    assert_string_equal(sget(r, "last_modified"), sget(r, "metadata_modified"));

    json_decref(r);
    json_decref(d);
    free(first);
    free(s);
}

/* The resource of a package dict with this id, borrowed. */
static json_t *resource_in(json_t *doc, const char *rid)
{
    json_t *r;
    size_t i;

    json_array_foreach (json_object_get(doc, "resources"), i, r) {
        if (!strcmp(sget(r, "id"), rid))
            return r;
    }
    fail_msg("resource %s not in the dataset", rid);
    return NULL;
}

/* Upload urls are stored without the site: two catalogs with different site_url over
 * one store each show their own absolute url, on every output path; a url sent back
 * unchanged keeps the upload, another one makes a link. */
static void test_upload_urls(void **state)
{
    struct fixture *f = *state;
    struct fixture f2 = *f; /* the same store, another site */
    json_t *d, *r, *p, *shown, *raw = NULL, *res;
    struct err err = ERR_INIT;
    struct upload up;
    struct resource_file rf;
    char path[256], *want1, *want2, *s, *did, *rid;
    const char *csv = "a,b\n1,2\n";

    catalog_init(&f2.c, f->s, f->files, "https://data.example.gov.cn/");
    json_decref(ok(f, catalog_group_create, &f->root, "{\"name\": \"uploads-group\"}"));
    d = ok(f, catalog_package_create, &f->editor,
           "{\"name\": \"url-test\", \"owner_org\": \"stats-bureau\", \"groups\": [{\"name\": "
           "\"uploads-group\"}]}");
    did = xstrdup(sget(d, "id"));
    json_decref(d);
    make_upload(f, "统计 report.csv", csv, &up, path, sizeof(path));
    p = json_pack("{s:s}", "package_id", did);
    assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, &up, &r, &err), 0);
    json_decref(p);
    rid = xstrdup(sget(r, "id"));
    want1 = xstrfmt("http://portal.test/dataset/%s/resource/%s/download/"
                    "%%E7%%BB%%9F%%E8%%AE%%A1_report.csv",
                    did, rid);
    want2 = xstrfmt("https://data.example.gov.cn/dataset/%s/resource/%s/download/"
                    "%%E7%%BB%%9F%%E8%%AE%%A1_report.csv",
                    did, rid);
    assert_string_equal(sget(r, "url"), want1);
    json_decref(r);

    /* Stored: the file name only. */
    assert_int_equal(store_dataset_get(f->s, did, &raw, &err), 0);
    assert_string_equal(sget(resource_in(raw, rid), "url"), "统计_report.csv");
    json_decref(raw);
    raw = NULL;

    /* Each catalog shows its own site, on every path that returns resources. */
    for (int i = 0; i < 2; i++) {
        struct fixture *fx = i ? &f2 : f;
        const char *want = i ? want2 : want1;

        s = xstrfmt("{\"id\": \"%s\"}", rid);
        r = ok(fx, catalog_resource_show, &f->anon, s);
        free(s);
        assert_string_equal(sget(r, "url"), want);
        assert_string_equal(sget(r, "url_type"), "upload");
        json_decref(r);
        shown = ok(fx, catalog_package_show, &f->anon, "{\"id\": \"url-test\"}");
        assert_string_equal(sget(resource_in(shown, rid), "url"), want);
        json_decref(shown);
        shown = ok(fx, catalog_package_search, &f->anon, "{\"q\": \"name:url-test\"}");
        assert_int_equal(json_array_size(json_object_get(shown, "results")), 1);
        assert_string_equal(
                sget(resource_in(json_array_get(json_object_get(shown, "results"), 0), rid), "url"),
                want);
        json_decref(shown);
        shown = ok(fx, catalog_organization_show, &f->anon,
                   "{\"id\": \"stats-bureau\", \"include_datasets\": true}");
        assert_int_equal(json_array_size(json_object_get(shown, "packages")), 1);
        assert_string_equal(
                sget(resource_in(json_array_get(json_object_get(shown, "packages"), 0), rid),
                     "url"),
                want);
        json_decref(shown);
        shown = ok(fx, catalog_group_show, &f->anon,
                   "{\"id\": \"uploads-group\", \"include_datasets\": true}");
        assert_string_equal(
                sget(resource_in(json_array_get(json_object_get(shown, "packages"), 0), rid),
                     "url"),
                want);
        json_decref(shown);
    }

    /* package_show -> package_update on the other site, as ckanapi does: still an
     * upload, still downloadable, and each site still shows its own url. */
    shown = ok(&f2, catalog_package_show, &f->editor, "{\"id\": \"url-test\"}");
    json_object_set_new(shown, "notes", json_string("round trip"));
    assert_int_equal(catalog_package_update(&f2.c, &f->editor, shown, &d, &err), 0);
    json_decref(shown);
    res = resource_in(d, rid);
    assert_string_equal(sget(res, "url_type"), "upload");
    assert_string_equal(sget(res, "url"), want2);
    assert_string_equal(sget(res, "hash") + 7, up.sha256_hex);
    json_decref(d);
    shown = ok(f, catalog_package_show, &f->anon, "{\"id\": \"url-test\"}");
    assert_string_equal(sget(shown, "notes"), "round trip");
    assert_string_equal(sget(resource_in(shown, rid), "url"), want1);
    json_decref(shown);
    assert_int_equal(catalog_resource_file(&f->c, &f->anon, "url-test", rid, &rf, &err), 0);
    assert_string_equal(rf.filename, "统计_report.csv");
    assert_int_equal(rf.size, strlen(csv));
    resource_file_release(&rf);

    /* package_patch with the resources as shown, and resource_update with the url as
     * shown, keep the upload too. */
    shown = ok(f, catalog_package_show, &f->editor, "{\"id\": \"url-test\"}");
    p = json_pack("{s:s, s:O}", "id", "url-test", "resources", json_object_get(shown, "resources"));
    assert_int_equal(catalog_package_patch(&f->c, &f->editor, p, &d, &err), 0);
    json_decref(p);
    assert_string_equal(sget(resource_in(d, rid), "url_type"), "upload");
    json_decref(d);
    json_decref(shown);
    p = json_pack("{s:s, s:s, s:s}", "id", rid, "url", want2, "name", "Renamed");
    assert_int_equal(catalog_resource_update(&f2.c, &f->editor, p, NULL, &r, &err), 0);
    json_decref(p);
    assert_string_equal(sget(r, "url_type"), "upload");
    assert_string_equal(sget(r, "url"), want2);
    assert_string_equal(sget(r, "name"), "Renamed");
    json_decref(r);

    /* An old portal stored the absolute url of its own site: shown under this site,
     * downloadable, and rewritten to the file name when sent back. */
    assert_int_equal(store_dataset_get(f->s, did, &raw, &err), 0);
    s = xstrfmt("http://127.0.0.1:8080/dataset/%s/resource/%s/download/"
                "%%E7%%BB%%9F%%E8%%AE%%A1_report.csv",
                did, rid);
    json_object_set_new(resource_in(raw, rid), "url", json_string(s));
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(dataset_write(&f->c, raw, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    r = ok(&f2, catalog_package_show, &f->anon, "{\"id\": \"url-test\"}");
    assert_string_equal(sget(resource_in(r, rid), "url"), want2);
    json_decref(r);
    assert_int_equal(catalog_resource_file(&f->c, &f->anon, "url-test", rid, &rf, &err), 0);
    assert_string_equal(rf.filename, "统计_report.csv");
    resource_file_release(&rf);
    p = json_pack("{s:s, s:s}", "id", rid, "url", s);
    assert_int_equal(catalog_resource_update(&f->c, &f->editor, p, NULL, &r, &err), 0);
    json_decref(p);
    assert_string_equal(sget(r, "url"), want1);
    json_decref(r);
    json_decref(raw);
    raw = NULL;
    assert_int_equal(store_dataset_get(f->s, did, &raw, &err), 0);
    assert_string_equal(sget(resource_in(raw, rid), "url"), "统计_report.csv");
    json_decref(raw);
    free(s);

    /* Another url makes it a link: no download any more. */
    p = json_pack("{s:s, s:s}", "id", rid, "url", "https://elsewhere.example.org/report.csv");
    assert_int_equal(catalog_resource_update(&f2.c, &f->editor, p, NULL, &r, &err), 0);
    json_decref(p);
    assert_string_equal(sget(r, "url_type"), "");
    assert_string_equal(sget(r, "url"), "https://elsewhere.example.org/report.csv");
    json_decref(r);
    assert_int_equal(catalog_resource_file(&f->c, &f->anon, "url-test", rid, &rf, &err),
                     -ERR_NOT_FOUND);
    err_clear(&err);

    catalog_release(&f2.c);
    free(want1);
    free(want2);
    free(did);
    free(rid);
}

/* Every entry under dir, recursively, one path a line, each directory's sorted by name. */
static void list_tree(const char *dir, struct buf *out)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);

    for (int i = 0; i < n; i++) {
        char *p = xstrfmt("%s/%s", dir, names[i]->d_name);
        struct stat st;

        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
            buf_addf(out, "%s\n", p);
            if (!lstat(p, &st) && S_ISDIR(st.st_mode))
                list_tree(p, out);
        }
        free(p);
        free(names[i]);
    }
    free(names);
}

/* resource_create / resource_update with an upload that fail at their Nth store call
 * leave files/ as it was: the file they moved there is removed, unless it existed before
 * (another resource uses it), and files/tmp is empty. */
static void test_upload_rollback(void **state)
{
    struct fixture *f = *state;
    struct store *s2 = NULL;
    struct catalog c2;
    struct err err = ERR_INIT;
    struct upload up;
    char path[256], *tmpdir = xstrfmt("%s/tmp", f->files), *cas, *rid;
    json_t *d, *r, *before, *after, *p;
    int n, ret;

    d = ok(f, catalog_package_create, &f->editor,
           "{\"name\": \"fail-upload\", \"owner_org\": \"stats-bureau\"}");
    json_decref(d);
    /* A resource whose content is there before, and must stay. */
    make_upload(f, "kept.csv", "kept,1\n", &up, path, sizeof(path));
    p = json_pack("{s:s}", "package_id", "fail-upload");
    assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, &up, &r, &err), 0);
    json_decref(p);
    rid = xstrdup(sget(r, "id"));
    json_decref(r);
    cas = xstrfmt("%s/%.2s/%s", f->files, up.sha256_hex, up.sha256_hex + 2);

    for (int kind = 0; kind < 4; kind++) {
        /* 0: create, new content; 1: create, content there already; 2: update, new
         * content; 3: update, content there already. */
        bool existing = kind & 1, update = kind & 2;
        const char *content = existing ? "kept,1\n" : update ? "upd,2\n" : "new,1\n";

        ret = -1;
        for (n = 1; n < 20 && ret; n++) {
            struct buf tree0 = BUF_INIT, tree1 = BUF_INIT;
            char num[16];

            xsnprintf(num, sizeof(num), "%d", n);
            setenv("KAIFANG_FAIL_STORE_AT", num, 1);
            assert_int_equal(store_open(&s2, f->db, false, &err), 0);
            unsetenv("KAIFANG_FAIL_STORE_AT");
            store_fail_count_reset();
            catalog_init(&c2, s2, f->files, "http://portal.test");
            before = ok(f, catalog_package_show, &f->root, "{\"id\": \"fail-upload\"}");
            list_tree(f->files, &tree0);
            make_upload(f, "new.csv", content, &up, path, sizeof(path));
            p = update ? json_pack("{s:s}", "id", rid)
                       : json_pack("{s:s}", "package_id", "fail-upload");
            err_clear(&err);
            r = NULL;
            ret = update ? catalog_resource_update(&c2, &f->editor, p, &up, &r, &err)
                         : catalog_resource_create(&c2, &f->editor, p, &up, &r, &err);
            json_decref(p);
            assert_int_equal(access(path, F_OK), -1);
            assert_int_equal(count_files(tmpdir), 0);
            if (ret) {
                assert_int_equal(ret, -ERR_INTERNAL);
                assert_null(r);
                list_tree(f->files, &tree1);
                assert_string_equal(tree1.buf, tree0.buf);
                after = ok(f, catalog_package_show, &f->root, "{\"id\": \"fail-upload\"}");
                assert_true(json_equal(before, after));
                json_decref(after);
            } else {
                assert_string_equal(sget(r, "url_type"), "upload");
                assert_string_equal(sget(r, "hash") + 7, up.sha256_hex);
                json_decref(r);
            }
            /* The file of the resource made first is never taken away. */
            assert_int_equal(access(cas, R_OK), 0);
            json_decref(before);
            buf_release(&tree0);
            buf_release(&tree1);
            catalog_release(&c2);
            store_free(s2);
            s2 = NULL;
        }
        assert_int_equal(ret, 0);
        assert_true(n > 2); /* at least one injected failure happened */
    }
    free(tmpdir);
    free(cas);
    free(rid);
}

static void test_groups_orgs_tags(void **state)
{
    struct fixture *f = *state;
    json_t *r, *g;

    fails(f, catalog_organization_create, &f->admin, "{\"name\": \"new-org\"}", ERR_AUTH, NULL,
          NULL);
    fails(f, catalog_organization_create, &f->root, "{\"name\": \"stats-bureau\"}", ERR_CONFLICT,
          "name", NULL);
    fails(f, catalog_organization_create, &f->root, "{\"name\": \"Bad Org\"}", ERR_VALIDATION,
          "name", NULL);
    fails(f, catalog_organization_create, &f->root, "{\"name\": \"org-x\", \"colour\": 1}",
          ERR_VALIDATION, "colour", NULL);
    g = ok(f, catalog_group_create, &f->root,
           "{\"name\": \"economy\", \"title\": \"经济 Economy\", \"description\": \"Money\"}");
    assert_string_equal(sget(g, "type"), "group");
    assert_true(json_is_false(json_object_get(g, "is_organization")));
    json_decref(g);
    fails(f, catalog_group_create, &f->editor, "{\"name\": \"g2\"}", ERR_AUTH, NULL, NULL);
    /* One namespace for groups and organizations, as CKAN's single table. */
    fails(f, catalog_group_create, &f->root, "{\"name\": \"stats-bureau\"}", ERR_CONFLICT, "name",
          NULL);
    fails(f, catalog_organization_create, &f->root, "{\"name\": \"economy\"}", ERR_CONFLICT, "name",
          NULL);

    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"gdp\", \"owner_org\": \"stats-bureau\", \"groups\": [{\"name\": "
                   "\"economy\"}, {\"name\": \"economy\"}], \"tags\": [{\"name\": \"economy\"}, "
                   "{\"name\": \"gdp\"}]}"));
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"hidden\", \"owner_org\": \"stats-bureau\", \"private\": true, "
                   "\"tags\": [{\"name\": \"gossip\"}]}"));
    r = ok(f, catalog_package_show, &f->anon, "{\"id\": \"gdp\"}");
    assert_int_equal(json_array_size(json_object_get(r, "groups")), 1);
    assert_string_equal(sget(json_array_get(json_object_get(r, "groups"), 0), "display_name"),
                        "经济 Economy");
    json_decref(r);

    r = ok(f, catalog_group_show, &f->anon, "{\"id\": \"economy\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "package_count")), 1);
    assert_null(json_object_get(r, "packages"));
    json_decref(r);
    r = ok(f, catalog_organization_show, &f->anon,
           "{\"id\": \"stats-bureau\", \"include_datasets\": \"true\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "package_count")), 1);
    assert_int_equal(json_array_size(json_object_get(r, "packages")), 1);
    assert_true(json_is_true(json_object_get(r, "is_organization")));
    json_decref(r);
    r = ok(f, catalog_organization_show, &f->member,
           "{\"id\": \"stats-bureau\", \"include_datasets\": true}");
    assert_int_equal(json_integer_value(json_object_get(r, "package_count")), 2);
    json_decref(r);
    fails(f, catalog_organization_show, &f->anon, "{\"id\": \"economy\"}", ERR_NOT_FOUND, "id",
          NULL);
    fails(f, catalog_group_show, &f->anon, "{\"id\": \"stats-bureau\"}", ERR_NOT_FOUND, "id", NULL);

    r = ok(f, catalog_organization_list, &f->anon, "{}");
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(json_string_value(json_array_get(r, 0)), "stats-bureau");
    json_decref(r);
    r = ok(f, catalog_organization_list, &f->anon,
           "{\"all_fields\": true, \"sort\": \"title asc\"}");
    assert_string_equal(sget(json_array_get(r, 0), "name"), "transport-bureau");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 1), "package_count")), 1);
    json_decref(r);
    r = ok(f, catalog_organization_list, &f->anon,
           "{\"sort\": \"package_count asc\", \"limit\": 1, \"offset\": 0}");
    assert_int_equal(json_array_size(r), 1);
    assert_string_equal(json_string_value(json_array_get(r, 0)), "transport-bureau");
    json_decref(r);
    r = ok(f, catalog_organization_list, &f->anon, "{\"offset\": 5}");
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
    fails(f, catalog_organization_list, &f->anon, "{\"sort\": \"colour asc\"}", ERR_VALIDATION,
          "sort", NULL);
    r = ok(f, catalog_group_list, &f->anon, "{}");
    assert_int_equal(json_array_size(r), 1);
    assert_string_equal(json_string_value(json_array_get(r, 0)), "economy");
    json_decref(r);

    /* tag_list: tags of public datasets only. */
    r = ok(f, catalog_tag_list, &f->anon, "{}");
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(json_string_value(json_array_get(r, 0)), "economy");
    json_decref(r);
    r = ok(f, catalog_tag_list, &f->anon, "{\"query\": \"gd\", \"all_fields\": true}");
    assert_int_equal(json_array_size(r), 1);
    assert_string_equal(sget(json_array_get(r, 0), "name"), "gdp");
    json_decref(r);

    /* license_list, status_show */
    r = ok(f, catalog_license_list, &f->anon, "{}");
    {
        static const char *const lic_keys[] = {
                "id",
                "title",
                "url",
                "status",
                "maintainer",
                "family",
                "domain_content",
                "domain_data",
                "domain_software",
                "od_conformance",
                "osd_conformance",
                "is_generic",
                "is_okd_compliant",
                "is_osi_compliant",
        };
        static const char *const want[] = {
                "CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0",  "ODbL-1.0",     "ODC-BY-1.0",
                "PDDL-1.0",  "OGL-UK-3.0",   "GFDL-1.3", "notspecified", "other-open",
                "other-pd",  "other-at",     "other-nc", "other-closed", "cc-by",
                "cc-by-sa",  "cc-zero",      "odc-odbl", "odc-by",       "odc-pddl",
                "uk-ogl",    "cc-nc",        "gfdl",
        };
        json_t *l;
        size_t i;

        assert_int_equal(json_array_size(r), ARRAY_SIZE(want));
        json_array_foreach (r, i, l) {
            assert_keys(l, lic_keys, ARRAY_SIZE(lic_keys));
        }
        for (i = 0; i < ARRAY_SIZE(want); i++) {
            bool found = false;

            for (size_t j = 0; j < json_array_size(r); j++)
                found = found || !strcmp(sget(json_array_get(r, j), "id"), want[i]);
            assert_true(found);
        }
    }
    json_decref(r);
    r = ok(f, catalog_status_show, &f->anon, "{}");
    assert_string_equal(sget(r, "ckan_version"), "2.10.0");
    assert_string_equal(sget(r, "site_url"), "http://portal.test");
    assert_string_equal(sget(r, "locale_default"), "zh_CN");
    assert_true(json_is_array(json_object_get(r, "extensions")));
    assert_non_null(sget(r, "kaifang_version"));
    json_decref(r);
}

/* Every write that fails at its Nth store call leaves the catalog as it was. */
static void test_rollback(void **state)
{
    struct fixture *f = *state;
    json_t *before, *after, *r, *list0;
    struct store *s2 = NULL;
    struct catalog c2;
    struct err err = ERR_INIT;
    int n, ret = -1;

    json_decref(ok(f, catalog_package_create, &f->editor, full_dataset));
    before = ok(f, catalog_package_show, &f->root, "{\"id\": \"traffic-stats\"}");
    list0 = ok(f, catalog_package_list, &f->root, "{}");

    /* A validation failure in the second resource creates nothing. */
    fails(f, catalog_package_create, &f->editor,
          "{\"name\": \"half\", \"owner_org\": \"stats-bureau\", \"resources\": [{\"url\": "
          "\"http://a\"}, {\"url\": []}]}",
          ERR_VALIDATION, "resources", NULL);
    fails(f, catalog_package_show, &f->root, "{\"id\": \"half\"}", ERR_NOT_FOUND, NULL, NULL);

    for (n = 1; n < 50 && ret; n++) {
        char num[16];
        json_t *p = parse("{\"id\": \"traffic-stats\", \"title\": \"Changed\", \"resources\": "
                          "[{\"url\": \"http://new\"}]}");

        xsnprintf(num, sizeof(num), "%d", n);
        setenv("KAIFANG_FAIL_STORE_AT", num, 1);
        assert_int_equal(store_open(&s2, f->db, false, &err), 0);
        unsetenv("KAIFANG_FAIL_STORE_AT");
        store_fail_count_reset();
        catalog_init(&c2, s2, f->files, "http://portal.test");
        err_clear(&err);
        r = NULL;
        ret = catalog_package_patch(&c2, &f->editor, p, &r, &err);
        json_decref(p);
        if (ret) {
            assert_int_equal(ret, -ERR_INTERNAL);
            assert_null(r);
            after = ok(f, catalog_package_show, &f->root, "{\"id\": \"traffic-stats\"}");
            assert_true(json_equal(before, after));
            json_decref(after);
        } else {
            assert_string_equal(sget(r, "title"), "Changed");
            json_decref(r);
        }
        catalog_release(&c2);
        store_free(s2);
        s2 = NULL;
    }
    assert_int_equal(ret, 0);
    assert_true(n > 2); /* at least one injected failure happened */

    /* The same for package_create. */
    ret = -1;
    for (n = 1; n < 50 && ret; n++) {
        char num[16];
        json_t *p = parse("{\"name\": \"fresh\", \"owner_org\": \"stats-bureau\"}");

        xsnprintf(num, sizeof(num), "%d", n);
        setenv("KAIFANG_FAIL_STORE_AT", num, 1);
        assert_int_equal(store_open(&s2, f->db, false, &err), 0);
        unsetenv("KAIFANG_FAIL_STORE_AT");
        store_fail_count_reset();
        catalog_init(&c2, s2, f->files, "http://portal.test");
        err_clear(&err);
        r = NULL;
        ret = catalog_package_create(&c2, &f->editor, p, &r, &err);
        json_decref(p);
        if (ret) {
            json_t *list = ok(f, catalog_package_list, &f->root, "{}");

            assert_true(json_equal(list, list0));
            json_decref(list);
        }
        json_decref(r);
        catalog_release(&c2);
        store_free(s2);
    }
    assert_int_equal(ret, 0);
    assert_true(n > 2);
    json_decref(before);
    json_decref(list0);
}

/* The names of an actor's results, sorted by name, comma-separated. */
static char *names_for(struct fixture *f, const struct actor *a, const char *params)
{
    json_t *p = parse(params), *r = NULL, *d;
    struct err err = ERR_INIT;
    struct buf b = BUF_INIT;
    size_t i;

    json_object_set_new(p, "sort", json_string("name asc"));
    json_object_set_new(p, "rows", json_integer(1000));
    if (catalog_package_search(&f->c, a, p, &r, &err))
        fail_msg("search %s as \"%s\" failed: %s", params, a->name, err.msg);
    json_array_foreach (json_object_get(r, "results"), i, d) {
        if (i)
            buf_addch(&b, ',');
        buf_addstr(&b, sget(d, "name"));
    }
    assert_int_equal(json_integer_value(json_object_get(r, "count")), i);
    json_decref(r);
    json_decref(p);
    return buf_detach(&b, NULL);
}

#define assert_names_for(f, a, params, want)                                                       \
    do {                                                                                           \
        char *got_ = names_for(f, a, params);                                                      \
        if (strcmp(got_, want))                                                                    \
            fail_msg("line %d: %s as \"%s\": got \"%s\", want \"%s\"", __LINE__, params,           \
                     (a)->name, got_, want);                                                       \
        free(got_);                                                                                \
    } while (0)

/* include_drafts alone (without include_private) adds the drafts the actor may edit:
 * all of them for a sysadmin, those of their organizations for editors and admins,
 * none for members and anonymous callers. Private active datasets stay out. */
static void test_search_include_drafts(void **state)
{
    struct fixture *f = *state;

    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"pub\", \"title\": \"draft words\", \"owner_org\": "
                   "\"stats-bureau\"}"));
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"priv\", \"title\": \"draft words\", \"owner_org\": "
                   "\"stats-bureau\", \"private\": true}"));
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"drft\", \"title\": \"draft words\", \"owner_org\": "
                   "\"stats-bureau\", \"state\": \"draft\"}"));
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"pdrft\", \"title\": \"draft words\", \"owner_org\": "
                   "\"stats-bureau\", \"state\": \"draft\", \"private\": true}"));
    json_decref(ok(f, catalog_package_create, &f->outsider,
                   "{\"name\": \"tdrft\", \"title\": \"draft words\", \"owner_org\": "
                   "\"transport-bureau\", \"state\": \"draft\"}"));
    json_decref(ok(f, catalog_package_create, &f->root,
                   "{\"name\": \"odrft\", \"title\": \"draft words\", \"state\": \"draft\"}"));

    static const char q[] = "{\"include_drafts\": true, \"q\": \"draft\"}";
    assert_names_for(f, &f->root, q, "drft,odrft,pdrft,pub,tdrft");
    assert_names_for(f, &f->editor, q, "drft,pdrft,pub");
    assert_names_for(f, &f->admin, q, "drft,pdrft,pub");
    assert_names_for(f, &f->outsider, q, "pub,tdrft");
    assert_names_for(f, &f->both, q, "drft,pdrft,pub,tdrft");
    assert_names_for(f, &f->member, q, "pub");
    assert_names_for(f, &f->anon, q, "pub");
    /* As GET sends it. */
    assert_names_for(f, &f->editor, "{\"include_drafts\": \"true\", \"q\": \"draft\"}",
                     "drft,pdrft,pub");
    /* With include_private as well: unchanged meaning. */
    static const char qp[] = "{\"include_drafts\": true, \"include_private\": true}";
    assert_names_for(f, &f->root, qp, "drft,odrft,pdrft,priv,pub,tdrft");
    assert_names_for(f, &f->editor, qp, "drft,pdrft,priv,pub");
    assert_names_for(f, &f->member, qp, "priv,pub");
    assert_names_for(f, &f->anon, qp, "pub");
    /* Neither: public active only. */
    assert_names_for(f, &f->root, "{}", "pub");

    /* state: active is the default; draft gives what include_drafts would. */
    assert_names_for(f, &f->editor, "{\"q\": \"state:draft\"}", "drft,pdrft");
    assert_names_for(f, &f->editor, "{\"fq\": \"+state:draft\", \"include_private\": true}",
                     "drft,pdrft");
    assert_names_for(f, &f->member, "{\"q\": \"state:draft\"}", "");
    assert_names_for(f, &f->anon, "{\"q\": \"state:draft\"}", "");
    assert_names_for(f, &f->root, "{\"q\": \"state:draft\"}", "drft,odrft,pdrft,tdrft");
    assert_names_for(f, &f->editor, "{\"q\": \"state:active\", \"include_drafts\": true}", "pub");
    assert_names_for(f, &f->editor, "{\"q\": \"-state:draft\", \"include_drafts\": true}", "pub");
    assert_names_for(f, &f->editor, "{\"q\": \"state:active state:draft\"}", "");
    fails(f, catalog_package_search, &f->root, "{\"q\": \"state:deleted\"}", ERR_SEARCH, "q",
          "deleted");
    fails(f, catalog_package_search, &f->root, "{\"q\": \"state:bogus\"}", ERR_SEARCH, "q",
          "bogus");
}

/* Fields CKAN clients put in q and fq. */
static void test_search_ckan_fields(void **state)
{
    struct fixture *f = *state;

    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"roads\", \"title\": \"Road network\", \"owner_org\": "
                   "\"stats-bureau\", \"notes\": \"Highways and bridges\", \"author\": \"Wang "
                   "Fang\", \"maintainer\": \"Survey Office\"}"));
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"rivers\", \"title\": \"River levels\", \"owner_org\": "
                   "\"stats-bureau\", \"notes\": \"Daily gauges near the road\", \"private\": "
                   "true}"));

    assert_names_for(f, &f->editor, "{\"q\": \"private:true\", \"include_private\": true}",
                     "rivers");
    assert_names_for(f, &f->editor, "{\"fq\": \"private:false\", \"include_private\": true}",
                     "roads");
    assert_names_for(f, &f->editor, "{\"q\": \"-private:true\", \"include_private\": true}",
                     "roads");
    assert_names_for(f, &f->anon, "{\"q\": \"private:true\"}", "");
    fails(f, catalog_package_search, &f->root, "{\"q\": \"private:maybe\"}", ERR_SEARCH, "q",
          "maybe");
    /* title in the title column; notes, author, maintainer in the text column. */
    assert_names_for(f, &f->editor, "{\"q\": \"title:road\", \"include_private\": true}", "roads");
    assert_names_for(f, &f->editor, "{\"q\": \"notes:road\", \"include_private\": true}", "rivers");
    assert_names_for(f, &f->editor, "{\"q\": \"-title:road\", \"include_private\": true}",
                     "rivers");
    assert_names_for(f, &f->editor, "{\"q\": \"title:network\", \"include_private\": true}",
                     "roads");
    assert_names_for(f, &f->editor, "{\"q\": \"notes:\\\"daily gauges\\\"\"}", "");
    assert_names_for(f, &f->editor,
                     "{\"q\": \"notes:\\\"daily gauges\\\"\", \"include_private\": true}",
                     "rivers");
    assert_names_for(f, &f->anon, "{\"q\": \"author:wang\"}", "roads");
    assert_names_for(f, &f->anon, "{\"fq\": \"maintainer:\\\"survey office\\\"\"}", "roads");
    /* type: every dataset is a "dataset". */
    assert_names_for(f, &f->anon, "{\"fq\": \"type:dataset\"}", "roads");
    assert_names_for(f, &f->anon, "{\"fq\": \"type:harvest\"}", "");
    assert_names_for(f, &f->anon, "{\"fq\": \"-type:harvest\"}", "roads");
    /* Unknown fields are still refused, naming the field; internal rows stay hidden. */
    fails(f, catalog_package_search, &f->root, "{\"q\": \"colour:red\"}", ERR_SEARCH, "q",
          "\"colour\"");
    fails(f, catalog_package_search, &f->root, "{\"q\": \"metadata_modified:[* TO NOW]\"}",
          ERR_SEARCH, "q", "metadata_modified");
    fails(f, catalog_package_search, &f->root, "{\"q\": \"private_active:true\"}", ERR_SEARCH, "q",
          "private_active");
}

/* A name equal to another dataset's (organization's, group's) id would be shadowed by
 * lookups by id: refused like a taken name. */
static void test_name_equal_to_an_id(void **state)
{
    struct fixture *f = *state;
    json_t *a, *d, *g;
    char *p;

    a = ok(f, catalog_package_create, &f->editor,
           "{\"name\": \"first\", \"owner_org\": \"stats-bureau\"}");
    p = xstrfmt("{\"name\": \"%s\", \"owner_org\": \"stats-bureau\"}", sget(a, "id"));
    fails(f, catalog_package_create, &f->editor, p, ERR_CONFLICT, "name",
          "That URL is already in use.");
    free(p);
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"second\", \"owner_org\": \"stats-bureau\"}"));
    p = xstrfmt("{\"id\": \"second\", \"name\": \"%s\"}", sget(a, "id"));
    fails(f, catalog_package_patch, &f->editor, p, ERR_CONFLICT, "name",
          "That URL is already in use.");
    free(p);
    /* A dataset may keep its own id as its name. */
    p = xstrfmt("{\"id\": \"first\", \"name\": \"%s\"}", sget(a, "id"));
    json_decref(ok(f, catalog_package_patch, &f->editor, p));
    free(p);
    /* An id given to package_create is ignored (a new UUID is made), so it cannot
     * shadow the dataset named "second". */
    d = ok(f, catalog_package_create, &f->editor,
           "{\"id\": \"second\", \"name\": \"third\", \"owner_org\": \"stats-bureau\"}");
    assert_string_not_equal(sget(d, "id"), "second");
    json_decref(d);
    d = ok(f, catalog_package_show, &f->anon, "{\"id\": \"second\"}");
    assert_string_equal(sget(d, "name"), "second");
    json_decref(d);
    json_decref(a);

    /* Organizations and groups share one namespace of names and ids. */
    p = xstrfmt("{\"name\": \"%s\"}", f->org1_id);
    fails(f, catalog_organization_create, &f->root, p, ERR_CONFLICT, "name", NULL);
    fails(f, catalog_group_create, &f->root, p, ERR_CONFLICT, "name", NULL);
    free(p);
    g = ok(f, catalog_group_create, &f->root, "{\"name\": \"economy\"}");
    p = xstrfmt("{\"name\": \"%s\"}", sget(g, "id"));
    fails(f, catalog_group_create, &f->root, p, ERR_CONFLICT, "name", NULL);
    fails(f, catalog_organization_create, &f->root, p, ERR_CONFLICT, "name", NULL);
    free(p);
    json_decref(g);
    /* Grammar of the refusal. */
    fails(f, catalog_group_create, &f->editor, "{\"name\": \"g2\"}", ERR_AUTH, NULL,
          "may create a group");
    fails(f, catalog_organization_create, &f->editor, "{\"name\": \"o2\"}", ERR_AUTH, NULL,
          "may create an organization");
}

/* ---- the ledger: one entry per successful write action, none per failure ---- */

/*
 * The CKAN action table itself, compiled in: this test links kf_catalog only (kf_api
 * sits above it), and the table is the single place that says which actions write, so
 * the completeness test below reads the real flags rather than a copy of them.
 */
#include "api/api-ckan.c"
/* Its account and role actions, which the table names. */
#include "api/api-access.c"

/* ---- package_search as text: the same bytes as the parsed path ---- */

/* The API's body for params by both paths (api_ckan_call + json_dumps, the reference,
 * and api_ckan_call_text); asserts they are the same bytes and returns it (free()). */
static char *search_both(struct fixture *f, const struct actor *a, const char *params)
{
    json_t *p = parse(params), *doc = NULL;
    unsigned st1 = 0, st2 = 0;
    char *want, *got;
    size_t len = 0;

    assert_int_equal(api_ckan_call(&f->c, a, "package_search", false, p, NULL, &doc, &st1, NULL),
                     0);
    want = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_int_equal(
            api_ckan_call_text(&f->c, a, "package_search", false, p, NULL, &got, &len, &st2, NULL),
            0);
    json_decref(p);
    assert_int_equal(st1, st2);
    assert_int_equal(len, strlen(got));
    if (strcmp(want, got))
        fail_msg("package_search %s differs:\n  parsed %s\n  text   %s", params, want, got);
    free(want);
    return got;
}

static void test_search_text_identical(void **state)
{
    struct fixture *f = *state;
    static const char *const queries[] = {
            "{}",
            "{\"rows\": 0}",
            "{\"rows\": \"1000\"}",
            "{\"q\": \"统计\"}",
            "{\"q\": \"北京 交通\", \"rows\": 2}",
            "{\"q\": \"report\", \"start\": 1, \"rows\": 2}",
            "{\"q\": \"url_type\"}",
            "{\"q\": \"kaifang\"}",
            "{\"q\": \"tags:upload\", \"sort\": \"name asc\"}",
            "{\"q\": \"name:up-*\"}",
            "{\"fq\": \"organization:stats-bureau\", \"sort\": \"metadata_modified desc\"}",
            "{\"include_private\": true, \"rows\": 3, \"start\": 2}",
            "{\"include_private\": \"true\", \"include_drafts\": \"true\"}",
            "{\"q\": \"nothing-matches-this\"}",
            "{\"sort\": \"title_string asc\", \"facet.field\": \"[\\\"tags\\\",\\\"organization\\\","
            "\\\"res_format\\\"]\"}",
            "{\"q\": \"tags:upload\", \"facet.field\": \"[\\\"tags\\\"]\"}",
            "{\"sort\": \"no_such_field asc\"}",
            "{\"rows\": \"x\"}",
    };
    const struct actor *who[] = {&f->anon, &f->root, &f->editor, &f->member, &f->outsider};
    struct err err = ERR_INIT;
    struct upload up;
    char path[256], *body, *name;
    json_t *d, *p, *r;
    size_t i, j, k, uploads = 0;

    /* Links, uploads (one with a Chinese file name), Chinese text, private and draft
     * datasets, and values made to look like the splice's markers. */
    for (i = 0; i < 12; i++) {
        name = xstrfmt("up-%zu", i);
        p = json_pack("{s:s, s:s, s:s, s:s, s:b, s:[{s:s}], s:[{s:s, s:s}]}", "name", name, "title",
                      i % 3 ? "北京交通 统计 report" : "Population \"url_type\":\"upload\"",
                      "notes",
                      i % 4 ? "统计局 \\ \u2028 \"quoted\" <b>markup</b>"
                            : "{\"url_type\":\"upload\",\"url\":\"x\"} kaifang-splice-",
                      "owner_org", i % 2 ? "stats-bureau" : "transport-bureau", "private",
                      i % 5 == 1, "tags", "name", i % 2 ? "upload" : "交通", "resources", "url",
                      "http://example.org/a.csv?x=\"url_type\":\"upload\"", "name", "link");
        if (i == 7)
            json_object_set_new(p, "state", json_string("draft"));
        if (i == 8) {
            /* A value equal to the placeholder: in a document it is spliced like any
             * other text; as a facet value it is in the envelope too, and the answer
             * then comes from the parsed path. Either way, the same bytes. */
            json_object_set_new(p, "title", json_string(catalog_splice_token()));
            json_array_append_new(json_object_get(p, "tags"),
                                  json_pack("{s:s}", "name", catalog_splice_token()));
        }
        d = NULL;
        assert_int_equal(catalog_package_create(&f->c, &f->root, p, &d, &err), 0);
        json_decref(p);
        if (i % 3 != 2) {
            make_upload(f, i % 2 ? "统计 report.csv" : "data.csv", "a,b\n1,2\n", &up, path,
                        sizeof(path));
            p = json_pack("{s:s, s:s}", "package_id", sget(d, "id"), "name", "file");
            assert_int_equal(catalog_resource_create(&f->c, &f->root, p, &up, &r, &err), 0);
            json_decref(p);
            json_decref(r);
            uploads++;
        }
        json_decref(d);
        free(name);
    }
    assert_int_equal(uploads, 8);

    for (k = 0; k < 2; k++) /* the second time from the store's cache */
        for (i = 0; i < ARRAY_SIZE(queries); i++)
            for (j = 0; j < ARRAY_SIZE(who); j++)
                free(search_both(f, who[j], queries[i]));

    /* The absolute download urls are there (under this site), and the page is whole. */
    body = search_both(f, &f->anon, "{\"rows\": 1000}");
    assert_non_null(strstr(body, "\"url\":\"http://portal.test/dataset/"));
    d = parse(body);
    assert_int_equal(json_array_size(json_object_get(json_object_get(d, "result"), "results")),
                     json_integer_value(json_object_get(json_object_get(d, "result"), "count")));
    json_decref(d);
    free(body);

    /* Inside a write transaction the store reads through the writer. */
    assert_int_equal(store_begin(f->s, &err), 0);
    free(search_both(f, &f->root, "{\"include_private\": true, \"q\": \"统计\"}"));
    free(search_both(f, &f->anon, "{}"));
    store_rollback(f->s);
}

/* Integrates what is staged and returns the entries appended since the last call,
 * parsed, in index order (a new JSON array of entry objects). */
static json_t *ledger_new(struct fixture *f)
{
    struct err err = ERR_INIT;
    uint64_t size = 0;
    json_t *list = NULL, *out = json_array(), *e;
    size_t i;

    if (ledger_integrate(f->s, f->key, &size, &err))
        fail_msg("ledger_integrate: %s", err.msg);
    assert_true(size >= f->lsize);
    while (f->lsize < size) {
        if (ledger_entries(f->s, f->lsize, size, &list, &err))
            fail_msg("ledger_entries: %s", err.msg);
        assert_true(json_array_size(list) > 0);
        json_array_foreach (list, i, e) {
            assert_int_equal(json_integer_value(json_object_get(e, "index")), f->lsize);
            json_array_append_new(out, parse(sget(e, "entry")));
            f->lsize++;
        }
        json_decref(list);
    }
    return out;
}

/* "sha256:<hex>" of the canonical JSON of v (sorted keys, no white space, UTF-8), the
 * form ledger_record() hashes. */
static void canonical_digest(json_t *v, char out[80])
{
    char *text = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    char hex[SHA256_HEX_LEN];
    uint8_t h[SHA256_LEN];

    assert_non_null(text);
    sha256(text, strlen(text), h);
    hex_encode(h, SHA256_LEN, hex);
    xsnprintf(out, 80, "sha256:%s", hex);
    free(text);
}

/* Checks that exactly one entry was appended since the last look, of type, by actor,
 * about org (NULL: none), naming exactly objects (stolen), and, when digest_of is not
 * NULL, whose digest is that of digest_of. */
static void expect_entry_(struct fixture *f, const char *type, const char *actor, const char *org,
                          json_t *objects, json_t *digest_of, int line)
{
    json_t *entries = ledger_new(f), *e;
    char want[80];

    if (json_array_size(entries) != 1)
        fail_msg("line %d: %zu ledger entries for %s, want 1", line, json_array_size(entries),
                 type);
    e = json_array_get(entries, 0);
    if (!sget(e, "type") || strcmp(sget(e, "type"), type))
        fail_msg("line %d: entry type \"%s\", want \"%s\"", line, sget(e, "type"), type);
    assert_string_equal(sget(e, "actor"), actor);
    if (org)
        assert_string_equal(sget(e, "org"), org);
    else
        assert_true(!json_object_get(e, "org") || json_is_null(json_object_get(e, "org")));
    if (!json_equal(json_object_get(e, "objects"), objects)) {
        char *got = json_dumps(json_object_get(e, "objects"), JSON_SORT_KEYS);
        char *exp = json_dumps(objects, JSON_SORT_KEYS);

        fail_msg("line %d: %s objects %s, want %s", line, type, got, exp);
    }
    assert_non_null(sget(e, "time"));
    if (digest_of) {
        canonical_digest(digest_of, want);
        assert_string_equal(sget(e, "digest"), want);
    }
    json_decref(objects);
    json_decref(entries);
}
#define expect_entry(f, type, actor, org, objects, digest_of)                                      \
    expect_entry_(f, type, actor, org, objects, digest_of, __LINE__)

static void expect_no_entry_(struct fixture *f, int line)
{
    json_t *entries = ledger_new(f);

    if (json_array_size(entries)) {
        char *text = json_dumps(entries, 0);

        fail_msg("line %d: unexpected ledger entries %s", line, text);
    }
    json_decref(entries);
}
#define expect_no_entry(f) expect_no_entry_(f, __LINE__)

/* The package dict as stored (the digest input of a dataset entry). */
static json_t *stored(struct fixture *f, const char *id)
{
    json_t *d = NULL;

    assert_int_equal(store_dataset_get(f->s, id, &d, NULL), 0);
    return d;
}

static json_t *dataset_objects(json_t *doc, const char *rid)
{
    json_t *o = json_pack("{s:s, s:s}", "dataset", sget(doc, "id"), "name", sget(doc, "name"));

    if (rid)
        json_object_set_new(o, "resource", json_string(rid));
    return o;
}

/* Each write action appends one entry of its type, with the right actor, organization,
 * ids and digest of the stored new state. */
static void test_ledger_entries(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    struct upload up;
    char path[256], *id, *rid, *rid2;
    json_t *d, *r, *p, *doc;

    expect_no_entry(f);
    d = ok(f, catalog_package_create, &f->editor,
           "{\"name\": \"ledger-a\", \"owner_org\": \"stats-bureau\", \"author_email\": "
           "\"li@example.org\", \"resources\": [{\"url\": \"http://a.example/x.csv\"}]}");
    id = xstrdup(sget(d, "id"));
    json_decref(d);
    doc = stored(f, id);
    expect_entry(f, "dataset_create", "ed", "stats-bureau", dataset_objects(doc, NULL), doc);
    json_decref(doc);

    json_decref(
            ok(f, catalog_package_update, &f->admin,
               "{\"id\": \"ledger-a\", \"name\": \"ledger-a\", \"owner_org\": \"stats-bureau\", "
               "\"title\": \"T\"}"));
    doc = stored(f, id);
    expect_entry(f, "dataset_update", "ada", "stats-bureau", dataset_objects(doc, NULL), doc);
    json_decref(doc);

    json_decref(
            ok(f, catalog_package_patch, &f->editor, "{\"id\": \"ledger-a\", \"notes\": \"n\"}"));
    doc = stored(f, id);
    expect_entry(f, "dataset_update", "ed", "stats-bureau", dataset_objects(doc, NULL), doc);
    json_decref(doc);

    /* Moving a dataset names the organization it moves to. */
    json_decref(ok(f, catalog_package_patch, &f->both,
                   "{\"id\": \"ledger-a\", \"owner_org\": \"transport-bureau\"}"));
    doc = stored(f, id);
    expect_entry(f, "dataset_update", "both", "transport-bureau", dataset_objects(doc, NULL), doc);
    json_decref(doc);
    json_decref(ok(f, catalog_package_patch, &f->both,
                   "{\"id\": \"ledger-a\", \"owner_org\": \"stats-bureau\"}"));
    json_decref(ledger_new(f));

    /* A resource: one entry of the resource's type, whose digest is the new dataset. */
    p = json_pack("{s:s, s:s, s:s}", "package_id", "ledger-a", "url", "http://b.example/y.csv",
                  "name", "Y");
    assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, NULL, &r, &err), 0);
    json_decref(p);
    rid = xstrdup(sget(r, "id"));
    json_decref(r);
    doc = stored(f, id);
    expect_entry(f, "resource_create", "ed", "stats-bureau", dataset_objects(doc, rid), doc);
    json_decref(doc);

    make_upload(f, "counts.csv", "a,b\n1,2\n", &up, path, sizeof(path));
    p = json_pack("{s:s}", "package_id", "ledger-a");
    assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, &up, &r, &err), 0);
    json_decref(p);
    rid2 = xstrdup(sget(r, "id"));
    json_decref(r);
    doc = stored(f, id);
    /* Stored form: the upload's url is its file name, whatever site serves it. */
    r = json_object_get(doc, "resources");
    assert_string_equal(sget(json_array_get(r, json_array_size(r) - 1), "url"), "counts.csv");
    expect_entry(f, "resource_create", "ed", "stats-bureau", dataset_objects(doc, rid2), doc);
    json_decref(doc);

    p = json_pack("{s:s, s:s}", "id", rid, "description", "new");
    assert_int_equal(catalog_resource_update(&f->c, &f->admin, p, NULL, &r, &err), 0);
    json_decref(p);
    json_decref(r);
    doc = stored(f, id);
    expect_entry(f, "resource_update", "ada", "stats-bureau", dataset_objects(doc, rid), doc);
    json_decref(doc);

    make_upload(f, "counts2.csv", "a,b\n3,4\n", &up, path, sizeof(path));
    p = json_pack("{s:s}", "id", rid2);
    assert_int_equal(catalog_resource_update(&f->c, &f->editor, p, &up, &r, &err), 0);
    json_decref(p);
    json_decref(r);
    doc = stored(f, id);
    expect_entry(f, "resource_update", "ed", "stats-bureau", dataset_objects(doc, rid2), doc);
    json_decref(doc);

    p = json_pack("{s:s}", "id", rid);
    assert_int_equal(catalog_resource_delete(&f->c, &f->editor, p, &r, &err), 0);
    json_decref(p);
    json_decref(r);
    doc = stored(f, id);
    assert_int_equal(json_array_size(json_object_get(doc, "resources")), 1);
    expect_entry(f, "resource_delete", "ed", "stats-bureau", dataset_objects(doc, rid), doc);
    json_decref(doc);

    json_decref(ok(f, catalog_package_delete, &f->admin, "{\"id\": \"ledger-a\"}"));
    doc = stored(f, id);
    assert_string_equal(sget(doc, "state"), "deleted");
    expect_entry(f, "dataset_delete", "ada", "stats-bureau", dataset_objects(doc, NULL), doc);
    /* Deleting it again succeeds and changes nothing: no write, no second entry. */
    json_decref(ok(f, catalog_package_delete, &f->admin, "{\"id\": \"ledger-a\"}"));
    {
        json_t *again = stored(f, id);

        assert_true(json_equal(again, doc));
        json_decref(again);
    }
    expect_no_entry(f);
    json_decref(doc);

    /* A sysadmin's dataset without an organization: no org. */
    d = ok(f, catalog_package_create, &f->root, "{\"name\": \"ledger-no-org\"}");
    doc = stored(f, sget(d, "id"));
    expect_entry(f, "dataset_create", "root", NULL, dataset_objects(doc, NULL), doc);
    json_decref(doc);
    json_decref(d);

    /* Organizations and groups: the stored dict (without package_count) is the digest
     * input; the creator's admin membership is part of the same single entry. */
    d = ok(f, catalog_organization_create, &f->root,
           "{\"name\": \"ledger-org\", \"title\": \"Ledger Org\"}");
    json_object_del(d, "package_count");
    expect_entry(f, "organization_create", "root", "ledger-org",
                 json_pack("{s:s, s:s}", "organization", sget(d, "id"), "name", "ledger-org"), d);
    json_decref(d);
    d = ok(f, catalog_group_create, &f->root, "{\"name\": \"ledger-group\"}");
    json_object_del(d, "package_count");
    expect_entry(f, "group_create", "root", NULL,
                 json_pack("{s:s, s:s}", "group", sget(d, "id"), "name", "ledger-group"), d);
    json_decref(d);

    /* Reads append nothing. */
    json_decref(ok(f, catalog_package_show, &f->root, "{\"id\": \"ledger-a\"}"));
    json_decref(ok(f, catalog_package_search, &f->root, "{\"q\": \"ledger\"}"));
    json_decref(ok(f, catalog_organization_show, &f->root, "{\"id\": \"ledger-org\"}"));
    expect_no_entry(f);
    free(id);
    free(rid);
    free(rid2);
}

/* An action that fails (validation, authorization, not found, conflict) appends
 * nothing. */
static void test_ledger_failed_actions(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char *rid;
    json_t *r, *p;

    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"ledger-b\", \"owner_org\": \"stats-bureau\", \"resources\": "
                   "[{\"url\": \"http://a.example/x.csv\"}]}"));
    r = ok(f, catalog_package_show, &f->editor, "{\"id\": \"ledger-b\"}");
    rid = xstrdup(sget(json_array_get(json_object_get(r, "resources"), 0), "id"));
    json_decref(r);
    json_decref(ledger_new(f));

    fails(f, catalog_package_create, &f->editor, "{\"name\": \"Bad Name\"}", ERR_VALIDATION, "name",
          NULL);
    fails(f, catalog_package_create, &f->editor,
          "{\"name\": \"ledger-b\", \"owner_org\": \"stats-bureau\"}", ERR_CONFLICT, "name", NULL);
    fails(f, catalog_package_create, &f->member,
          "{\"name\": \"ledger-c\", \"owner_org\": \"stats-bureau\"}", ERR_AUTH, NULL, NULL);
    fails(f, catalog_package_create, &f->anon, "{\"name\": \"ledger-c\"}", ERR_AUTH, NULL, NULL);
    fails(f, catalog_package_create, &f->editor,
          "{\"name\": \"ledger-c\", \"owner_org\": \"stats-bureau\", \"resources\": [{\"url\": "
          "\"http://a\"}, {\"url\": []}]}",
          ERR_VALIDATION, "resources", NULL);
    fails(f, catalog_package_update, &f->editor, "{\"id\": \"nope\"}", ERR_NOT_FOUND, NULL, NULL);
    fails(f, catalog_package_update, &f->outsider, "{\"id\": \"ledger-b\", \"title\": \"x\"}",
          ERR_AUTH, NULL, NULL);
    fails(f, catalog_package_patch, &f->editor, "{\"id\": \"ledger-b\", \"tags\": \"x\"}",
          ERR_VALIDATION, "tags", NULL);
    fails(f, catalog_package_patch, &f->editor, "{\"id\": \"ledger-b\", \"unknown\": 1}",
          ERR_VALIDATION, "unknown", NULL);
    fails(f, catalog_package_delete, &f->member, "{\"id\": \"ledger-b\"}", ERR_AUTH, NULL, NULL);
    fails(f, catalog_package_delete, &f->editor, "{\"id\": \"nope\"}", ERR_NOT_FOUND, NULL, NULL);
    fails(f, catalog_resource_delete, &f->editor, "{\"id\": \"nope\"}", ERR_NOT_FOUND, NULL, NULL);
    {
        char *text = xstrfmt("{\"id\": \"%s\"}", rid);

        fails(f, catalog_resource_delete, &f->member, text, ERR_AUTH, NULL, NULL);
        free(text);
    }
    fails(f, catalog_organization_create, &f->editor, "{\"name\": \"o9\"}", ERR_AUTH, NULL, NULL);
    fails(f, catalog_organization_create, &f->root, "{\"name\": \"stats-bureau\"}", ERR_CONFLICT,
          "name", NULL);
    fails(f, catalog_group_create, &f->root, "{\"name\": \"X\"}", ERR_VALIDATION, "name", NULL);
    fails(f, catalog_group_create, &f->root, "{\"name\": \"transport-bureau\"}", ERR_CONFLICT,
          "name", NULL);

    p = json_pack("{s:s, s:s}", "package_id", "nope", "url", "http://x");
    assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, NULL, &r, &err), -ERR_NOT_FOUND);
    json_decref(p);
    err_clear(&err);
    p = json_pack("{s:s, s:s, s:{s:i}}", "package_id", "ledger-b", "url", "http://x", "zzz", "a",
                  1);
    assert_int_equal(catalog_resource_create(&f->c, &f->editor, p, NULL, &r, &err),
                     -ERR_VALIDATION);
    json_decref(p);
    err_clear(&err);
    p = json_pack("{s:s, s:{s:i}}", "id", rid, "zzz", "a", 1);
    assert_int_equal(catalog_resource_update(&f->c, &f->editor, p, NULL, &r, &err),
                     -ERR_VALIDATION);
    json_decref(p);
    err_clear(&err);
    p = json_pack("{s:s, s:s}", "id", rid, "url", "http://x");
    assert_int_equal(catalog_resource_update(&f->c, &f->member, p, NULL, &r, &err), -ERR_AUTH);
    json_decref(p);
    expect_no_entry(f);
    free(rid);
}

/* Everything a catalog write action can change, as root sees it: every dataset but the
 * deleted ones (with resources and timestamps), every organization and group. */
static char *catalog_snapshot(struct fixture *f)
{
    json_t *all = json_object(), *v;
    char *text;

    v = ok(f, catalog_package_search, &f->root,
           "{\"rows\": 1000, \"sort\": \"name asc\", \"include_private\": true, "
           "\"include_drafts\": true}");
    json_object_set_new(all, "datasets", json_incref(json_object_get(v, "results")));
    json_decref(v);
    json_object_set_new(
            all, "orgs",
            ok(f, catalog_organization_list, &f->root, "{\"all_fields\": true, \"limit\": 25}"));
    json_object_set_new(all, "groups",
                        ok(f, catalog_group_list, &f->root, "{\"all_fields\": true}"));
    text = json_dumps(all, JSON_SORT_KEYS);
    json_decref(all);
    return text;
}

enum inj_action {
    INJ_PACKAGE_CREATE,
    INJ_PACKAGE_UPDATE,
    INJ_PACKAGE_PATCH,
    INJ_RESOURCE_CREATE,
    INJ_RESOURCE_UPDATE,
    INJ_RESOURCE_DELETE,
    INJ_PACKAGE_DELETE,
    INJ_ORGANIZATION_CREATE,
    INJ_GROUP_CREATE,
};

static const struct {
    enum inj_action action;
    const char *type;
} inj_actions[] = {
        {INJ_PACKAGE_CREATE, "dataset_create"},   {INJ_PACKAGE_UPDATE, "dataset_update"},
        {INJ_PACKAGE_PATCH, "dataset_update"},    {INJ_RESOURCE_CREATE, "resource_create"},
        {INJ_RESOURCE_UPDATE, "resource_update"}, {INJ_RESOURCE_DELETE, "resource_delete"},
        {INJ_PACKAGE_DELETE, "dataset_delete"},   {INJ_ORGANIZATION_CREATE, "organization_create"},
        {INJ_GROUP_CREATE, "group_create"},
};

/* Runs one write action on c (another connection, with a failure injected). The
 * resource actions work on the first resource of dataset "inj". */
static int inj_run(struct fixture *f, struct catalog *c, enum inj_action act, const char *rid,
                   struct err *err)
{
    json_t *p = NULL, *r = NULL;
    int ret = -1;

    switch (act) {
    case INJ_PACKAGE_CREATE:
        p = parse("{\"name\": \"inj\", \"owner_org\": \"stats-bureau\", \"resources\": "
                  "[{\"url\": \"http://a.example/1\"}, {\"url\": \"http://a.example/2\"}]}");
        ret = catalog_package_create(c, &f->editor, p, &r, err);
        break;
    case INJ_PACKAGE_UPDATE:
        p = json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}, {s:s}]}", "id", "inj", "name", "inj",
                      "owner_org", "stats-bureau", "title", "Updated", "resources", "id", rid,
                      "url", "http://a.example/1", "url", "http://a.example/3");
        ret = catalog_package_update(c, &f->editor, p, &r, err);
        break;
    case INJ_PACKAGE_PATCH:
        p = parse("{\"id\": \"inj\", \"notes\": \"Patched\"}");
        ret = catalog_package_patch(c, &f->editor, p, &r, err);
        break;
    case INJ_RESOURCE_CREATE:
        p = parse("{\"package_id\": \"inj\", \"url\": \"http://a.example/4\"}");
        ret = catalog_resource_create(c, &f->editor, p, NULL, &r, err);
        break;
    case INJ_RESOURCE_UPDATE:
        p = json_pack("{s:s, s:s}", "id", rid, "description", "Updated");
        ret = catalog_resource_update(c, &f->editor, p, NULL, &r, err);
        break;
    case INJ_RESOURCE_DELETE:
        p = json_pack("{s:s}", "id", rid);
        ret = catalog_resource_delete(c, &f->editor, p, &r, err);
        break;
    case INJ_PACKAGE_DELETE:
        p = parse("{\"id\": \"inj\"}");
        ret = catalog_package_delete(c, &f->editor, p, &r, err);
        break;
    case INJ_ORGANIZATION_CREATE:
        p = parse("{\"name\": \"inj-org\"}");
        ret = catalog_organization_create(c, &f->root, p, &r, err);
        break;
    case INJ_GROUP_CREATE:
        p = parse("{\"name\": \"inj-group\"}");
        ret = catalog_group_create(c, &f->root, p, &r, err);
        break;
    }
    if (ret)
        assert_null(r);
    json_decref(r);
    json_decref(p);
    return ret;
}

/* KAIFANG_FAIL_STORE_AT = 1, 2, … for every write action: each failure (the ledger's
 * own store writes included) is a clean -ERR_INTERNAL that changes nothing and leaves
 * no entry; the first success leaves exactly one. */
static void test_ledger_failure_injection(void **state)
{
    struct fixture *f = *state;
    struct store *s2 = NULL;
    struct catalog c2;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN] = "";
    bool ledger_failed_once = false;

    json_decref(ledger_new(f));
    for (size_t k = 0; k < ARRAY_SIZE(inj_actions); k++) {
        int ret = -1, n, failures = 0;

        for (n = 1; n < 80 && ret; n++) {
            char num[16], *before, *after;
            json_t *entries, *d;

            before = catalog_snapshot(f);
            xsnprintf(num, sizeof(num), "%d", n);
            setenv("KAIFANG_FAIL_STORE_AT", num, 1);
            assert_int_equal(store_open(&s2, f->db, false, &err), 0);
            unsetenv("KAIFANG_FAIL_STORE_AT");
            store_fail_count_reset();
            catalog_init(&c2, s2, f->files, "http://portal.test");
            err_clear(&err);
            ret = inj_run(f, &c2, inj_actions[k].action, rid, &err);
            catalog_release(&c2);
            store_free(s2);
            s2 = NULL;
            entries = ledger_new(f);
            if (ret) {
                if (ret != -ERR_INTERNAL)
                    fail_msg("%s at write %d: %d %s", inj_actions[k].type, n, ret, err.msg);
                assert_int_equal(json_array_size(entries), 0);
                after = catalog_snapshot(f);
                if (strcmp(before, after))
                    fail_msg("%s failed at write %d (%s) but changed the catalog",
                             inj_actions[k].type, n, err.msg);
                free(after);
                failures++;
                if (starts_with(err.msg, "cannot record"))
                    ledger_failed_once = true;
            } else {
                assert_int_equal(json_array_size(entries), 1);
                assert_string_equal(sget(json_array_get(entries, 0), "type"), inj_actions[k].type);
            }
            json_decref(entries);
            free(before);
            if (!ret && inj_actions[k].action == INJ_PACKAGE_CREATE) {
                d = stored(f, "inj");
                xsnprintf(rid, sizeof(rid), "%s",
                          sget(json_array_get(json_object_get(d, "resources"), 0), "id"));
                json_decref(d);
            }
        }
        if (ret)
            fail_msg("%s never succeeded", inj_actions[k].type);
        if (!failures)
            fail_msg("%s: no injected failure happened", inj_actions[k].type);
    }
    /* The ledger's own write failed at some N and rolled the action back. */
    assert_true(ledger_failed_once);
}

/*
 * What each CKAN action of the table appends, in the order the test runs them: the type of its one
 * entry (writes), or NULL (reads: nothing). An action of the table missing here, or a write
 * (API_WRITES) listed as a read, or the other way round, fails the test: a new write action cannot
 * land without its ledger entry being decided and tested.
 */
static const struct {
    const char *action;
    const char *type; /* NULL: a read */
    const char *params;
} ledger_actions[] = {
        {"package_create", "dataset_create",
         "{\"name\": \"cmp\", \"owner_org\": \"stats-bureau\", \"resources\": [{\"url\": "
         "\"http://a.example/1\"}]}"},
        {"package_list", NULL, "{}"},
        {"package_show", NULL, "{\"id\": \"cmp\"}"},
        {"package_search", NULL, "{\"q\": \"cmp\"}"},
        {"package_update", "dataset_update",
         "{\"id\": \"cmp\", \"name\": \"cmp\", \"owner_org\": \"stats-bureau\", \"resources\": "
         "[{\"id\": \"@rid\", \"url\": \"http://a.example/1\"}]}"},
        {"package_patch", "dataset_update", "{\"id\": \"cmp\", \"notes\": \"n\"}"},
        {"resource_create", "resource_create", "{\"package_id\": \"cmp\", \"url\": \"http://b\"}"},
        {"resource_show", NULL, "{\"id\": \"@rid\"}"},
        {"resource_update", "resource_update", "{\"id\": \"@rid\", \"name\": \"r\"}"},
        /* The DataStore API on the link resource (a table made through the API). */
        {"datastore_create", "datastore_create",
         "{\"resource_id\": \"@rid\", \"fields\": [{\"id\": \"a\", \"type\": \"int\"}], "
         "\"records\": [{\"a\": 1}], \"primary_key\": \"a\"}"},
        {"datastore_upsert", "datastore_upsert",
         "{\"resource_id\": \"@rid\", \"records\": [{\"a\": 2}]}"},
        {"datastore_info", NULL, "{\"id\": \"@rid\"}"},
        {"datastore_search", NULL, "{\"resource_id\": \"@rid\", \"filters\": {\"a\": 2}}"},
        {"datastore_search_sql", NULL, "{\"sql\": \"SELECT * FROM \\\"@rid\\\"\"}"},
        {"datastore_delete", "datastore_delete",
         "{\"resource_id\": \"@rid\", \"filters\": {\"a\": 2}}"},
        /* xloader_submit only queues (its entry, datastore_ingest, comes with the ingest,
         * tests/unit/test-datastore-ingest.c); a link has no file to ingest: 409. */
        {"xloader_status", NULL, "{\"resource_id\": \"@rid\"}"},
        {"xloader_submit", NULL, "{\"resource_id\": \"@rid\"}"},
        /* The table written through the API is scanned: its report shows; the caller
         * wrote it, so its override is refused, 403 and no entry (an override's entry:
         * tests/unit/test-datastore-ingest.c, test_privacy_*). */
        {"datastore_privacy_report", NULL, "{\"resource_id\": \"@rid\"}"},
        {"datastore_privacy_override", "privacy_override",
         "{\"resource_id\": \"@rid\", \"justification\": \"aggregate\"}"},
        {"resource_delete", "resource_delete", "{\"id\": \"@rid\"}"},
        {"organization_create", "organization_create", "{\"name\": \"cmp-org\"}"},
        {"organization_list", NULL, "{}"},
        {"organization_show", NULL, "{\"id\": \"cmp-org\"}"},
        {"user_create", "user_create", "{\"name\": \"cmp-user\"}"},
        {"api_token_create", "token_create", "{\"user\": \"cmp-user\", \"name\": \"t\"}"},
        {"organization_member_create", "member_set",
         "{\"id\": \"cmp-org\", \"username\": \"cmp-user\", \"role\": \"member\"}"},
        {"user_role_create", "role_set",
         "{\"user\": \"cmp-user\", \"role\": \"approver\", \"organization\": \"cmp-org\"}"},
        {"user_role_list", NULL, "{}"},
        {"user_role_delete", "role_set",
         "{\"user\": \"cmp-user\", \"role\": \"approver\", \"organization\": \"cmp-org\"}"},
        {"organization_member_delete", "member_set",
         "{\"id\": \"cmp-org\", \"username\": \"cmp-user\"}"},
        /* Grants: on the dataset made restricted, to cmp-user made a grantee. The
         * sysadmin here is no approver: its decisions are refused (403) and append
         * nothing (tests/e2e/test_grants.py approves). */
        {"package_patch", "dataset_update", "{\"id\": \"cmp\", \"access_level\": \"non-public\"}"},
        {"user_role_create", "role_set", "{\"user\": \"cmp-user\", \"role\": \"grantee\"}"},
        {"grant_request", "grant_request",
         "{\"dataset\": \"cmp\", \"grantee\": \"cmp-user\", \"purpose\": \"p\", "
         "\"legal_basis\": \"b\", \"columns\": [\"a\"], \"valid_from\": \"2026-01-01\", "
         "\"valid_until\": \"2026-12-31\"}"},
        {"grant_show", NULL, "{\"id\": \"@gid\"}"},
        {"grant_list", NULL, "{\"dataset\": \"cmp\"}"},
        {"grant_approve", "grant_approve", "{\"id\": \"@gid\"}"},
        {"grant_refuse", "grant_refuse", "{\"id\": \"@gid\"}"},
        {"grant_revoke", "grant_revoke", "{\"id\": \"@gid\"}"},
        {"group_create", "group_create", "{\"name\": \"cmp-group\"}"},
        {"group_list", NULL, "{}"},
        {"group_show", NULL, "{\"id\": \"cmp-group\"}"},
        {"tag_list", NULL, "{}"},
        {"license_list", NULL, "{}"},
        {"status_show", NULL, "{}"},
        {"help_show", NULL, "{\"name\": \"package_create\"}"},
        {"package_delete", "dataset_delete", "{\"id\": \"cmp\"}"},
        /* Fees and the audit (src/audit/): "cmp-fee" was created by another user (the
         * two-person rule: root may approve it). */
        {"fee_schedule_create", "fee_schedule_create",
         "{\"name\": \"cmp-fee-2\", \"organization\": \"stats-bureau\", \"service\": \"s\", "
         "\"unit\": \"u\", \"price\": \"1.00\", \"legal_basis\": \"b\", \"period_start\": "
         "\"2020-01-01\", \"period_end\": \"2030-12-31\"}"},
        {"fee_schedule_approve", "fee_schedule_approve", "{\"id\": \"cmp-fee\"}"},
        {"fee_schedule_show", NULL, "{\"id\": \"cmp-fee\"}"},
        {"fee_schedule_list", NULL, "{}"},
        {"charge_record", "charge_record",
         "{\"organization\": \"stats-bureau\", \"unit\": \"u\", \"system\": \"s\", "
         "\"payer\": \"p\", \"date\": \"2024-01-01\", \"amount\": \"1.00\", \"schedule\": "
         "\"cmp-fee\"}"},
        {"audit_report", NULL, "{}"},
};

/* The status each row answers: 200, but for a link's xloader_submit (409: no file) and
 * the grant decisions of a sysadmin who is no approver (403), or of a grant not approved
 * (grant_revoke, 409). A refused write appends nothing. */
static unsigned ledger_status(const char *action)
{
    if (!strcmp(action, "grant_approve") || !strcmp(action, "grant_refuse"))
        return 403;
    if (!strcmp(action, "xloader_submit") || !strcmp(action, "grant_revoke"))
        return 409;
    /* the table datastore_create wrote is scanned: a report to show; its publisher (the
     * caller) may not override it (two-person rule) */
    if (!strcmp(action, "datastore_privacy_override"))
        return 403;
    return 200;
}

static void test_ledger_completeness(void **state)
{
    struct fixture *f = *state;
    json_t *names = api_ckan_action_names(), *name;
    char rid[UUID_STR_LEN] = "", gid[UUID_STR_LEN] = "";
    size_t i, k;

    /* Both ways: every action of the table is here, with the right kind. */
    json_array_foreach (names, i, name) {
        const struct api_action *act = api_ckan_action(json_string_value(name));
        bool found = false;

        for (k = 0; k < ARRAY_SIZE(ledger_actions); k++) {
            if (strcmp(ledger_actions[k].action, act->name))
                continue;
            found = true;
            if (!!(act->flags & API_WRITES) != !!ledger_actions[k].type)
                fail_msg("action \"%s\": API_WRITES is %s but its ledger type is %s", act->name,
                         act->flags & API_WRITES ? "set" : "not set",
                         ledger_actions[k].type ? ledger_actions[k].type : "none");
        }
        if (!found)
            fail_msg("action \"%s\" (%s) has no row in ledger_actions: decide its ledger entry",
                     act->name, act->flags & API_WRITES ? "writes" : "reads");
    }
    for (k = 0; k < ARRAY_SIZE(ledger_actions); k++)
        if (!api_ckan_action(ledger_actions[k].action))
            fail_msg("ledger_actions names \"%s\", not in the action table",
                     ledger_actions[k].action);
    json_decref(names);

    /* The fee schedule root approves below (as an approver of stats-bureau), made by
     * someone else. */
    {
        struct actor other = {true, true, "id-other", "other", NULL, NULL};
        json_t *p = parse("{\"name\": \"cmp-fee\", \"organization\": \"stats-bureau\", "
                          "\"service\": \"s\", \"unit\": \"u\", \"price\": \"1.00\", "
                          "\"legal_basis\": \"b\", \"period_start\": \"2020-01-01\", "
                          "\"period_end\": \"2030-12-31\"}");
        struct err err = ERR_INIT;

        assert_int_equal(audit_schedule_create(f->s, &other, p, NULL, &err), 0);
        json_decref(p);
        json_decref(f->root.roles);
        f->root.roles = json_pack("[{s:s, s:s}]", "role", "approver", "organization", f->org1_id);
    }
    /* Every action, run through the API layer as HTTP runs it, as a sysadmin: one entry
     * of its type per write, nothing per read. */
    json_decref(ledger_new(f));
    for (k = 0; k < ARRAY_SIZE(ledger_actions); k++) {
        struct buf text = BUF_INIT;
        const char *at, *p = ledger_actions[k].params;
        json_t *params, *doc = NULL, *entries;
        unsigned status = 0;
        enum err_kind kind;

        while ((at = strstr(p, "@rid")) || (at = strstr(p, "@gid"))) {
            buf_add(&text, p, (size_t)(at - p));
            buf_addstr(&text, at[1] == 'r' ? rid : gid);
            p = at + 4;
        }
        buf_addstr(&text, p);
        params = parse(text.buf);
        assert_int_equal(api_ckan_call(&f->c, &f->root, ledger_actions[k].action, true, params,
                                       NULL, &doc, &status, &kind),
                         0);
        if (status != ledger_status(ledger_actions[k].action)) {
            char *d = json_dumps(doc, 0);

            fail_msg("%s: status %u: %s", ledger_actions[k].action, status, d);
        }
        entries = ledger_new(f);
        if (json_array_size(entries) != (ledger_actions[k].type && status == 200 ? 1u : 0u))
            fail_msg("%s appended %zu entries", ledger_actions[k].action, json_array_size(entries));
        if (ledger_actions[k].type && status == 200)
            assert_string_equal(sget(json_array_get(entries, 0), "type"), ledger_actions[k].type);
        if (!strcmp(ledger_actions[k].action, "grant_request"))
            xsnprintf(gid, sizeof(gid), "%s", sget(json_object_get(doc, "result"), "id"));
        if (!strcmp(ledger_actions[k].action, "package_create") ||
            !strcmp(ledger_actions[k].action, "resource_create")) {
            json_t *res = json_object_get(doc, "result");

            if (json_object_get(res, "resources"))
                res = json_array_get(json_object_get(res, "resources"), 0);
            xsnprintf(rid, sizeof(rid), "%s", sget(res, "id"));
        }
        json_decref(entries);
        json_decref(doc);
        json_decref(params);
        buf_release(&text);
    }
}

/* The organization title a facet shows is remembered for one store version only: a new
 * title shows at the next search after the write. */
static void test_facet_titles_follow_writes(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    json_t *r, *org = NULL;
    const char *q = "{\"q\": \"\", \"facet.field\": [\"organization\"]}";

    seed_search(f);
    for (int round = 0; round < 2; round++) {
        r = search(f, &f->anon, q);
        assert_string_equal(
                sget(json_array_get(
                             json_object_get(json_object_get(json_object_get(r, "search_facets"),
                                                             "organization"),
                                             "items"),
                             0),
                     "display_name"),
                round ? "统计局 Statistics Bureau" : "统计局 Statistics Bureau");
        json_decref(r);
    }
    assert_int_equal(store_group_get(f->s, true, "stats-bureau", &org, &err), 0);
    json_object_set_new(org, "title", json_string("New Bureau Title"));
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_group_put(f->s,
                                     &(struct store_group){sget(org, "id"), "stats-bureau", true,
                                                           "active", org},
                                     &err),
                     0);
    assert_int_equal(store_commit(f->s, &err), 0);
    json_decref(org);
    r = search(f, &f->anon, q);
    assert_string_equal(
            sget(json_array_get(json_object_get(json_object_get(json_object_get(r, "search_facets"),
                                                                "organization"),
                                                "items"),
                                0),
                 "display_name"),
            "New Bureau Title");
    json_decref(r);
}

/* "name:views,name:views" of catalog_most_viewed(limit 10). */
static char *viewed(struct fixture *f)
{
    struct err err = ERR_INIT;
    struct buf b = BUF_INIT;
    json_t *list = NULL, *v;
    size_t i;

    assert_int_equal(catalog_most_viewed(f->s, 10, &list, &err), 0);
    json_array_foreach (list, i, v)
        buf_addf(&b, "%s%s:%lld", i ? "," : "", sget(json_object_get(v, "dataset"), "name"),
                 (long long)json_integer_value(json_object_get(v, "views")));
    json_decref(list);
    return buf_detach(&b, NULL);
}

#define assert_viewed(f, want)                                                                     \
    do {                                                                                           \
        char *got_ = viewed(f);                                                                    \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

static void hits(struct catalog_views *v, const char *dataset, unsigned n)
{
    while (n--)
        catalog_views_hit(v, dataset, strlen(dataset));
}

/* Views counted in memory by two servers over one store, flushed as sums; only public
 * datasets' views are kept, and a flush does not move the store version. */
static void test_views(void **state)
{
    struct fixture *f = *state;
    struct catalog_views *v1 = catalog_views_new(f->s, 16), *v2 = catalog_views_new(f->s, 16);
    struct catalog_views *small = catalog_views_new(f->s, 2);
    struct err err = ERR_INIT;
    uint64_t version, gen;
    json_t *d;
    char b_id[UUID_STR_LEN];

    seed_search(f); /* a-traffic, b-air, c-census public; d-secret private */
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"e-restricted\", \"title\": \"Restricted\", \"owner_org\": "
                   "\"stats-bureau\", \"access_level\": \"restricted public\"}"));
    json_decref(ok(f, catalog_package_create, &f->editor,
                   "{\"name\": \"f-gone\", \"title\": \"Deleted\", \"owner_org\": "
                   "\"stats-bureau\"}"));
    json_decref(ok(f, catalog_package_delete, &f->editor, "{\"id\": \"f-gone\"}"));
    d = ok(f, catalog_package_show, &f->anon, "{\"id\": \"b-air\"}");
    xsnprintf(b_id, sizeof(b_id), "%s", sget(d, "id"));
    json_decref(d);

    assert_viewed(f, "");
    hits(v1, "a-traffic", 3);
    hits(v1, b_id, 1); /* by id: the same dataset as by name */
    hits(v1, "d-secret", 10);
    hits(v1, "e-restricted", 10);
    hits(v1, "f-gone", 10);
    hits(v1, "no-such-dataset", 10);
    catalog_views_hit(v1, "", 0); /* ignored */
    hits(v2, "b-air", 4);
    hits(v2, "c-census", 1);
    assert_viewed(f, ""); /* nothing in the store before a flush */

    version = store_version(f->s);
    assert_int_equal(catalog_views_flush(v1, &err), 0);
    assert_viewed(f, "a-traffic:3,b-air:1");
    assert_int_equal(catalog_views_flush(v2, &err), 0);
    assert_viewed(f, "b-air:5,a-traffic:3,c-census:1");
    assert_int_equal(store_version(f->s), version);
    /* Flushed means emptied: a second flush adds nothing. */
    assert_int_equal(catalog_views_flush(v1, &err), 0);
    assert_viewed(f, "b-air:5,a-traffic:3,c-census:1");

    /* The private dataset's views were dropped at the flush, not kept for later. */
    json_decref(
            ok(f, catalog_package_patch, &f->editor, "{\"id\": \"d-secret\", \"private\": false}"));
    assert_viewed(f, "b-air:5,a-traffic:3,c-census:1");
    hits(v1, "d-secret", 2);
    assert_int_equal(catalog_views_flush(v1, &err), 0);
    assert_viewed(f, "b-air:5,a-traffic:3,d-secret:2,c-census:1");
    /* A dataset made private again leaves the list, though its total stays stored. */
    json_decref(
            ok(f, catalog_package_patch, &f->editor, "{\"id\": \"d-secret\", \"private\": true}"));
    assert_viewed(f, "b-air:5,a-traffic:3,c-census:1");
    json_decref(ok(f, catalog_package_patch, &f->editor,
                   "{\"id\": \"a-traffic\", \"access_level\": \"non-public\"}"));
    assert_viewed(f, "b-air:5,c-census:1");

    /* A key longer than LIMIT_VIEWS_KEY is not counted (it takes no place in the table);
     * a full table drops the views of further datasets, not of those it holds. */
    {
        char longkey[LIMIT_VIEWS_KEY + 2];

        memset(longkey, 'a', sizeof(longkey) - 1);
        longkey[sizeof(longkey) - 1] = '\0';
        hits(small, longkey, 1);
    }
    hits(small, "c-census", 2);
    hits(small, "b-air", 1);
    hits(small, "a-traffic", 5); /* a third dataset: dropped */
    hits(small, "c-census", 1);
    assert_int_equal(catalog_views_flush(small, &err), 0);
    assert_viewed(f, "b-air:6,c-census:4");

    /* A failed store write keeps the counts for the next flush. */
    hits(v2, "c-census", 3);
    store_fail_count_reset();
    f->s->fail_at = 1;
    assert_int_equal(catalog_views_flush(v2, &err), -ERR_INTERNAL);
    f->s->fail_at = 0;
    assert_viewed(f, "b-air:6,c-census:4");
    assert_int_equal(catalog_views_flush(v2, &err), 0);
    assert_viewed(f, "c-census:7,b-air:6");

    /* The flusher: stopping it flushes what is left; each interval moves the generation. */
    gen = catalog_views_generation(v1);
    assert_int_equal(catalog_views_start(v1, 3600, &err), 0);
    hits(v1, "b-air", 2);
    catalog_views_stop(v1);
    assert_viewed(f, "b-air:8,c-census:7");
    assert_true(catalog_views_generation(v1) == gen);

    catalog_views_free(small);
    catalog_views_free(v2);
    catalog_views_free(v1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_create_show_shape, setup, teardown),
            cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
            cmocka_unit_test_setup_teardown(test_update_patch, setup, teardown),
            cmocka_unit_test_setup_teardown(test_authorization, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_syntax, setup, teardown),
            cmocka_unit_test(test_search_text),
            cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
            cmocka_unit_test_setup_teardown(test_resource_url_schemes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_upload_last_modified, setup, teardown),
            cmocka_unit_test_setup_teardown(test_upload_urls, setup, teardown),
            cmocka_unit_test_setup_teardown(test_upload_rollback, setup, teardown),
            cmocka_unit_test_setup_teardown(test_groups_orgs_tags, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_include_drafts, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_ckan_fields, setup, teardown),
            cmocka_unit_test_setup_teardown(test_name_equal_to_an_id, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ledger_entries, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ledger_failed_actions, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ledger_failure_injection, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ledger_completeness, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_text_identical, setup, teardown),
            cmocka_unit_test_setup_teardown(test_views, setup, teardown),
            cmocka_unit_test_setup_teardown(test_facet_titles_follow_writes, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
