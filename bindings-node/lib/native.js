'use strict';
// The private native addon (built from source by `npm install`, see scripts/build.js).

let native;
try {
  native = require('../native/index.js');
} catch (e) {
  const err = new Error(
    'forewarn: the native addon is not built; run `npm run build` in the forewarn package ' +
      `(it needs cargo): ${e.message}`,
  );
  err.code = 'ERR_FOREWARN_NATIVE';
  err.cause = e;
  throw err;
}

module.exports = native;
