// node validate.mjs <schema.json> <dashboard.json>...  (used by check.sh)
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';

const [schemaPath, ...files] = process.argv.slice(2);
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
let failed = 0;
for (const file of files) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(`${file}: not valid JSON: ${e.message}`);
    failed++;
    continue;
  }
  const errors = [];
  if (!validate(doc)) errors.push(...validate.errors);
  // every panel needs a PromQL expr per target (checked here so the live check can rely on it)
  const panels = (doc.panels || []).flatMap((p) => [p, ...(p.panels || [])]);
  panels.forEach((p, i) => {
    if (p.type === 'row' || p.type === 'text') return;
    (p.targets || []).forEach((t, j) => {
      if (typeof t.expr !== 'string' || !t.expr.trim())
        errors.push({ instancePath: `/panels/${i}/targets/${j}/expr`, message: 'missing PromQL expr' });
    });
  });
  if (errors.length) {
    failed++;
    // anyOf (Panel | RowPanel) reports one error per branch; keep the distinct ones
    const seen = new Set();
    for (const e of errors) {
      const line = `${file}: ${e.instancePath || '/'}: ${e.message}${e.params && e.params.additionalProperty ? ` '${e.params.additionalProperty}'` : ''}`;
      if (!seen.has(line)) { seen.add(line); console.error(line); }
    }
  } else {
    console.log(`${file}: ok`);
  }
}
if (failed) { console.error(`${failed} of ${files.length} dashboard(s) invalid`); process.exit(1); }
