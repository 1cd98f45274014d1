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

/*
 * The calendar date (proleptic Gregorian) of whole serial day days (>= 0) of a workbook
 * in the 1900 or the 1904 date system (ECMA-376 Part 1 §18.17.4.1). The 1900 system
 * counts a 1900-02-29 that never was (Lotus 1-2-3's leap-year error, kept by Excel):
 * serials 1-59 are 1900-01-01 to 1900-02-28, serial 60 (the fictitious day) is read as
 * 1900-02-28, 61 and later count from 1899-12-30, and 0 is 1899-12-31. The 1904 system
 * counts from 1904-01-01. false for a negative serial or a year past 9999.
 */
bool ingest_sheet_serial_date(bool date1904, int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Whether the file at path starts as an OLE2 compound file does ([MS-CFB] §2.2): the
 * container of XLS workbooks and of password-protected XLSX ones. false when it cannot
 * be read. */
bool ingest_sheet_is_ole2(const char *path);

/* Frees the first n strings of v and v itself (v need not be NULL-terminated). */
void ingest_sheet_names_free(char **v, size_t n);

#endif
