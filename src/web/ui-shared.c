/*
 * ui-shared.c - the chrome every page shares: document head, site header, footer.
 */
#include <jansson.h>

#include "web/html.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/util.h"

void ui_header(struct buf *b, const char *title)
{
    HTML(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>");
    html_text(b, title);
    HTML(b, " · Kaifang</title>\n</head>\n<body>\n<header>\n"
            "<a href=\"/\">Kaifang</a>\n"
            "<form action=\"/dataset\" method=\"get\" role=\"search\">\n"
            "<label for=\"q\">Search datasets</label>\n"
            "<input type=\"search\" id=\"q\" name=\"q\">\n"
            "<button type=\"submit\">Search</button>\n</form>\n</header>\n<main>\n");
}

void ui_footer(struct buf *b)
{
    HTML(b, "</main>\n<footer>\n<p>Data published through <a href=\"/api/3\">the CKAN API "
            "v3</a>. Every change is recorded in the <a href=\"/ledger\">public "
            "ledger</a>.</p>\n</footer>\n</body>\n</html>\n");
}

void ui_link_external(struct buf *b, const char *url, const char *label)
{
    if (!url || !url[0])
        return;
    if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)) {
        html_text(b, label ? label : url);
        return;
    }
    HTML(b, "<a href=\"");
    html_attr(b, url);
    HTML(b, "\" rel=\"nofollow noopener\">");
    html_text(b, label ? label : url);
    HTML(b, "</a>");
}

void ui_dataset_item(struct buf *b, const json_t *d)
{
    const char *name = ui_str(d, "name"), *title = ui_str(d, "title");

    HTML(b, "<li><a href=\"/dataset/");
    html_url_arg(b, name);
    HTML(b, "\">");
    html_text(b, title && title[0] ? title : name);
    HTML(b, "</a></li>\n");
}

const char *ui_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

void ui_error_page(unsigned status, const char *message, struct buf *out)
{
    const char *title;

    switch (status) {
    case 400:
        title = "Bad request";
        break;
    case 403:
        title = "Forbidden";
        break;
    case 404:
        title = "Not found";
        break;
    case 503:
        title = "Service unavailable";
        break;
    default:
        title = status >= 500 ? "Server error" : "Error";
        break;
    }
    ui_header(out, title);
    HTML(out, "<h1>");
    html_text(out, title);
    HTML(out, "</h1>\n<p>");
    html_text(out, message);
    HTML(out, "</p>\n");
    ui_footer(out);
}
