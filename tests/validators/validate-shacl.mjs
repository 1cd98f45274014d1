// Validates DCAT-AP documents (Turtle, JSON-LD or RDF/XML) against the DCAT-AP 3.0.1
// SHACL shapes (SEMICeu releases/3.0.1/html/shacl: shapes.ttl and range.ttl, in
// tests/data/standards/dcat-ap-3.0.1) with rdf-validate-shacl. Every result of severity
// sh:Violation is an error. Then checks what the shapes miss:
//   - dct:modified and dct:issued of a dcat:Dataset are literals typed xsd:date,
//     xsd:dateTime, xsd:gYear or xsd:gYearMonth with a valid lexical form (the Dataset
//     shape names its date shape with sh:shape, which SHACL does not know, so nothing
//     checks them);
//   - every dcat:Dataset has a dct:publisher and at least one dcat:contactPoint, and
//     every distribution a dcat:accessURL IRI (the shapes check them only where present,
//     or only their class);
//   - a dataset whose dct:accessRights is not PUBLIC lists no dcat:downloadURL.
// The summary lists, for the tests: the datasets (IRI, identifier, access rights,
// distributions, download URLs) and the hydra paging of a catalog page.
//
//   node validate-shacl.mjs turtle|jsonld|rdfxml FILE...
//
// Turtle is parsed with n3; JSON-LD (jsonld-streaming-parser: the context is inline, so
// nothing is fetched) and RDF/XML with the parsers of @rdfjs/formats.

import fs from 'node:fs';
import path from 'node:path';
import N3 from 'n3';
import rdf from '@zazuko/env';
import formats from '@rdfjs/formats';
import SHACLValidator from 'rdf-validate-shacl';
import { STANDARDS, run, usage } from './common.mjs';

rdf.formats.import(formats);

const [format, ...files] = process.argv.slice(2);
const MEDIA = { turtle: 'text/turtle', jsonld: 'application/ld+json', rdfxml: 'application/rdf+xml' };
if (!MEDIA[format] || !files.length) usage('usage: node validate-shacl.mjs turtle|jsonld|rdfxml FILE...');

const RDF = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';
const XSD = 'http://www.w3.org/2001/XMLSchema#';
const DCAT = 'http://www.w3.org/ns/dcat#';
const DCT = 'http://purl.org/dc/terms/';
const HYDRA = 'http://www.w3.org/ns/hydra/core#';
const SH = 'http://www.w3.org/ns/shacl#';
const PUBLIC = 'http://publications.europa.eu/resource/authority/access-right/PUBLIC';

function parseTurtle(text, base) {
  const dataset = rdf.dataset();
  for (const q of new N3.Parser({ baseIRI: base, factory: rdf }).parse(text)) dataset.add(q);
  return dataset;
}

async function parse(file) {
  if (format === 'turtle') return parseTurtle(fs.readFileSync(file, 'utf8'), 'http://invalid.example/');
  const stream = rdf.formats.parsers.import(MEDIA[format], fs.createReadStream(file), { baseIRI: 'http://invalid.example/' });
  return rdf.dataset().import(stream);
}

const shapes = rdf.dataset();
for (const name of ['shapes.ttl', 'range.ttl']) {
  const text = fs.readFileSync(path.join(STANDARDS, 'dcat-ap-3.0.1', name), 'utf8');
  for (const q of parseTurtle(text, 'http://shapes.invalid/' + name)) shapes.add(q);
}

const DATE_FORMS = {
  [XSD + 'date']: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(Z|[+-]\d{2}:\d{2})?$/,
  [XSD + 'dateTime']: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/,
  [XSD + 'gYear']: /^\d{4}(Z|[+-]\d{2}:\d{2})?$/,
  [XSD + 'gYearMonth']: /^\d{4}-(0[1-9]|1[0-2])(Z|[+-]\d{2}:\d{2})?$/,
};

function objects(data, s, p) {
  return [...data.match(s, rdf.namedNode(p))].map((q) => q.object);
}

