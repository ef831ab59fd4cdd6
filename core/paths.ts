import { resolve } from "node:path";

/** The project root (this file lives in `core/`). */
export const PROJECT_ROOT = resolve(__dirname, "..");

/**
 * The esbuild bundle of the Lambda handler (`npm run build`): an absolute path, so it resolves
 * from a Pulumi Automation API work dir and from the local runtime's child processes alike.
 */
export const HANDLER_BUNDLE = resolve(PROJECT_ROOT, "dist", "handler.js");

/** The directory holding {@link HANDLER_BUNDLE} (what a Lambda deployment package contains). */
export const HANDLER_DIST_DIR = resolve(PROJECT_ROOT, "dist");

/** The exported handler function name inside the bundle (`handler.handler` on Lambda). */
export const HANDLER_EXPORT = "handler";
