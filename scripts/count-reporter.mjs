// A node:test reporter that counts passed and failed tests per file and writes them as JSON, so
// the runner can check that every test file ran tests.
export default async function* countReporter(source) {
  const files = {};
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { file, details } = event.data;
    const f = (files[file ?? '?'] ??= { pass: 0, fail: 0, skip: 0 });
    // A suite counts only when it is skipped whole (its tests then report nothing).
    if (details?.type === 'suite') {
      if (event.data.skip) f.skip++;
      continue;
    }
    if (event.data.skip || event.data.todo) f.skip++;
    else if (event.type === 'test:pass') f.pass++;
    else f.fail++;
  }
  yield JSON.stringify(files);
}