function termText(t) {
  if (t.termType === 'Literal') return JSON.stringify(t.value) + (t.language ? '@' + t.language : t.datatype ? '^^' + t.datatype.value : '');
  return t.termType === 'BlankNode' ? '_:' + t.value : '<' + t.value + '>';
}

function own(data) {
  const errors = [];
  const datasets = [...data.match(null, rdf.namedNode(RDF + 'type'), rdf.namedNode(DCAT + 'Dataset'))].map((q) => q.subject);
  for (const ds of datasets) {
    const at = termText(ds);
    for (const p of ['modified', 'issued']) {
      for (const o of objects(data, ds, DCT + p)) {
        const form = o.termType === 'Literal' ? DATE_FORMS[o.datatype.value] : null;
        if (!form) errors.push(at + ' dct:' + p + ' ' + termText(o) + ' is not typed as a date');
        else if (!form.test(o.value)) errors.push(at + ' dct:' + p + ' ' + termText(o) + ' is not a valid ' + o.datatype.value);
      }
    }
    if (objects(data, ds, DCT + 'publisher').length !== 1) errors.push(at + ' has no single dct:publisher');
    if (!objects(data, ds, DCAT + 'contactPoint').length) errors.push(at + ' has no dcat:contactPoint');
    const rights = objects(data, ds, DCT + 'accessRights').map((o) => o.value);
    for (const dist of objects(data, ds, DCAT + 'distribution')) {
      const access = objects(data, dist, DCAT + 'accessURL');
      if (!access.length || access.some((o) => o.termType !== 'NamedNode'))
        errors.push(termText(dist) + ' has no dcat:accessURL IRI');
      if (rights.length && !rights.includes(PUBLIC) && objects(data, dist, DCAT + 'downloadURL').length)
        errors.push(at + ' is not public but ' + termText(dist) + ' has a dcat:downloadURL');
    }
  }
  return errors;
}

function summary(data) {
  const datasets = [...data.match(null, rdf.namedNode(RDF + 'type'), rdf.namedNode(DCAT + 'Dataset'))].map((q) => q.subject);
  const value = (s, p) => objects(data, s, p).map((o) => o.value);
  const pages = [...data.match(null, rdf.namedNode(RDF + 'type'), rdf.namedNode(HYDRA + 'PagedCollection'))].map((q) => q.subject);
  const hydra = {};
  if (pages.length === 1) {
    hydra.page = pages[0].value;
    for (const p of ['totalItems', 'itemsPerPage', 'firstPage', 'lastPage', 'nextPage', 'previousPage']) {
      const v = value(pages[0], HYDRA + p);
      if (v.length) hydra[p] = v.length === 1 ? v[0] : v;
    }
  }
  return {
    triples: data.size,
    catalogs: [...data.match(null, rdf.namedNode(RDF + 'type'), rdf.namedNode(DCAT + 'Catalog'))].length,
    datasets: datasets.map((ds) => ({
      iri: ds.value,
      identifier: value(ds, DCT + 'identifier'),
      title: value(ds, DCT + 'title'),
      accessRights: value(ds, DCT + 'accessRights'),
      distributions: objects(data, ds, DCAT + 'distribution').length,
      downloadURLs: objects(data, ds, DCAT + 'distribution').flatMap((d) => value(d, DCAT + 'downloadURL')),
    })),
    pagesDescribed: pages.length,
    hydra,
  };
}

await run(files, async (file) => {
  const data = await parse(file);
  const validator = new SHACLValidator(shapes, { factory: rdf });
  const report = await validator.validate(data);
  const errors = [];
  for (const r of report.results) {
    if (r.severity && r.severity.value !== SH + 'Violation') continue;
    const msg = (r.message || []).map((m) => m.value).join('; ');
    errors.push('violation at ' + (r.focusNode ? termText(r.focusNode) : '?') + ' ' +
                (r.path ? '<' + r.path.value + '> ' : '') + msg +
                (r.sourceConstraintComponent ? ' (' + r.sourceConstraintComponent.value.replace(SH, 'sh:') + ')' : ''));
  }
  errors.push(...own(data));
  return { errors, summary: summary(data) };
});
