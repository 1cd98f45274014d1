/*
 * sheet-int.h - what the two spreadsheet readers (xlsx.c, xls.c) share: choosing the
 * sheet the options name and recording it in the source's info (docs/internals/ingest.md,
 * "Spreadsheets").
 */
#ifndef KAIFANG_INGEST_SHEET_INT_H
#define KAIFANG_INGEST_SHEET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "ingest/ingest.h"

/*
 * Finds the sheet want names among the workbook's n sheet names (UTF-8, in workbook
 * order): a name equal to want wins, else want as a 1-based index in decimal ("2").
 * Sets *index (0-based) and returns 0, or -ERR_VALIDATION with field "sheet":
 * sheet "want" not found, listing the names the workbook has.
 */
int ingest_sheet_lookup(char *const *names, size_t n, const char *want, size_t *index,
                        struct err *err);

/* Fills info for sheet index (0-based) of the n names: format, sheet (cut at a UTF-8
 * character boundary to fit), sheet_index (1-based), nsheets, bytes; encoding "". */
void ingest_sheet_info(struct ingest_info *info, enum ingest_format format, char *const *names,
                       size_t n, size_t index, uint64_t bytes);

/* Whether the file at path starts as an OLE2 compound file does ([MS-CFB] §2.2): the
 * container of XLS workbooks and of password-protected XLSX ones. false when it cannot
 * be read. */
bool ingest_sheet_is_ole2(const char *path);

/* Frees the first n strings of v and v itself (v need not be NULL-terminated). */
void ingest_sheet_names_free(char **v, size_t n);

#endif
