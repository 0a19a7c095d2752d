#!/usr/bin/env node
/**
 * Folder-level import graph of src/: fails when one folder imports another that imports it back,
 * directly or through others. Run: npm run check:layers  (part of `npm test`, so CI runs it).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? 'src');
const files = [];
(function walk(d) {
  for (const e of readdirSync(d)) {
    const f = path.join(d, e);
    if (statSync(f).isDirectory()) walk(f);
    else if (f.endsWith('.ts')) files.push(f);
  }
})(root);

const folderOf = (f) => {
  const rel = path.relative(root, f);
  return rel.includes(path.sep) ? rel.split(path.sep)[0] : '.';
};
const edges = new Map();
const why = new Map();
for (const f of files) {
  const from = folderOf(f);
  const text = readFileSync(f, 'utf8');
  // Static imports and re-exports, and dynamic import('...') (a lazy dependency is still one).
  for (const m of text.matchAll(/(?:(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+|\bimport\(\s*)['"](\.[^'"]+)['"]/g)) {
    const target = path.resolve(path.dirname(f), m[1]);
    const to = folderOf(target);
    if (to === from || to === '.') continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from).add(to);
    const k = `${from}->${to}`;
    if (!why.has(k)) why.set(k, `${path.relative(root, f)} → ${m[1]}`);
  }
}

// Tarjan's strongly connected components: any component of more than one folder is a loop.
let index = 0;
const idx = new Map(),
  low = new Map(),
  onStack = new Set(),
  stack = [],
  loops = [];
function strong(v) {
  idx.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1) loops.push(comp);
  }
}
for (const v of new Set([...edges.keys(), ...[...edges.values()].flatMap((s) => [...s])])) if (!idx.has(v)) strong(v);

for (const [from, tos] of [...edges].sort()) console.log(`${from.padEnd(10)} → ${[...tos].sort().join(', ')}`);
if (loops.length) {
  for (const comp of loops) {
    console.error(`import loop between folders: ${comp.join(', ')}`);
    for (const a of comp) for (const b of comp) if (edges.get(a)?.has(b)) console.error(`  ${why.get(`${a}->${b}`)}`);
  }
  process.exit(1);
}
console.log('no import loop between folders');
