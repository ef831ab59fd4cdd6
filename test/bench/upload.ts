import t from "tap";
import { parseOptions } from "../../bench/upload";

t.test("bench:upload flags: defaults, -h, and bad values named", async (t) => {
  t.same(parseOptions([]), { objectMb: 256, memoryMb: 512, reps: 2, strict: false }, "defaults");
  t.same(
    parseOptions(["--object-mb=64", "--reps", "1", "--strict"]),
    { objectMb: 64, memoryMb: 512, reps: 1, strict: true },
    "set",
  );
  t.equal(parseOptions(["-h"]), "help", "-h");
  t.throws(() => parseOptions(["--reps", "0"]), {
    name: "InvalidInputError",
    message: '--reps="0" is invalid: allowed an integer from 1 to 10',
  });
  t.throws(() => parseOptions(["--strict=1"]), {
    message: '--strict="1" is invalid: allowed no value (a switch)',
  });
});
