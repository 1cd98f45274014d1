/*
 * load-doc.h - `kaifang load FILE|URL …`: a DCAT-US data.json, a DCAT-AP document
 * (Turtle, RDF/XML, JSON-LD) or a Frictionless data package loaded into the catalog
 * (src/dcat/dcat-import.h maps it; docs/internals/dcat.md, "Import").
 */
#ifndef KAIFANG_CLI_LOAD_DOC_H
#define KAIFANG_CLI_LOAD_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/cli-int.h"

/* The most a document may hold, read from a file (a URL: FETCH_BODY_MAX). */
#define LOAD_DOC_MAX ((size_t)256 << 20)

/*
 * Loads the documents srcs[0..n) (file paths, or http(s) URLs; a DCAT-AP catalog page
 * fetched from a URL brings its hydra:nextPage pages too) into an opened portal.
 * format: a `--format` name, or NULL to detect each document's format from its content
 * (its name as a hint). download: fetch every resource URL and store the file as an
 * upload, then ingest it into the datastore (the data package's Table Schema, when
 * there is one, gives the field types); else the resources are links.
 * Every document is read and mapped, and every dataset matched (by identifier) and
 * named, before anything is written: a bad document loads nothing, and the error names
 * the document, the dataset and the field. Returns an enum cli_status.
 */
int cli_load_documents(struct portal *p, const char *const *srcs, size_t n, const char *format,
                       bool download);

#endif
