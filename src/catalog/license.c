/*
 * license.c - the licence list: Open Definition licence ids (opendefinition.org/licenses,
 * the ids of its licenses.json) and CKAN's default ids (ckan/model/license.py), in the
 * shape of CKAN 2.10's license_list.
 */
#include <jansson.h>
#include <pthread.h>

#include "catalog/catalog-int.h"
#include "core/util.h"

struct license_def {
    const char *id, *title, *url;
    bool content, data, software, generic;
    const char *od; /* od_conformance: "approved" | "not reviewed" | "rejected" */
};

static const struct license_def license_defs[] = {
        /* CKAN's defaults, in CKAN's order. */
        {"notspecified", "License not specified", "", false, false, false, true, "not reviewed"},
        {"odc-pddl", "Open Data Commons Public Domain Dedication and License (PDDL)",
         "http://www.opendefinition.org/licenses/odc-pddl", false, true, false, false, "approved"},
        {"odc-odbl", "Open Data Commons Open Database License (ODbL)",
         "http://www.opendefinition.org/licenses/odc-odbl", false, true, false, false, "approved"},
        {"odc-by", "Open Data Commons Attribution License",
         "http://www.opendefinition.org/licenses/odc-by", false, true, false, false, "approved"},
        {"cc-zero", "Creative Commons CCZero", "http://www.opendefinition.org/licenses/cc-zero",
         true, true, false, false, "approved"},
        {"cc-by", "Creative Commons Attribution", "http://www.opendefinition.org/licenses/cc-by",
         true, false, false, false, "approved"},
        {"cc-by-sa", "Creative Commons Attribution Share-Alike",
         "http://www.opendefinition.org/licenses/cc-by-sa", true, false, false, false, "approved"},
        {"gfdl", "GNU Free Documentation License", "http://www.opendefinition.org/licenses/gfdl",
         true, false, false, false, "approved"},
        {"other-open", "Other (Open)", "", true, false, false, true, "approved"},
        {"other-pd", "Other (Public Domain)", "", true, false, false, true, "approved"},
        {"other-at", "Other (Attribution)", "", true, false, false, true, "approved"},
        {"uk-ogl", "UK Open Government Licence (OGL)",
         "http://reference.data.gov.uk/id/open-government-licence", true, false, false, false,
         "approved"},
        {"cc-nc", "Creative Commons Non-Commercial (Any)",
         "http://creativecommons.org/licenses/by-nc/2.0/", false, false, false, false,
         "not reviewed"},
        {"other-nc", "Other (Non-Commercial)", "", false, false, false, true, "not reviewed"},
        {"other-closed", "Other (Not Open)", "", false, false, false, true, "not reviewed"},
        /* Open Definition ids of the current licence versions. */
        {"CC-BY-4.0", "Creative Commons Attribution 4.0",
         "https://creativecommons.org/licenses/by/4.0/", true, true, false, false, "approved"},
        {"CC-BY-SA-4.0", "Creative Commons Attribution Share-Alike 4.0",
         "https://creativecommons.org/licenses/by-sa/4.0/", true, true, false, false, "approved"},
        {"CC0-1.0", "CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/", true, true,
         false, false, "approved"},
        {"ODbL-1.0", "Open Data Commons Open Database License 1.0",
         "https://opendatacommons.org/licenses/odbl/1-0/", false, true, false, false, "approved"},
        {"ODC-BY-1.0", "Open Data Commons Attribution License 1.0",
         "https://opendatacommons.org/licenses/by/1-0/", false, true, false, false, "approved"},
        {"PDDL-1.0", "Open Data Commons Public Domain Dedication and License 1.0",
         "https://opendatacommons.org/licenses/pddl/1-0/", false, true, false, false, "approved"},
        {"OGL-UK-3.0", "Open Government Licence 3.0 (United Kingdom)",
         "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/", true, true,
         false, false, "approved"},
        {"GFDL-1.3", "GNU Free Documentation License 1.3",
         "https://www.gnu.org/licenses/fdl-1.3.en.html", true, false, false, false, "approved"},
};

static json_t *licenses;
static pthread_once_t licenses_once = PTHREAD_ONCE_INIT;

static void licenses_build(void)
{
    licenses = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(license_defs); i++) {
        const struct license_def *l = &license_defs[i];
        bool open = str_eq(l->od, "approved");

        json_array_append_new(
                licenses,
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:s, s:b, s:b, "
                          "s:b}",
                          "id", l->id, "title", l->title, "url", l->url, "status", "active",
                          "maintainer", "", "family", "", "domain_content", l->content,
                          "domain_data", l->data, "domain_software", l->software, "od_conformance",
                          l->od, "osd_conformance", "not reviewed", "is_generic", l->generic,
                          "is_okd_compliant", open, "is_osi_compliant", false));
    }
}

json_t *catalog_licenses(void)
{
    pthread_once(&licenses_once, licenses_build);
    return licenses;
}

json_t *license_find(const char *id)
{
    json_t *l;
    size_t i;

    if (!id)
        return NULL;
    json_array_foreach (catalog_licenses(), i, l) {
        if (str_eq(json_string_value(json_object_get(l, "id")), id))
            return l;
    }
    return NULL;
}

int catalog_license_list(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err)
{
    (void)c;
    (void)a;
    (void)params;
    (void)err;
    *result = json_deep_copy(catalog_licenses());
    return 0;
}
