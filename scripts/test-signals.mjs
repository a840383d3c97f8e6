// Loaded into every test process: a test process stopped by SIGTERM or SIGINT (the runner passing
// on its own) ends through process.exit, so that what registered for 'exit' still runs — the
// simulated nodes remove their /dev/shm directories, puppeteer closes its browser. The servers a
// test started are in the runner's process group and get the signal themselves.
for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]]) process.once(signal, () => process.exit(code));
