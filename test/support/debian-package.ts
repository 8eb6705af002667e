import { spawnSync } from 'node:child_process';

/**
 * Installs a Debian package the suite drives for real (Chromium, the PostgreSQL server) when it is
 * missing, so `npm test` on a fresh machine sets itself up. Root runs apt-get directly; anyone else
 * needs password-less sudo.
 */
export function installDebianPackage(name: string, present: () => boolean): void {
  if (present()) return;
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const apt = (...args: string[]) => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
    return spawnSync(cmd!, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  process.stderr.write(`# the ${name} package is missing: installing it\n`);
  // A fresh machine's package lists may be empty; the update is only needed then.
  if (apt('install', '-y', name).status !== 0) {
    apt('update');
    const r = apt('install', '-y', name);
    if (r.status !== 0) throw new Error(`apt-get install -y ${name} failed (exit ${r.status}); install it to run the tests that need it`);
  }
  if (!present()) throw new Error(`the ${name} package installed, but what the tests need from it is still missing`);
}
