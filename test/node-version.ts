import t from "tap";

t.test("the tests run under Node.js 22 or newer", async (t) => {
  const major = Number(process.versions.node.split(".")[0]);
  t.ok(major >= 22, `Node.js major version is ${major} (${process.execPath}), want >= 22`);
});
