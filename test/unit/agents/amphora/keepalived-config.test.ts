import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AmphoraConfigError } from '../../../../src/agents/amphora/config-tokens.js';
import { haproxySocketCheck, renderKeepalivedConfig, renderVrrpStateScript, type KeepalivedConfig } from '../../../../src/agents/amphora/keepalived-config.js';

const config = (c: Partial<KeepalivedConfig> = {}): KeepalivedConfig => ({
  role: 'MASTER',
  routerId: 'amp-1',
  instanceName: 'lb-1',
  interface: 'eth1',
  virtualRouterId: 7,
  unicastSrcIp: '198.18.2.11',
  unicastPeers: ['198.18.2.12'],
  vips: ['198.18.2.100'],
  advertIntervalSeconds: 0.1,
  healthCheck: { argv: haproxySocketCheck('/run/cloudnet-amphora/haproxy.sock'), intervalSeconds: 1, timeoutSeconds: 1, fall: 2, rise: 2 },
  ...c,
});

test('the MASTER amphora, whole: VRRPv3, starts BACKUP with nopreempt, unicast, sub-second adverts, HAProxy tracked', () => {
  assert.equal(renderKeepalivedConfig(config()), `global_defs {
    router_id amp-1
    vrrp_version 3
    enable_script_security
    script_user root
}

vrrp_script check_haproxy {
    script "/usr/bin/socat -u OPEN:/dev/null UNIX-CONNECT:/run/cloudnet-amphora/haproxy.sock"
    interval 1
    timeout 1
    fall 2
    rise 2
}

vrrp_instance lb-1 {
    state BACKUP
    interface eth1
    virtual_router_id 7
    priority 100
    nopreempt
    advert_int 0.1
    garp_master_refresh 5
    garp_master_refresh_repeat 2
    unicast_src_ip 198.18.2.11
    unicast_peer {
        198.18.2.12
    }
    virtual_ipaddress {
        198.18.2.100
    }
    track_script {
        check_haproxy
    }
}
`);
});

test('roles differ only in priority; both start BACKUP', () => {
  const master = renderKeepalivedConfig(config()).split('\n');
  const backup = renderKeepalivedConfig(config({ role: 'BACKUP' })).split('\n');
  const differing = master.flatMap((line, i) => (line === backup[i] ? [] : [[line.trim(), backup[i]!.trim()]]));
  assert.deepEqual(differing, [['priority 100', 'priority 90']]);
  assert.ok(backup.includes('    state BACKUP') && backup.includes('    nopreempt'));
});

test('dual stack: VIPs of the VRRP family are advertised, the others move with them as excluded addresses', () => {
  const v4 = renderKeepalivedConfig(config({ vips: ['fd00:18::100', '198.18.2.100', '198.18.2.101'] }));
  assert.match(v4, /virtual_ipaddress \{\n {8}198\.18\.2\.100\n {8}198\.18\.2\.101\n {4}\}\n {4}virtual_ipaddress_excluded \{\n {8}fd00:18::100\n {4}\}/);
  const v6 = renderKeepalivedConfig(config({ unicastSrcIp: 'fd00:18::11', unicastPeers: ['fd00:18::12'], vips: ['fd00:18::100', '198.18.2.100'] }));
  assert.match(v6, /unicast_src_ip fd00:18::11\n {4}unicast_peer \{\n {8}fd00:18::12\n {4}\}\n {4}virtual_ipaddress \{\n {8}fd00:18::100\n {4}\}\n {4}virtual_ipaddress_excluded \{\n {8}198\.18\.2\.100\n {4}\}/);
});

test('a notify script records the VRRP state; without one none is rendered', () => {
  assert.match(renderKeepalivedConfig(config({ notifyScript: '/var/lib/amp/vrrp-notify.sh' })), /track_script \{\n {8}check_haproxy\n {4}\}\n {4}notify \/var\/lib\/amp\/vrrp-notify\.sh\n\}\n$/);
  assert.ok(!renderKeepalivedConfig(config()).includes('notify'));
  assert.throws(() => renderKeepalivedConfig(config({ notifyScript: 'notify.sh' })), /absolute path/);
  assert.equal(renderVrrpStateScript('/var/lib/amp/vrrp-state'), `#!/bin/sh\nprintf '%s\\n' "$3" > /var/lib/amp/vrrp-state.new && mv -f /var/lib/amp/vrrp-state.new /var/lib/amp/vrrp-state\n`);
  assert.throws(() => renderVrrpStateScript('/var/lib/a dir/vrrp-state'), /one word/);
});

test("VIPs keep their subnet's prefix length when they carry one", () => {
  assert.match(renderKeepalivedConfig(config({ vips: ['198.18.2.100/24', 'fd00:18::100/64'] })), /virtual_ipaddress \{\n {8}198\.18\.2\.100\/24\n {4}\}\n {4}virtual_ipaddress_excluded \{\n {8}fd00:18::100\/64\n {4}\}/);
});

