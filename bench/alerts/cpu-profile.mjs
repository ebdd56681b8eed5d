// Preloaded into the hub (NODE_OPTIONS=--import, since node 20 refuses --cpu-prof there): the
// first SIGUSR2 starts the V8 profiler, the second writes a .cpuprofile into KF_CPU_PROFILE_DIR,
// so the profile covers the bench's measured window only and the hub need not exit for it.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const session = new Session();
session.connect();
session.post('Profiler.enable');
let running = false;
process.on('SIGUSR2', () => {
  running = !running;
  if (running) return session.post('Profiler.start');
  session.post('Profiler.stop', (err, res) => {
    if (!err) writeFileSync(join(process.env.KF_CPU_PROFILE_DIR, `hub-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
  });
});
