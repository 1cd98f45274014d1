// Shared by the validators: where the standards are, reading files, and the report.
//
// Every validator prints one JSON object on stdout:
//   {"files": [{"file", "valid", "errors": [text], "summary": {...}}], "valid": bool}
// and exits 0 when every file is valid, 1 when one is not, 2 on a usage error or a file
// that cannot be read or parsed (which is also reported in "errors").

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const STANDARDS = path.join(here, '..', 'data', 'standards');

export function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export function usage(text) {
  process.stderr.write(text + '\n');
  process.exit(2);
}

// Runs check(file) -> {errors, summary} for each file and prints the report.
export async function run(files, check) {
  const out = { files: [], valid: true };
  let broken = false;
  for (const file of files) {
    let r;
    try {
      r = await check(file);
    } catch (e) {
      broken = true;
      r = { errors: ['cannot read or parse ' + file + ': ' + (e && e.message ? e.message : e)], summary: {} };
    }
    const valid = r.errors.length === 0;
    out.files.push({ file, valid, errors: r.errors, summary: r.summary || {} });
    out.valid = out.valid && valid;
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
  process.exit(broken ? 2 : out.valid ? 0 : 1);
}

// An ajv error as one line: where, what, and the offending value when short.
export function ajvText(e) {
  let s = (e.instancePath || '/') + ' ' + e.message;
  if (e.params && Object.keys(e.params).length) s += ' ' + JSON.stringify(e.params);
  return s;
}
