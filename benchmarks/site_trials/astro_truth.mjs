// usage: node astro_truth.mjs COLLECTION_DIR BASE ROUTE_PREFIX  -> "relpath\turl" per entry Astro/Starlight routes.
// id as Astro's glob loader makes it (generateIdDefault: github-slugger per segment, "/index" dropped),
// `slug:` front matter wins; draft: true left out.
import fs from 'node:fs'; import path from 'node:path';
import { slug as githubSlug } from 'github-slugger';
import * as yaml from 'js-yaml';
const [dir, base, prefix, index_is_root] = process.argv.slice(2);
function* walk(d) { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
  const p = path.join(d, e.name); if (e.isDirectory()) yield* walk(p); else if (/\.(md|mdx)$/.test(e.name)) yield p; } }
for (const file of walk(dir)) {
  const rel = path.relative(dir, file);
  const text = fs.readFileSync(file, 'utf8');
  const m = text.match(/^---\r?\n([\s\S]*?)\r?\n---/);
  const fm = m ? (yaml.load(m[1]) || {}) : {};
  if (fm.draft === true) { continue; }
  let id = fm.slug ?? rel.replace(/\.(md|mdx)$/, '').split(path.sep).map(s => githubSlug(s)).join('/').replace(/\/index$/, '');
  if (index_is_root && (id === 'index' || id.endsWith('/index'))) id = id.replace(/\/?index$/, '');
  const p = (prefix + '/' + id).replace(/\/+/g, '/').replace(/\/$/, '');
  console.log(`${path.join(path.basename(dir), rel)}\t${base}${p}/`);
}
