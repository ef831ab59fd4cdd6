import type { Cell } from "./cell";
import type { Backend } from "./run-files";

/** What a deployed cell exposes to the invoker and the harvester. */
export interface DeployedCell {
  readonly cellId: string;
  readonly functionName: string;
  readonly bucket: string;
  readonly logGroup: string;
  readonly region: string;
  /** Endpoint overrides for the AWS clients; absent on AWS itself. */
  readonly endpoints: {
    readonly lambda?: string;
    readonly s3?: string;
  };
  /** Credentials for the endpoints above (the local backend's); absent on AWS. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * Turns a cell into live endpoints and takes them down again (docs/architecture.md "Data flow").
 * `PulumiDeployer` (`--backend aws`) and `LocalDeployer` (`--backend local`) implement it.
 */
export interface Deployer {
  readonly backend: Backend;
  /** One-time work before any cell deploys (e.g. install the aws plugin once). */
  prepare(cells: readonly Cell[]): Promise<void>;
  /**
   * Deploys a cell; `signal` aborts the running operation. `attempt` is the cell's deploy
   * attempt in this run (default 1): from 2 on, the function and its log group get names of
   * their own (core/names.ts `functionName`), since an earlier attempt's log group is retained
   * and its function may have leaked.
   */
  deploy(cell: Cell, signal?: AbortSignal, attempt?: number): Promise<DeployedCell>;
  /** Destroys whatever `deploy` created for the cell; safe to call when nothing is live. */
  destroy(cell: Cell, signal?: AbortSignal): Promise<void>;
  /** Releases the deployer's own resources (servers, workspaces). */
  close(): Promise<void>;
}
