// Jest runs every module inside a vm context, where each read of a global (`Math` in
// `Math.max(…)`) goes through the context's interceptor: in a loop that costs ~30× the loop
// itself (jestjs/jest#5163, nodejs/node#31658; measured here: 5 M `Math.max(Math.abs(…))` took
// 1588 ms under jest, 54 ms with `Math` read once into a local). tfjs-backend-cpu's kernels and
// our own element loops are such loops. So every module jest loads from our sources and from
// @tensorflow/* reads these globals once, at its top, into module-local bindings: the same
// objects, so nothing but the lookups' cost changes. Inserted after any hashbang, leading
// comments and "use strict" (a directive must stay first to keep strict mode), on the same
// line, so line numbers in stack traces do not move.
const LOCALS = ['Math', 'Number', 'Array', 'Object', 'Float32Array', 'Int32Array', 'Uint8Array', 'Float64Array'];
const PROLOGUE = `var ${LOCALS.map((name) => `${name} = globalThis.${name}`).join(', ')};`;
const VERSION = 'local-globals-1';
const { createHash } = require('node:crypto');

/** Where the prologue goes: past a hashbang, comments, whitespace and a "use strict" directive. */
function insertionPoint(code) {
  let i = code.startsWith('#!') ? code.indexOf('\n') + 1 || code.length : 0;
  for (;;) {
    const rest = code.slice(i);
    const skip = /^(\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/)/.exec(rest);
    if (skip !== null) {
      i += skip[0].length;
      continue;
    }
    const directive = /^(['"])use strict\1;?/.exec(rest);
    return directive === null ? i : i + directive[0].length;
  }
}

function withLocalGlobals(code) {
  const at = insertionPoint(code);
  return code.slice(0, at) + PROLOGUE + code.slice(at);
}

/** Wraps a jest transformer (e.g. @swc/jest's) so that its output gets the prologue. */
function wrap(inner) {
  return {
    process(source, file, options) {
      const out = inner.process(source, file, options);
      return typeof out === 'string' ? withLocalGlobals(out) : { ...out, code: withLocalGlobals(out.code) };
    },
    getCacheKey(source, file, options) {
      const key = inner.getCacheKey ? inner.getCacheKey(source, file, options) : `${file}\0${source}`;
      return createHash('sha1').update(key).update(PROLOGUE).update(VERSION).digest('hex');
    },
  };
}

/** Our TypeScript: @swc/jest with the options given in the jest config, then the prologue. */
const swc = { createTransformer: (options) => wrap(require('@swc/jest').createTransformer(options)) };
/** @tensorflow/*'s CommonJS bundles: as they are, with the prologue. */
const asIs = { createTransformer: () => wrap({ process: (source) => ({ code: source }) }) };

module.exports = { PROLOGUE, withLocalGlobals, insertionPoint, wrap, swc, asIs };
