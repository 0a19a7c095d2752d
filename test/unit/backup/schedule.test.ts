import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { renderScheduleFiles, shq } from '../../../src/instance/schedule-files.js';
import { instancePaths } from '../../../src/instance/layout.js';

describe('scheduled backup files', () => {
  it('quote any path for sh', () => {
    for (const s of ["/var/lib/it's here", 'a b', '$(reboot)', '`x`', '"']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shq(s)}`], { encoding: 'utf8' })).toBe(s);
    }
  });

  it("the service, the timer and the cron line all run backup.sh, which runs the instance's own tool", () => {
    const p = instancePaths('/srv/rekor/t1');
    const f = renderScheduleFiles(p, 't1');
    expect(f.backupSh).toContain(
      "exec '/srv/rekor/t1/tool/node' '/srv/rekor/t1/tool/rekor-airgap.mjs' backup --instance 't1' --data-dir '/srv/rekor/t1' \"$@\"",
    );
    expect(f.service).toMatch(
      /^ExecStart=\/srv\/rekor\/t1\/scripts\/backup\.sh --out-dir \/var\/backups\/rekor-airgap\/t1 --keep 14$/m,
    );
    expect(f.timer).toMatch(/^OnCalendar=/m);
    expect(f.cron).toMatch(
      /^17 3 \* \* \* root \/srv\/rekor\/t1\/scripts\/backup\.sh --out-dir \/var\/backups\/rekor-airgap\/t1 --keep 14 >>/m,
    );
    expect(f.restoreSh).toContain('restore "$@" --instance');
  });
});
