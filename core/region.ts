/**
 * The shape of an AWS region name (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`), checked
 * where the tool reads a region: `--region`, `AWS_REGION`. Whether the region exists is for
 * AWS to say; the shape catches typos before anything is deployed or called.
 */
import { InvalidInputError } from "./errors";

const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** What a region may look like, for error messages. */
export const REGION_ALLOWED = "an AWS region name such as us-east-1";

/** Returns `raw` when it has a region's shape, else throws {@link InvalidInputError} naming `input`. */
export function parseRegion(input: string, raw: string | undefined): string {
  if (raw === undefined || !REGION_PATTERN.test(raw)) {
    throw new InvalidInputError(input, raw, REGION_ALLOWED);
  }
  return raw;
}
