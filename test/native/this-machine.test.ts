import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { collect, collectSync } from '@licensor/client';
import { type CollectedFingerprint, hashFingerprint } from '@licensor/client/contract';

// Independent readings of the files the addon reads, done the plain way, as the oracle.
function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function firstCpuinfoBlock(): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of (readText('/proc/cpuinfo') ?? '').split('\n\n')[0]!.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return fields;
}

/** /sys/class/net interfaces that pass the documented rules, read with fs only. */
function expectedMacs(): string[] {
  const macs = new Set<string>();
  for (const name of readdirSync('/sys/class/net')) {
    const dir = join('/sys/class/net', name);
    if (readText(join(dir, 'type'))?.trim() !== '1') continue;
    if (!existsSync(join(dir, 'device'))) continue;
    if (existsSync(join(dir, 'wireless')) || existsSync(join(dir, 'phy80211'))) continue;
    if (readlinkSync(join(dir, 'device')).includes('/usb')) continue;
    if (readText(join(dir, 'addr_assign_type'))?.trim() !== '0') continue;
    const mac = readText(join(dir, 'address'))!.trim().toLowerCase();
    const firstOctet = parseInt(mac.slice(0, 2), 16);
    if (mac === '00:00:00:00:00:00' || (firstOctet & 0x03) !== 0) continue;
    macs.add(mac);
  }
  return [...macs].sort();
}

