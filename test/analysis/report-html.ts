import t from "tap";
import { price } from "../../analysis/report-html";

t.test("unit prices are printed as plain decimals with six significant digits", async (t) => {
  t.equal(price(0.2 * 1e-6), "0.0000002", "Lambda request price, not 2.0000000000000002e-7");
  t.equal(price(0.0000133334), "0.0000133334", "arm64 GB-s price keeps its digits");
  t.equal(price(0.000005), "0.000005", "S3 PUT price");
  t.equal(price(0.5), "0.5", "Logs ingestion price");
  t.equal(price(12), "12", "integers lose the trailing zeros");
});
