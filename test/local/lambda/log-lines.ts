import t from "tap";
import { timedOutLine, timedOutText } from "../../../local/lambda/log-lines";

const ID = "8f5b2d1e-0c3a-4b7e-9d6f-2a1c3e5b7d9f";

t.test("timeouts are worded as Lambda words them", async (t) => {
  t.equal(timedOutText(3), "Task timed out after 3.00 seconds", "text");
  t.equal(
    timedOutLine(Date.UTC(2026, 0, 2, 3, 4, 5, 6), ID, 60),
    `2026-01-02T03:04:05.006Z ${ID} Task timed out after 60.00 seconds`,
    "log line",
  );
});
