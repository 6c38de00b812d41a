import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AmphoraReconciler, maxconnWithin } from '../../../../src/agents/amphora/reconciler.js';
import type { AmphoraTarget } from '../../../../src/agents/amphora/target.js';
import type { LoadBalancer } from '../../../../src/agents/amphora/types.js';
import { eventually, Topology } from '../../../e2e/host-agent/topology.js';
import { balancer, listener, member, monitor, pairTarget, pool } from './fixtures.js';
import { clientLoop, longestGapMs, requests, startMember } from './traffic.js';

const VIP = '198.18.0.100';

test("HAProxy's default maxconn fits the open-file limit it inherits", () => {
  const cases: [number, number][] = [[1_048_576, 50_000], [20_000, 9_500], [1_200, 100], [101_000, 50_000]];
  for (const [limit, maxconn] of cases) assert.equal(maxconnWithin(limit), maxconn, `limit ${limit}`);
});
const AMPHORAE = { a1: '198.18.0.11', a2: '198.18.0.12' } as const;

/**
 * Two amphorae in ACTIVE_STANDBY on one bridge (the fabric namespace) with a client and two members, each in a
 * namespace of this run; the reconcilers run in this process and drive real HAProxy and keepalived in them.
 */
describe('amphora reconciler: HAProxy and keepalived in namespaces', { skip: process.getuid?.() !== 0 && 'needs root for network namespaces' }, () => {
  const topology = new Topology();
  const dirs: string[] = [];
  const reconcilers: Record<string, AmphoraReconciler> = {};
  const namespaceGone: Record<string, boolean> = {};
  let client = '';
  let stopMember2 = async () => {};
  let revision = 0;
  let vips = [`${VIP}/24`];

  const tree = (lb: Partial<LoadBalancer> = {}): LoadBalancer =>
    balancer({
      vipAddress: VIP,
      listeners: [listener({ id: 'l1', protocol: 'TCP', protocolPort: 80 })],
      pools: [
        pool({
          id: 'p1',
          protocol: 'TCP',
          healthMonitor: monitor({ delay: 1, timeout: 1, maxRetries: 1, maxRetriesDown: 1 }),
          members: [member({ id: 'm1', address: '198.18.0.21', protocolPort: 8080 }), member({ id: 'm2', address: '198.18.0.22', protocolPort: 8080 })],
        }),
      ],
      ...lb,
    });

  const target = (amphora: 'a1' | 'a2', lb: LoadBalancer, certificates: Record<string, string> = {}): AmphoraTarget =>
    pairTarget(amphora, AMPHORAE, { lb, revision, vips, virtualRouterId: 51, certificates });

  /** Both amphorae get the next revision of the same tree. */
  const applyBoth = async (lb: LoadBalancer, certificates: Record<string, string> = {}) => {
    revision++;
    return [await reconcilers.a1!.apply(target('a1', lb, certificates)), await reconcilers.a2!.apply(target('a2', lb, certificates))];
  };

  const bodies = async (port = 80, count = 6) => (await requests(topology, client, `http://${VIP}:${port}/`, count)).map((a) => (a.ok ? a.body : `failed: ${a.error}`));

  before(async () => {
    await topology.createFabric();
    client = await topology.addHost('client', '198.18.0.2');
    const m1 = await topology.addHost('m1', '198.18.0.21');
    const m2 = await topology.addHost('m2', '198.18.0.22');
    await startMember(topology, m1, '198.18.0.21', 8080, 'm1');
    const member2 = await startMember(topology, m2, '198.18.0.22', 8080, 'm2');
    await startMember(topology, await topology.addHost('m3', '198.18.0.23'), '198.18.0.23', 8080, 'm3');
    stopMember2 = () => topology.stopChild(member2);
    for (const [name, address] of Object.entries(AMPHORAE)) {
      const netns = await topology.addHost(name, address);
      const stateDir = mkdtempSync(join(tmpdir(), `cloudnet-amphora-${name}-`));
      dirs.push(stateDir);
      const reconciler = new AmphoraReconciler({
        netns,
        stateDir,
        logger: pino({ level: process.env.CLOUDNET_TEST_LOG ?? 'silent' }),
        onNamespaceGone: () => (namespaceGone[name] = true),
      });
      await reconciler.start();
      reconcilers[name] = reconciler;
    }
  });

  after(async () => {
    for (const r of Object.values(reconcilers)) await r.stop();
    await topology.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the client reaches the VIP; both members answer in turn; the MASTER holds the VIP', async () => {
    assert.deepEqual(await applyBoth(tree()), ['start', 'start']);
    await eventually('a1 MASTER, a2 BACKUP', async () => (await reconcilers.a1!.health()).vrrpState === 'MASTER' && (await reconcilers.a2!.health()).vrrpState === 'BACKUP');
    await eventually('the VIP answers', async () => ['m1', 'm2'].includes((await bodies(80, 1))[0]!));
    const answers = await bodies(80, 6);
    assert.deepEqual(new Set(answers), new Set(['m1', 'm2']), `round robin over both members: ${answers}`);
    assert.ok(answers.every((b, i) => i === 0 || b !== answers[i - 1]), `alternating: ${answers}`);
    const health = await reconcilers.a1!.health();
    assert.equal(health.haproxy, 'RUNNING');
    assert.equal(health.appliedConfigRevision, revision);
    assert.equal(health.applyError, null);
    assert.equal(health.listeners.l1!.status, 'OPEN');
    assert.ok(health.listeners.l1!.stats.totalConnections >= 6, JSON.stringify(health.listeners));
    assert.deepEqual(health.pools, { p1: { status: 'UP', members: { m1: 'UP', m2: 'UP' } } });
  });

  it('an unchanged target changes nothing', async () => {
    const before = await reconcilers.a1!.haproxyProcesses();
    assert.deepEqual([await reconcilers.a1!.apply(target('a1', tree())), await reconcilers.a2!.apply(target('a2', tree()))], ['unchanged', 'unchanged']);
    assert.deepEqual(await reconcilers.a1!.haproxyProcesses(), before);
  });

  it('a member weight change goes through the runtime API: no reload, same worker', async () => {
    const before = await reconcilers.a1!.haproxyProcesses();
    const drained = tree();
    drained.pools[0]!.members[1]!.weight = 0;
    assert.deepEqual(await applyBoth(drained), ['runtime', 'runtime']);
    const after = await reconcilers.a1!.haproxyProcesses();
    assert.equal(after.reloads, before.reloads);
    assert.deepEqual(after.workers, before.workers);
    assert.deepEqual(new Set(await bodies(80, 6)), new Set(['m1']), 'the drained member gets no new connection');
    assert.deepEqual(await applyBoth(tree()), ['runtime', 'runtime']);
    assert.deepEqual(new Set(await bodies(80, 6)), new Set(['m1', 'm2']));
  });

  it('a new member is added through the runtime API: no reload, same worker, checked and served at once', async () => {
    const before = await reconcilers.a1!.haproxyProcesses();
    const grown = tree();
    grown.pools[0]!.members.push(member({ id: 'm3', address: '198.18.0.23', protocolPort: 8080 }));
    assert.deepEqual(await applyBoth(grown), ['runtime', 'runtime']);
    const after = await reconcilers.a1!.haproxyProcesses();
    assert.equal(after.reloads, before.reloads);
    assert.deepEqual(after.workers, before.workers);
    await eventually('m3 answers', async () => (await bodies(80, 3)).includes('m3'));
    await eventually('m3 checked UP', async () => (await reconcilers.a1!.health()).pools.p1?.members.m3 === 'UP');
    // Removing it is a reload, to the config that never had it.
    assert.deepEqual(await applyBoth(tree()), ['reload', 'reload']);
    assert.deepEqual(new Set(await bodies(80, 6)), new Set(['m1', 'm2']));
  });

  it('a new listener is a hitless reload: a client loop across it sees no failed connection', async () => {
    const before = await reconcilers.a1!.haproxyProcesses();
    const loop = clientLoop(topology, client, `http://${VIP}/`, 250);
    await eventually('the loop is under way', async () => loop.attempts().length >= 10, 10_000, 20);
    const twoListeners = tree({ listeners: [listener({ id: 'l1', protocol: 'TCP', protocolPort: 80 }), listener({ id: 'l2', protocol: 'TCP', protocolPort: 81 })] });
    assert.deepEqual(await applyBoth(twoListeners), ['reload', 'reload']);
    const seenBeforeStop = loop.attempts().length;
    await eventually('the loop runs on after the reload', async () => loop.attempts().length >= seenBeforeStop + 10, 10_000, 20);
    const attempts = await loop.stop();
    const failed = attempts.filter((a) => !a.ok);
    assert.deepEqual(failed, [], `${failed.length} of ${attempts.length} requests failed across the reload`);
    const after = await reconcilers.a1!.haproxyProcesses();
    assert.equal(after.reloads, before.reloads + 1);
    assert.equal(after.failedReloads, before.failedReloads);
    assert.notEqual(after.workers[0]!.pid, before.workers[0]!.pid);
    assert.ok((await bodies(81, 2)).every((b) => b === 'm1' || b === 'm2'), 'the new listener serves');
    assert.equal((await reconcilers.a1!.health()).listeners.l2!.status, 'OPEN');
  });

  it('a config HAProxy refuses is reported, and the old one keeps serving', async () => {
    const good = tree({ listeners: [listener({ id: 'l1', protocol: 'TCP', protocolPort: 80 }), listener({ id: 'l2', protocol: 'TCP', protocolPort: 81 })] });
    const goodRevision = revision;
    const before = await reconcilers.a1!.haproxyProcesses();
    const https = listener({
      id: 'l3',
      protocol: 'TERMINATED_HTTPS',
      protocolPort: 443,
      defaultPoolId: null,
      tls: { defaultCertificatePath: 'bad', sniCertificatePaths: [], alpnProtocols: [], tlsVersions: ['TLSv1.2', 'TLSv1.3'], tlsCiphers: null, clientAuthentication: 'NONE', clientCaPath: null, clientCrlPath: null },
    });
    assert.deepEqual(await applyBoth({ ...good, listeners: [...good.listeners, https] }, { bad: 'not a certificate\n' }), ['refused', 'refused']);
    const health = await reconcilers.a1!.health();
    assert.match(health.applyError ?? '', /haproxy -c refused the config: .*ALERT.*bind/);
    assert.equal(health.appliedConfigRevision, goodRevision);
    assert.equal(health.haproxy, 'RUNNING');
    assert.deepEqual(await reconcilers.a1!.haproxyProcesses(), before);
    assert.deepEqual(new Set(await bodies(80, 4)), new Set(['m1', 'm2']));
    // Certificates are written owner-only; once the refused config is replaced, its files go.
    const stateDir = dirs[0]!;
    revision++;
    assert.equal(await reconcilers.a1!.apply(target('a1', good)), 'unchanged');
    assert.equal(await reconcilers.a2!.apply(target('a2', good)), 'unchanged');
    assert.equal((await reconcilers.a1!.health()).applyError, null);
    assert.deepEqual(readdirSync(join(stateDir, 'certs')), []);
  });

  it('a member disabled through the runtime API serves again when a reload enables it', async () => {
    const twoListeners = (m2Up: boolean, ports: number[]) => {
      const lb = tree({ listeners: ports.map((port) => listener({ id: `l${port - 79}`, protocol: 'TCP', protocolPort: port })) });
      lb.pools[0]!.members[1]!.adminStateUp = m2Up;
      return lb;
    };
    assert.deepEqual(await applyBoth(twoListeners(false, [80, 81])), ['runtime', 'runtime']);
    assert.deepEqual(new Set(await bodies(80, 4)), new Set(['m1']));
    // The reload's saved server state says m2 is in maintenance; the target says it is not.
    assert.deepEqual(await applyBoth(twoListeners(true, [80, 81, 82])), ['reload', 'reload']);
    assert.deepEqual(new Set(await bodies(80, 4)), new Set(['m1', 'm2']));
    assert.deepEqual(await applyBoth(twoListeners(true, [80, 81])), ['reload', 'reload']);
  });

  it('without a monitor, a member disabled and then enabled by a reload serves again', async () => {
    const unchecked = (m2Up: boolean, ports: number[]) => {
      const lb = tree({ listeners: ports.map((port) => listener({ id: `l${port - 79}`, protocol: 'TCP', protocolPort: port })) });
      lb.pools[0]!.healthMonitor = null;
      lb.pools[0]!.members[1]!.adminStateUp = m2Up;
      return lb;
    };
    assert.deepEqual(await applyBoth(unchecked(false, [80])), ['reload', 'reload']);
    assert.deepEqual(new Set(await bodies(80, 4)), new Set(['m1']));
    // The saved server state has m2 stopped, and no check will ever start it: the agent declares it up.
    assert.deepEqual(await applyBoth(unchecked(true, [80, 81])), ['reload', 'reload']);
    assert.deepEqual(new Set(await bodies(80, 4)), new Set(['m1', 'm2']));
    assert.deepEqual((await reconcilers.a1!.health()).pools.p1!.members, { m1: 'NO_CHECK', m2: 'NO_CHECK' });
  });

  it('a PING monitor: members that answer ICMP are UP, an address nobody holds goes DOWN', async () => {
    const pinged = tree();
    pinged.pools[0]!.healthMonitor = monitor({ type: 'PING', delay: 1, timeout: 1, maxRetries: 1, maxRetriesDown: 1 });
    pinged.pools[0]!.members.push(member({ id: 'm3', address: '198.18.0.29', protocolPort: 8080 }));
    assert.deepEqual(await applyBoth(pinged), ['reload', 'reload']);
    await eventually('m1 and m2 UP, m3 DOWN', async () => JSON.stringify((await reconcilers.a1!.health()).pools.p1?.members) === JSON.stringify({ m1: 'UP', m2: 'UP', m3: 'DOWN' }), 15_000);
    assert.deepEqual(new Set(await bodies(80, 6)), new Set(['m1', 'm2']));
  });

  it('certificates are written 0600 and served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloudnet-amphora-cert-'));
    dirs.push(dir);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=vip.example', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const pem = execFileSync('cat', [join(dir, 'cert.pem'), join(dir, 'key.pem')], { encoding: 'utf8' });
    const withTls = tree({
      listeners: [
        listener({ id: 'l1', protocol: 'TCP', protocolPort: 80 }),
        listener({ id: 'l3', protocol: 'TERMINATED_HTTPS', protocolPort: 443, tls: { defaultCertificatePath: 'container-1', sniCertificatePaths: [], alpnProtocols: [], tlsVersions: ['TLSv1.2', 'TLSv1.3'], tlsCiphers: null, clientAuthentication: 'NONE', clientCaPath: null, clientCrlPath: null } }),
      ],
      pools: [{ ...tree().pools[0]!, protocol: 'HTTP' }],
    });
    // A TERMINATED_HTTPS listener needs an HTTP pool, and l1 (TCP) may not share it: give l1 a TCP pool of its own.
    withTls.pools.push({ ...tree().pools[0]!, id: 'p0' });
    withTls.listeners[0]!.defaultPoolId = 'p0';
    assert.deepEqual(await applyBoth(withTls, { 'container-1': pem }), ['reload', 'reload']);
    const files = readdirSync(join(dirs[0]!, 'certs'));
    assert.equal(files.length, 1);
    assert.equal(statSync(join(dirs[0]!, 'certs', files[0]!)).mode & 0o777, 0o600);
    const body = await topology.exec(client, ['curl', '-sk', '--max-time', '2', `https://${VIP}/`]);
    assert.ok(body === 'm1' || body === 'm2', body);
  });

  it('health reports a member DOWN once its server stops', async () => {
    await stopMember2();
    await eventually('m2 DOWN', async () => (await reconcilers.a1!.health()).pools.p0?.members.m2 === 'DOWN', 15_000);
    const health = await reconcilers.a1!.health();
    assert.equal(health.pools.p0!.members.m1, 'UP');
    assert.equal(health.pools.p0!.status, 'UP');
    assert.deepEqual(new Set(await bodies(80, 4)), new Set(['m1']), 'only the healthy member gets traffic');
  });

  it('a keepalived change is a SIGHUP reload: a second VIP appears on the MASTER, same keepalived process', async () => {
    const pidOf = (r: AmphoraReconciler) => readFileSync(r.paths.keepalivedPid, 'utf8').trim();
    const pids = [pidOf(reconcilers.a1!), pidOf(reconcilers.a2!)];
    const current = tree({ listeners: [listener({ id: 'l1', protocol: 'TCP', protocolPort: 80 })], pools: [{ ...tree().pools[0]!, id: 'p0' }] });
    current.listeners[0]!.defaultPoolId = 'p0';
    assert.deepEqual(await applyBoth(current), ['reload', 'reload']);
    vips = [`${VIP}/24`, '198.18.0.101/24'];
    assert.deepEqual(await applyBoth(current), ['vip', 'vip']);
    await eventually('the second VIP on a1', async () => (await topology.exec(topology.ns('a1'), ['ip', '-br', 'addr', 'show', 'uplink'])).includes('198.18.0.101/24'), 10_000, 50);
    assert.deepEqual([pidOf(reconcilers.a1!), pidOf(reconcilers.a2!)], pids);
    assert.equal((await reconcilers.a1!.health()).vrrpState, 'MASTER');
  });

  /** Who holds the VIP now, and the other one. */
  const roles = async () => ((await reconcilers.a1!.health()).vrrpState === 'MASTER' ? { master: 'a1', backup: 'a2' } : { master: 'a2', backup: 'a1' }) as { master: 'a1' | 'a2'; backup: 'a1' | 'a2' };
  let survivor: 'a1' | 'a2' = 'a2';

  it("the MASTER's HAProxy killed: its supervisor starts it again (the client's gap is printed)", async () => {
    const { master } = await roles();
    const before = await reconcilers[master]!.haproxyProcesses();
    // A short timeout per request, so that one that hangs does not hide when the VIP answers again.
    const loop = clientLoop(topology, client, `http://${VIP}/`, 500, 20, 100);
    await eventually('the loop is under way', async () => loop.attempts().length >= 10, 10_000, 20);
    process.kill(before.masterPid, 'SIGKILL');
    await eventually(`a new HAProxy master on ${master}`, async () => {
      const now = await reconcilers[master]!.haproxyProcesses().catch(() => undefined);
      return now !== undefined && now.masterPid !== before.masterPid && (await reconcilers[master]!.health()).haproxy === 'RUNNING';
    }, 15_000, 50);
    const seen = loop.attempts().length;
    await eventually('the client is served again', async () => loop.attempts().slice(seen).filter((a) => a.ok).length >= 10, 10_000, 50);
    const attempts = await loop.stop();
    console.log(`HAProxy killed on the MASTER (${master}): the client's longest gap was ${longestGapMs(attempts)} ms (${attempts.filter((a) => !a.ok).length} of ${attempts.length} requests failed, 20 ms loop); the VIP is now on ${(await roles()).master}`);
    assert.equal((await reconcilers[master]!.health()).listeners.l1!.status, 'OPEN');
  });

  it('deleting the MASTER amphora namespace moves the VIP to the BACKUP (the client\'s gap is printed)', async () => {
    const { master, backup } = await roles();
    survivor = backup;
    const loop = clientLoop(topology, client, `http://${VIP}/`, 500, 20, 100);
    await eventually('the loop is under way', async () => loop.attempts().length >= 10, 10_000, 20);
    execFileSync('ip', ['netns', 'del', topology.ns(master)]);
    await eventually(`${master} noticed its namespace is gone`, async () => namespaceGone[master], 10_000, 50);
    await eventually(`${backup} MASTER`, async () => (await reconcilers[backup]!.health()).vrrpState === 'MASTER', 10_000, 50);
    const seen = loop.attempts().length;
    await eventually(`the client is served by ${backup}`, async () => loop.attempts().slice(seen).filter((a) => a.ok).length >= 10, 10_000, 50);
    const attempts = await loop.stop();
    const gap = longestGapMs(attempts);
    console.log(`failover: the client's longest gap between answers was ${gap} ms (${attempts.filter((a) => !a.ok).length} of ${attempts.length} requests failed, 20 ms loop)`);
    assert.ok(attempts.at(-1)!.ok);
    assert.equal((await reconcilers[master]!.health()).haproxy, 'STOPPED');
    assert.equal((await reconcilers[master]!.health()).vrrpState, 'STOPPED');
  });

  it('while its peer is being replaced (no peer named), the survivor keeps keepalived and the VIP', async () => {
    const pid = readFileSync(reconcilers[survivor]!.paths.keepalivedPid, 'utf8').trim();
    revision++;
    const alone = target(survivor, tree());
    alone.vrrp!.unicastPeers = [];
    assert.notEqual(await reconcilers[survivor]!.apply(alone), 'refused');
    const health = await reconcilers[survivor]!.health();
    assert.equal(health.applyError, null);
    assert.equal(health.appliedConfigRevision, revision);
    assert.equal(health.vrrpState, 'MASTER');
    assert.equal(readFileSync(reconcilers[survivor]!.paths.keepalivedPid, 'utf8').trim(), pid);
    assert.ok((await bodies(80, 2)).every((b) => b === 'm1'), 'the VIP still answers');
  });
});
