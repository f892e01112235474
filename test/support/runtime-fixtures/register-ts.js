/**
 * Lets a child `node` process run the TypeScript sources directly (`node -r register-ts.js x.ts`),
 * transpiling each file on load (no type check: jest already type-checks via ts-jest).
 */
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = function compile(module, filename) {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  });
  module._compile(outputText, filename);
};
