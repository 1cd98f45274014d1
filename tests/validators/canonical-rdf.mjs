// Canonical N-Quads of an RDF document, for comparing graphs in the tests (import round
// trip): `node canonical-rdf.mjs ntriples FILE.ttl` prints the triples of a Turtle
// document as N-Triples (blank nodes as in the file); `node canonical-rdf.mjs canon
// FILE.nt` prints the canonical form (RDF Dataset Canonicalization, URDNA2015, by
// rdf-canonize) of an N-Triples file, one quad a line, sorted: two graphs are
// isomorphic when these outputs are equal.

import fs from 'node:fs';
import N3 from 'n3';
import canonize from 'rdf-canonize';

const [mode, file] = process.argv.slice(2);
const text = fs.readFileSync(file, 'utf8');
if (mode === 'ntriples') {
  const quads = new N3.Parser({ format: 'text/turtle' }).parse(text);
  const writer = new N3.Writer({ format: 'N-Triples' });
  process.stdout.write(writer.quadsToString(quads));
} else if (mode === 'canon') {
  const out = await canonize.canonize(text, { algorithm: 'URDNA2015', inputFormat: 'application/n-quads' });
  process.stdout.write(out.split('\n').filter((l) => l).sort().join('\n') + '\n');
} else {
  console.error('usage: node canonical-rdf.mjs ntriples|canon FILE');
  process.exit(2);
}
