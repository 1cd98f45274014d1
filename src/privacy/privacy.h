/*
 * privacy.h - the privacy engine (issue 5): finding personal data in tables, and
 * de-identifying them with measurable guarantees. docs/internals/privacy.md.
 *
 * The module works on tables as src/ingest reads them (struct ingest_table: typed fields,
 * rows of struct dsvalue) and on plain files; it knows nothing of the catalog, the store
 * or HTTP. The CLI (`kaifang scan`, `kaifang anonymize`), the datastore (a scan on every
 * ingest) and the publish gate call it.
 *
 * Parts, each with its own header:
 *   detect.h     validators of identifiers (GB 11643-1999 resident ID numbers, GB 32100-2015
 *                unified social credit codes, mobile and landline numbers, bank cards
 *                (Luhn), SSN, e-mail, IP addresses, dates of birth, plates, postal codes)
 *                and the classification of a table's columns (direct identifier /
 *                quasi-identifier / sensitive / other) with a masked report;
 *                docs/internals/privacy-detection.md; `kaifang scan`;
 *   gb2260.h     the GB/T 2260 county codes compiled in (data/gb2260, scripts/gen-gb2260.py);
 *   synth.h      synthetic people (valid-checksum IDs, phones, diagnoses) for tests,
 *                benchmarks and the demo; `kaifang synth people`;
 *   anon.h       generalisation hierarchies (built in, and ARX's hierarchy CSV files),
 *                privacy models (k-anonymity, l-diversity, t-closeness) with a record
 *                suppression limit, the optimal full-domain search over the lattice of
 *                hierarchy levels (Flash-style, with predictive tagging), utility metrics
 *                (loss, non-uniform entropy, discernibility, average class size) and
 *                re-identification risk; the same optimum as ARX 3.9.2 on its adult
 *                benchmark (tested node by node); docs/internals/privacy-anonymization.md;
 *                `kaifang anonymize`. Files: hierarchy.c (hierarchy CSV and built-ins),
 *                anon-data.c (the encoded table, the output), lattice.c (classes, models,
 *                metrics, risk, search), anon-int.h (what they share).
 */
#ifndef KAIFANG_PRIVACY_PRIVACY_H
#define KAIFANG_PRIVACY_PRIVACY_H

#endif
