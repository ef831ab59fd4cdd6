import t from "tap";
import { main, USAGE } from "../../bench/analyze";
import { captureOutput } from "../helpers/process-state";

t.test("-h and --help print the usage; bad --records exits 2 naming it", async (t) => {
  for (const flag of ["-h", "--help"]) {
    const r = await captureOutput(() => main([flag]), { stderr: true });
    t.same(r.result, { status: "fulfilled", value: 0 }, `${flag}: exit 0`);
    t.equal(r.stdout.join(""), USAGE, `${flag}: usage`);
  }
  const cases: [string[], string][] = [
    [["--records", "10"], '--records="10" is invalid: allowed an integer from 1000 to 100000000'],
    [["--records"], "--records=(missing) is invalid: allowed a value after the flag"],
    [["--rows", "5"], 'flag="--rows" is invalid: allowed one of --records, --help (-h)'],
  ];
  for (const [argv, message] of cases) {
    const r = await captureOutput(() => main(argv), { stderr: true });
    t.same(r.result, { status: "fulfilled", value: 2 }, `${argv.join(" ")}: exit 2`);
    t.equal(r.stderr.join(""), `bench:analyze: ${message}\n`, `${argv.join(" ")}: message`);
  }
});
