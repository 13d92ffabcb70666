// Preloaded into a CLI child (`node --import`) to crash it the hard way at a chosen point: when
// the child has written VG_DIE_AFTER lines to stderr that match VG_DIE_ON, it sends itself
// SIGKILL (kill -9), as a power cut or the OOM killer would. Nothing in the product knows of it.
const pattern = new RegExp(process.env.VG_DIE_ON ?? '$^');
const after = Number(process.env.VG_DIE_AFTER ?? '1');
let seen = 0;
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = (chunk, ...rest) => {
  const written = write(chunk, ...rest);
  if (pattern.test(String(chunk)) && ++seen >= after) process.kill(process.pid, 'SIGKILL');
  return written;
};
