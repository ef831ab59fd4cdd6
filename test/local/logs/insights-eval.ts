import t from "tap";
import { type QueryEvent, runCommands } from "../../../local/logs/insights-eval";
import { parseQuery } from "../../../local/logs/insights-parser";
import { formatTime } from "../../../local/logs/insights-values";

const events: QueryEvent[] = [
  { a: 1, b: "x", "odd key": 7, nested: { list: [10, 20] } },
  { a: 2, b: "y10", flag: true },
  { a: 3, b: "y9" },
  { b: "Z" },
].map((doc, i) => ({
  timestamp: 1_000 + i,
  ingestionTime: 2_000 + i,
  message: JSON.stringify(doc),
  logStreamName: "s",
  log: "000000000000:/g",
  ptr: `p${i}`,
}));

function rows(query: string, limit = 10_000): Record<string, string>[] {
  return runCommands(parseQuery(query), events, limit).rows.map((r) =>
    Object.fromEntries(r.filter((f) => f.field !== "@ptr").map((f) => [f.field, f.value])),
  );
}

t.test("backticked names, double-quoted strings, arrays flattened with indexes", async (t) => {
  t.same(
    rows('fields `odd key`, nested.list.1 | filter b = "x"'),
    [{ "odd key": "7", "nested.list.1": "20" }],
    "fields",
  );
  t.same(rows("filter flag = 'true' | fields a"), [{ a: "2" }], "a boolean reads as true");
});

t.test("arithmetic, unary minus, % and not", async (t) => {
  t.same(
    rows("filter ispresent(a) and not a = 2 | fields -a * 10 + a % 2 as v | sort v asc"),
    [{ v: "-29" }, { v: "-9" }],
    "values",
  );
  t.same(rows("fields a / 0 as inf | limit 1"), [{}], "a division by zero has no value");
});

t.test("sort is natural: text before numbers, digit runs by length then value", async (t) => {
  t.same(
    rows("fields b | sort b asc").map((r) => r.b),
    ["Z", "x", "y9", "y10"],
    "ascending",
  );
  t.same(
    rows("fields a | sort a desc").map((r) => r.a),
    ["3", "2", "1", undefined],
    "missing values last, descending",
  );
  t.same(
    rows("fields a | sort a asc").map((r) => r.a),
    ["1", "2", "3", undefined],
    "and ascending",
  );
});

t.test("count() counts records, count(f) records with f; stats of nothing is no row", async (t) => {
  t.same(
    rows("stats count() as n, count(a) as with_a, min(@timestamp) as first"),
    [{ n: "4", with_a: "3", first: formatTime(1_000) }],
    "counts and a time aggregate printed as a time",
  );
  t.same(rows("filter a > 10 | stats count(*)"), [], "no records");
});

t.test("the row limit caps the output, recordsMatched counts every match", async (t) => {
  const out = runCommands(parseQuery("fields a"), events, 2);
  t.equal(out.rows.length, 2, "two rows");
  t.same(out.statistics.recordsMatched, 4, "four matched");
  t.same(out.statistics.recordsScanned, 4, "four scanned");
});