test('advert_int in centiseconds', () => {
  const cases: [number, string][] = [[0.1, 'advert_int 0.1'], [0.01, 'advert_int 0.01'], [0.25, 'advert_int 0.25'], [1, 'advert_int 1'], [40.95, 'advert_int 40.95']];
  for (const [seconds, line] of cases) assert.ok(renderKeepalivedConfig(config({ advertIntervalSeconds: seconds })).includes(`    ${line}\n`), line);
});

test('refused, with a clear error', () => {
  const cases: [string, Partial<KeepalivedConfig>, RegExp][] = [
    ['advert_int not in centiseconds', { advertIntervalSeconds: 0.125 }, /multiple of 0.01/],
    ['advert_int too long for VRRPv3', { advertIntervalSeconds: 41 }, /40.95/],
    ['advert_int zero', { advertIntervalSeconds: 0 }, /advert_int 0/],
    ['no peer', { unicastPeers: [] }, /at least one peer/],
    ['peer of another family', { unicastPeers: ['fd00::12'] }, /not of unicast_src_ip's family/],
    ['peer is ourselves', { unicastPeers: ['198.18.2.11'] }, /own address/],
    ['no VIP', { vips: [] }, /at least one VIP/],
    ['no VIP of the VRRP family', { vips: ['fd00::100'] }, /no VIP of unicast_src_ip's family \(IPv4\)/],
    ['VIP not an address', { vips: ['vip.example'] }, /not an IP address/],
    ['VIP with a bad prefix length', { vips: ['198.18.2.100/33'] }, /not a CIDR/],
    ['virtual router id out of range', { virtualRouterId: 256 }, /virtual_router_id 256/],
    ['interface name too long', { interface: 'a-very-long-interface' }, /not a Linux interface name/],
    ['relative check executable', { healthCheck: { ...config().healthCheck, argv: ['socat'] } }, /absolute path/],
    ['check argument with a quote', { healthCheck: { ...config().healthCheck, argv: ['/bin/sh', '-c', '"x"'] } }, /one word/],
    ['fractional check interval', { healthCheck: { ...config().healthCheck, intervalSeconds: 0.5 } }, /interval 0.5/],
  ];
  for (const [name, c, message] of cases) {
    assert.throws(() => renderKeepalivedConfig(config(c)), (e: unknown) => e instanceof AmphoraConfigError && message.test(e.message), name);
  }
});

/**
 * keepalived -t checks the interface exists, so the check runs in a network namespace of its own holding a veth
 * named like the VRRP port. It needs root (ip netns); keepalived -t exits non-zero on warnings as well as errors.
 */
test('keepalived 2.2.7 accepts the rendered configs (keepalived -t), and refuses VRRPv2 with sub-second adverts', { skip: process.getuid?.() !== 0 && 'needs root for a network namespace' }, () => {
  const namespace = `cn-${randomBytes(3).toString('hex')}-amp`;
  const dir = mkdtempSync(join(tmpdir(), 'cloudnet-amphora-keepalived-'));
  execFileSync('ip', ['netns', 'add', namespace]);
  try {
    execFileSync('ip', ['-n', namespace, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1-peer']);
    const check = (text: string, name: string) => {
      const file = join(dir, `${name}.conf`);
      writeFileSync(file, text);
      const r = spawnSync('ip', ['netns', 'exec', namespace, 'keepalived', '-t', '-l', '-D', '-f', file], { encoding: 'utf8' });
      return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
    };
    const cases: [string, Partial<KeepalivedConfig>][] = [
      ['master', {}],
      ['backup', { role: 'BACKUP' }],
      ['dual-stack', { vips: ['198.18.2.100', 'fd00:18::100'] }],
      ['ipv6', { unicastSrcIp: 'fd00:18::11', unicastPeers: ['fd00:18::12'], vips: ['fd00:18::100', '198.18.2.100'] }],
      ['fastest', { advertIntervalSeconds: 0.01 }],
      ['notify', { notifyScript: '/usr/bin/true' }],
      ['prefixed VIPs', { vips: ['198.18.2.100/24', 'fd00:18::100/64'] }],
    ];
    for (const [name, c] of cases) {
      const { ok, output } = check(renderKeepalivedConfig(config(c)), name);
      assert.ok(ok, `${name}: ${output}`);
    }
    // The same sub-second interval under VRRPv2 is what keepalived refuses: the reason for version 3.
    const v2 = renderKeepalivedConfig(config()).replace('    vrrp_version 3\n', '');
    const { ok, output } = check(v2, 'vrrp-v2');
    assert.equal(ok, false);
    assert.match(output, /must be an integer/);
  } finally {
    execFileSync('ip', ['netns', 'del', namespace]);
    rmSync(dir, { recursive: true, force: true });
  }
});
