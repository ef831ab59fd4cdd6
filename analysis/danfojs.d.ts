/**
 * danfojs declares its types only under package.json "exports", which the project's
 * `moduleResolution: node10` ignores; point the bare specifier at the shipped declarations.
 * Runtime resolution (Node, ts-node) uses "exports" and loads the pure-JS build.
 */
declare module "danfojs" {
  export * from "danfojs/dist/danfojs-browser/src/index";
}