describe('fingerprint of this machine', () => {
  let result: CollectedFingerprint;
  before(() => {
    result = collectSync();
  });

  it('reports every catalogue component with a status', () => {
    assert.deepEqual(Object.keys(result.components), [
      'os.machineId',
      'hw.systemUuid',
      'hw.boardSerial',
      'disk.bootSerial',
      'net.macs',
      'cpu.signature',
      'hw.model',
    ]);
    for (const component of Object.values(result.components)) {
      assert.match(component.status, /^(ok|absent|denied|junk|unsupported|error)$/);
      assert.equal(component.value !== undefined, component.status === 'ok');
    }
  });

  it('reads the same OS install id as /etc/machine-id', () => {
    const fromFile = (readText('/etc/machine-id') ?? readText('/var/lib/dbus/machine-id'))?.trim();
    if (fromFile && /^[0-9a-f]{32}$/.test(fromFile)) {
      assert.deepEqual(result.components['os.machineId']?.value, fromFile);
    } else {
      assert.notEqual(result.components['os.machineId']?.status, 'ok');
    }
  });

  it('reports exactly the universally administered addresses of physical NICs in /sys/class/net', () => {
    const expected = expectedMacs();
    const macs = result.components['net.macs'];
    if (expected.length === 0) {
      assert.equal(macs?.status, 'absent');
      for (const name of readdirSync('/sys/class/net')) assert.match(macs?.detail ?? '', new RegExp(`${name}: `));
    } else {
      assert.deepEqual(macs?.value, expected);
    }
  });

  it('reads the same CPU as /proc/cpuinfo', () => {
    const cpuinfo = firstCpuinfoBlock();
    if (!cpuinfo.has('vendor_id')) return assert.ok(result.components['cpu.signature']); // non-x86 layout
    const [vendor, family, model, stepping, brand] = ['vendor_id', 'cpu family', 'model', 'stepping', 'model name'].map((key) => cpuinfo.get(key));
    const hypervisorFlag = (cpuinfo.get('flags') ?? '').split(' ').includes('hypervisor');
    assert.equal(result.env.virtualized, hypervisorFlag);
    const signature = result.components['cpu.signature']?.value ?? '';
    const [read, readBrand] = [signature.split('|').slice(0, 4).join('|'), signature.split('|').slice(4).join('|')];
    assert.equal(read, `${vendor}|${family}|${model}|${stepping}`);
    // The kernel copies the brand string from CPUID once, at boot. A virtual machine's CPUID can
    // change under it (seen: a guest booted as "AMD EPYC" that CPUID now calls "Oxide Virtual
    // Turin-like Processor"), so there the brand can only be held to CPUID's own form.
    if (hypervisorFlag && readBrand !== brand) assert.match(readBrand, /^[\x20-\x7e]{1,48}$/);
    else assert.equal(readBrand, brand);
  });

  it('derives the processor id from the same CPUID leaf as the family, model and stepping', () => {
    const cpu = result.hardware.cpu!;
    assert.match(cpu.processorId ?? '', /^[0-9A-F]{16}$/);
    const eax = parseInt(cpu.processorId!.slice(8), 16);
    assert.equal(eax & 0xf, cpu.stepping);
    const baseFamily = (eax >> 8) & 0xf;
    assert.equal(baseFamily === 0xf ? baseFamily + ((eax >> 20) & 0xff) : baseFamily, cpu.family);
  });

  it('finds the disk behind "/" that the kernel names for its device number', () => {
    const dev = statSync('/').dev;
    const major = Math.floor(dev / 256) & 0xfff;
    const minor = (dev & 0xff) | ((Math.floor(dev / 4096) & 0xfff00) >>> 0);
    const sysfs = `/sys/dev/block/${major}:${minor}`;
    if (!existsSync(sysfs)) return assert.equal(result.components['disk.bootSerial']?.status, 'absent');
    let name = readlinkSync(sysfs).split('/').pop()!;
    if (existsSync(join(sysfs, 'partition'))) name = readlinkSync(sysfs).split('/').slice(-2)[0]!;
    const viaSlaves = existsSync(join(sysfs, 'slaves')) && readdirSync(join(sysfs, 'slaves')).length > 0;
    if (!viaSlaves)
      assert.deepEqual(
        result.hardware.bootDisks.map((disk) => disk.name),
        [name],
      );
    assert.match(result.components['disk.bootSerial']?.detail ?? '', new RegExp(`^/ on `));
  });

  it('reports a container when /.dockerenv or /run/.containerenv exists', () => {
    if (existsSync('/.dockerenv') || existsSync('/run/.containerenv')) assert.equal(result.env.container, true);
  });

  it('returns identical results on repeated calls', () => {
    for (let i = 0; i < 25; i++) assert.deepEqual(collectSync(), result);
  });

  it('gives the same result through collect() as through collectSync()', async () => {
    const results = await Promise.all([collect(), collect(), collect()]);
    for (const asynchronous of results) assert.deepEqual(asynchronous, result);
  });

  it('collects only the components named in include', async () => {
    const only = await collect({ include: ['cpu.signature', 'os.machineId'] });
    assert.deepEqual(Object.keys(only.components), ['os.machineId', 'cpu.signature']);
    assert.deepEqual(only.components['cpu.signature'], result.components['cpu.signature']);
    assert.deepEqual(only.env, result.env);
  });

  it('hands hashFingerprint a result it can hash without raw values leaking', () => {
    const hashes = hashFingerprint(result, 'product-key');
    const raw = JSON.stringify(result.components);
    for (const [id, hash] of Object.entries(hashes)) {
      assert.equal(result.components[id as keyof typeof result.components]?.status, 'ok');
      for (const member of [hash].flat()) {
        assert.match(member, /^[0-9a-f]{32}$/);
        assert.ok(!raw.includes(member));
      }
    }
  });
});

describe('bad arguments', () => {
  const bad: Array<[string, unknown[]]> = [
    ['a number', [42]],
    ['a string', ['/']],
    ['an array', [[]]],
    ['null', [null]],
    ['an unknown option', [{ roots: '/' }]],
    ['a relative root', [{ root: 'sys' }]],
    ['a non-string root', [{ root: 1 }]],
    ['an empty include list', [{ include: [] }]],
    ['an unknown component id', [{ include: ['hw.serial'] }]],
    ['include as a string', [{ include: 'net.macs' }]],
  ];
  for (const [what, args] of bad) {
    it(`collectSync throws a TypeError for ${what}`, () => {
      assert.throws(() => (collectSync as (...a: unknown[]) => unknown)(...args), TypeError);
    });
    it(`collect rejects with a TypeError for ${what} before starting any work`, async () => {
      await assert.rejects(async () => (collect as (...a: unknown[]) => Promise<unknown>)(...args), TypeError);
    });
  }

  it('accepts no options, undefined and an empty object alike', () => {
    const none = collectSync();
    assert.deepEqual(collectSync(undefined), none);
    assert.deepEqual(collectSync({}), none);
    assert.deepEqual(collectSync({ root: '/' }), none);
  });
});
