import t from "tap";
import { compileFilterPattern } from "../../../local/logs/filter-pattern";

const lines = [
  '{"run_id":"run_1700000000000_abc123","latency_ms":50,"ok":true,"workload":"events"}',
  '{"run_id":"run_1700000000000_zzz999","latency_ms":900,"ok":false,"workload":"batch"}',
  "START RequestId: 1 Version: $LATEST",
  "ERROR Exception: boom",
  "WARN slow",
];

function matching(pattern: string): string[] {
  const m = compileFilterPattern(pattern);
  return lines.filter((l) => m(l));
}

t.test("an empty pattern matches every event", async (t) => {
  t.same(matching(""), lines, "all lines");
  t.same(matching("   "), lines, "blank is empty");
});

t.test("a quoted term matches its exact text anywhere, case-sensitively", async (t) => {
  t.same(matching('"run_1700000000000_abc123"'), [lines[0]], "the run's line only");
  t.same(matching('"RequestId: 1"'), [lines[2]], "a phrase with a space and a colon");
  t.same(matching('"error"'), [], "case-sensitive");
  t.same(matching('"say \\"hi\\""'), [], "escaped quotes parse");
});

t.test("several terms must all match; ?terms any; -terms exclude", async (t) => {
  t.same(matching("ERROR Exception"), [lines[3]], "AND");
  t.same(matching("?ERROR ?WARN"), [lines[3], lines[4]], "OR");
  t.same(matching('"run_" -"zzz999"'), [lines[0]], "exclusion");
  t.same(matching("-ERROR -WARN -START").length, 2, "only exclusions");
});

t.test("JSON patterns compare fields as strings, numbers and wildcards", async (t) => {
  t.same(matching('{ $.run_id = "run_1700000000000_abc123" }'), [lines[0]], "string =");
  t.same(matching('{ $.workload != "events" }'), [lines[1]], "string !=");
  t.same(matching("{ $.latency_ms > 100 }"), [lines[1]], "number >");
  t.same(matching("{ $.latency_ms <= 50 }"), [lines[0]], "number <=");
  t.same(matching('{ $.run_id = "run_*_zzz999" }'), [lines[1]], "wildcard");
  t.same(
    matching('{ ($.latency_ms = 50 && $.workload = "events") || $.workload = "batch" }'),
    [lines[0], lines[1]],
    "&&, || and parentheses",
  );
  t.same(matching("{ $.missing = 1 }"), [], "a missing field does not match");
});

t.test("syntax the server does not support is rejected, never answered", async (t) => {
  const cases: [string, RegExp][] = [
    ["[ip, user, status=404]", /space-delimited/],
    ["%ERR[0-9]%", /regular expressions/],
    ["run_1700000000000-abc", /quote it/],
    ['"unterminated', /unterminated/],
    ["?ERROR WARN", /cannot be combined/],
    ["{ $.a IS TRUE }", /operator IS/],
    ['{ $.a > "x" }', /needs a number/],
    ["{ $.a = 1 ", /expected }/],
  ];
  for (const [pattern, why] of cases) {
    t.throws(
      () => compileFilterPattern(pattern),
      { name: "LogsError", code: "InvalidParameterException", message: why },
      pattern,
    );
  }
});
