// Validates DCAT-US 1.1 data.json files against the official Project Open Data v1.1 JSON
// Schemas (draft-04, tests/data/standards/dcat-us-1.1), then checks what those schemas
// fail to enforce although the specification requires it:
//   - the catalog lists at least one dataset (the schema's minItems sits inside "items");
//   - dataset identifiers are unique (uniqueItems, misplaced the same way);
//   - distribution lists are not empty when present (same);
//   - bureauCode is ^\d{3}:\d{2}$ and programCode ^\d{3}:\d{3}$ (the patterns are
//     unanchored: "x015:11x" passes them);
//   - rights is present for datasets whose accessLevel is not "public";
//   - such datasets list no downloadURL (only the public's data is downloadable);
//   - modified and issued are dates (the schema's patterns accept far more), and every
//     temporal side is a date or a duration.
//
//   node validate-datajson.mjs FILE...
//
// ajv-draft-04 needs unicodeRegExp: false (some patterns are invalid under the u flag)
// and strict: false (the schemas have misplaced keywords).

import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import path from 'node:path';
import { STANDARDS, readJson, run, usage, ajvText } from './common.mjs';

const files = process.argv.slice(2);
if (!files.length) usage('usage: node validate-datajson.mjs FILE...');

const dir = path.join(STANDARDS, 'dcat-us-1.1');
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
addFormats(ajv);
for (const name of ['vcard', 'organization', 'distribution', 'dataset', 'catalog'])
  ajv.addSchema(readJson(path.join(dir, name + '.json')));
const validate = ajv.getSchema('https://project-open-data.cio.gov/v1.1/schema/catalog.json');

const DATE = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
const DURATION = /^P(?=\d)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/;

function own(doc) {
  const errors = [];
  const datasets = Array.isArray(doc.dataset) ? doc.dataset : [];
  if (!datasets.length) errors.push('/dataset lists no dataset');
  const ids = new Set();
  datasets.forEach((d, i) => {
    const at = '/dataset/' + i;
    if (ids.has(d.identifier)) errors.push(at + ' identifier "' + d.identifier + '" is not unique');
    ids.add(d.identifier);
    for (const c of d.bureauCode || [])
      if (!/^\d{3}:\d{2}$/.test(c)) errors.push(at + '/bureauCode "' + c + '" is not NNN:NN');
    for (const c of d.programCode || [])
      if (!/^\d{3}:\d{3}$/.test(c)) errors.push(at + '/programCode "' + c + '" is not NNN:NNN');
    if (d.accessLevel !== 'public') {
      if (typeof d.rights !== 'string' || !d.rights.length)
        errors.push(at + ' is "' + d.accessLevel + '" without rights');
      for (const dist of d.distribution || [])
        if ('downloadURL' in dist) errors.push(at + ' is "' + d.accessLevel + '" but lists downloadURL ' + dist.downloadURL);
    }
    if (Array.isArray(d.distribution) && !d.distribution.length) errors.push(at + '/distribution is empty');
    if (typeof d.modified === 'string' && !DATE.test(d.modified)) errors.push(at + '/modified "' + d.modified + '" is not a date');
    if (typeof d.issued === 'string' && !DATE.test(d.issued)) errors.push(at + '/issued "' + d.issued + '" is not a date');
    if (typeof d.temporal === 'string') {
      const sides = d.temporal.split('/');
      if (sides.length !== 2 || !sides.every((s) => DATE.test(s) || DURATION.test(s)))
        errors.push(at + '/temporal "' + d.temporal + '" is not an interval of dates');
    }
  });
  return errors;
}

function summary(doc) {
  const datasets = Array.isArray(doc.dataset) ? doc.dataset : [];
  return {
    datasets: datasets.length,
    titles: datasets.map((d) => d.title),
    identifiers: datasets.map((d) => d.identifier),
    accessLevels: Object.fromEntries(datasets.map((d) => [d.identifier, d.accessLevel])),
    downloadURLs: datasets.flatMap((d) => (d.distribution || []).filter((x) => x.downloadURL).map((x) => x.downloadURL)),
  };
}

await run(files, (file) => {
  const doc = readJson(file);
  const errors = [];
  if (!validate(doc)) for (const e of validate.errors) errors.push(ajvText(e));
  errors.push(...own(doc));
  return { errors, summary: summary(doc) };
});
