// Validates Frictionless datapackage.json files against the Data Package profiles 1.0
// and 2.0 (JSON Schema draft-07, tests/data/standards/frictionless/v1 and v2) with ajv
// and ajv-formats, and each resource's "schema" against the Table Schema profiles of
// both versions. Then checks what the profiles leave open:
//   - resource names are unique within the package (the specification requires it);
//   - every path is an absolute http(s) URL (a published package points at its files);
//   - a "hash" is "sha256:" and 64 hex digits;
//   - Table Schema field names are unique within a schema.
//
//   node validate-datapackage.mjs FILE...

import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import path from 'node:path';
import { STANDARDS, readJson, run, usage, ajvText } from './common.mjs';

const files = process.argv.slice(2);
if (!files.length) usage('usage: node validate-datapackage.mjs FILE...');

function compile(version, name) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addFormat('textarea', true); // an editor hint in the profiles, not a constraint
  return ajv.compile(readJson(path.join(STANDARDS, 'frictionless', version, name + '.json')));
}

const checks = ['v1', 'v2'].map((v) => ({
  version: v,
  pkg: compile(v, 'datapackage'),
  table: compile(v, 'tableschema'),
}));

await run(files, (file) => {
  const doc = readJson(file);
  const errors = [];
  for (const c of checks) {
    if (!c.pkg(doc)) for (const e of c.pkg.errors) errors.push(c.version + ' datapackage: ' + ajvText(e));
    (doc.resources || []).forEach((r, i) => {
      if (r.schema && !c.table(r.schema))
        for (const e of c.table.errors) errors.push(c.version + ' tableschema of /resources/' + i + ': ' + ajvText(e));
    });
  }
  const names = new Set();
  (doc.resources || []).forEach((r, i) => {
    const at = '/resources/' + i;
    if (names.has(r.name)) errors.push(at + ' name "' + r.name + '" is not unique');
    names.add(r.name);
    if (typeof r.path !== 'string' || !/^https?:\/\/[^\s]+$/.test(r.path)) errors.push(at + ' path is not an http(s) URL: ' + JSON.stringify(r.path));
    if ('hash' in r && !/^sha256:[0-9a-f]{64}$/.test(r.hash)) errors.push(at + ' hash ' + JSON.stringify(r.hash) + ' is not sha256:<64 hex>');
    if (r.schema) {
      const fields = new Set();
      for (const f of r.schema.fields || []) {
        if (fields.has(f.name)) errors.push(at + '/schema field "' + f.name + '" is not unique');
        fields.add(f.name);
      }
    }
  });
  return {
    errors,
    summary: {
      name: doc.name,
      resources: (doc.resources || []).map((r) => ({
        name: r.name,
        path: r.path,
        fields: r.schema ? r.schema.fields.map((f) => [f.name, f.type]) : null,
      })),
    },
  };
});
