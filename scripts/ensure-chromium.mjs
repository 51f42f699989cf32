// Run before `npm test`: the status page test drives Debian's Chromium, so a fresh machine gets it here
// (root with apt-get, about 20 s once). Elsewhere it only says what to install; the test then names it too.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const canInstall = process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');

if (!existsSync(CHROMIUM)) {
  if (canInstall) {
    console.log('installing Debian chromium for the status page test (once)');
    execSync('apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium', {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } else {
    console.log(`${CHROMIUM} is missing: the status page test needs it (apt-get install chromium, or set CHROMIUM_PATH)`);
  }
}
