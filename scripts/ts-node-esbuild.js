// A ts-node transpiler (ts-node's `--transpiler` API: a module exporting `create`) that turns
// TypeScript into CommonJS with esbuild, the bundler that already builds dist/handler.js. The
// npm scripts run the CLIs with it: TypeScript's own transpileModule is slow on a cold start
// (≈ 0.1-0.3 s per module on 2 cores), so `--help` took over a second; esbuild takes
// milliseconds. Like ts-node's transpile-only mode it strips types without checking them
// (`npm run typecheck` checks). Without esbuild installed (npm ci --omit=dev) it falls back
// to TypeScript's transpileModule, which is what ts-node does by default.
/** @param {{ service: { config: { options: import("typescript").CompilerOptions } } }} options */
exports.create = (options) => {
  let esbuild;
  try {
    esbuild = require("esbuild");
  } catch {
    const ts = require("typescript");
    return {
      transpile: (input, { fileName }) => {
        const out = ts.transpileModule(input, {
          fileName,
          compilerOptions: options.service.config.options,
          reportDiagnostics: false,
        });
        return { outputText: out.outputText, sourceMapText: out.sourceMapText };
      },
    };
  }
  return {
    transpile: (input, { fileName }) => {
      const out = esbuild.transformSync(input, {
        loader: fileName.endsWith(".tsx") ? "tsx" : "ts",
        format: "cjs",
        // tsconfig.json's target
        target: "es2022",
        platform: "node",
        // import() as TypeScript compiles it for CommonJS (a require in a promise): kept as
        // import(), Node's ES module loader would resolve "./x" without its .ts extension.
        supported: { "dynamic-import": false },
        sourcefile: fileName,
        // "use strict" in every module, as tsc emits it under tsconfig.json's `strict`
        // (esbuild emits it only when told the tsconfig's alwaysStrict).
        tsconfigRaw: { compilerOptions: { alwaysStrict: true } },
        sourcemap: "external",
        logLevel: "silent",
      });
      return { outputText: out.code, sourceMapText: out.map };
    },
  };
};
