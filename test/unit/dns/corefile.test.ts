import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCorefile } from '../../../src/dns/corefile/parser.js';
import { parseServerKey, reverseZonesOfCidr } from '../../../src/dns/corefile/address.js';

const shape = (text: string, files: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}) =>
  parseCorefile(text, '/etc/coredns/Corefile', {
    env,
    readFile: (p) => {
      if (!(p in files)) throw new Error('ENOENT');
      return files[p];
    },
    listDir: (dir) => Object.keys(files).filter((f) => f.startsWith(dir + '/')).map((f) => f.slice(dir.length + 1)),
  }).map((b) => ({ keys: b.keys, directives: b.directives.map(function strip(d): unknown { return { name: d.name, args: d.args, line: d.line, block: d.block?.map(strip) ?? null }; }) }));

describe('Corefile parser', () => {
  it('parses server blocks, keys, directives with arguments and nested blocks', () => {
    const blocks = shape(`# comment
.:53 {
    errors
    kubernetes cluster.local in-addr.arpa {   # trailing comment
       pods insecure
       fallthrough in-addr.arpa
    }
    forward . /etc/resolv.conf
}
cluster.local:5353, example.org {
    log
}`);
    assert.deepEqual(blocks, [
      {
        keys: ['.:53'],
        directives: [
          { name: 'errors', args: [], line: 3, block: null },
          {
            name: 'kubernetes',
            args: ['cluster.local', 'in-addr.arpa'],
            line: 4,
            block: [
              { name: 'pods', args: ['insecure'], line: 5, block: null },
              { name: 'fallthrough', args: ['in-addr.arpa'], line: 6, block: null },
            ],
          },
          { name: 'forward', args: ['.', '/etc/resolv.conf'], line: 8, block: null },
        ],
      },
      { keys: ['cluster.local:5353', 'example.org'], directives: [{ name: 'log', args: [], line: 11, block: null }] },
    ]);
  });

  it('expands snippets, imported files and globs', () => {
    const blocks = shape(
      `(common) {
  errors
  log
}
. {
  import common
  import common
  import extra/*.conf
}`,
      { '/etc/coredns/extra/a.conf': 'cache 30', '/etc/coredns/extra/b.conf': 'loadbalance', '/etc/coredns/other.txt': 'nope' },
    );
    assert.deepEqual(
      blocks[0].directives.map((d) => (d as { name: string }).name),
      ['errors', 'log', 'errors', 'log', 'cache', 'loadbalance'],
    );
  });

  it('keeps a one-line snippet imported twice as two directives', () => {
    const blocks = shape(`(one) {
  log
}
. {
  import one
  import one
}`);
    assert.equal(blocks[0].directives.length, 2);
  });

  it('substitutes {$ENV} and {%ENV%}', () => {
    const blocks = shape('.:{$PORT} {\n  forward . {%UPSTREAM%}\n}', {}, { PORT: '1053', UPSTREAM: '127.0.0.1:5300' });
    assert.deepEqual(blocks[0].keys, ['.:1053']);
    assert.deepEqual((blocks[0].directives[0] as { args: string[] }).args, ['.', '127.0.0.1:5300']);
  });

  it('keeps quoted arguments whole', () => {
    const blocks = shape('. {\n  log . "{remote} {name}"\n}');
    assert.deepEqual((blocks[0].directives[0] as { args: string[] }).args, ['.', '{remote} {name}']);
  });

  const errors: [string, string, RegExp][] = [
    ['missing brace', '. {\n  errors\n', /Corefile:2 - Error during parsing: unexpected end of file: missing '}'/],
    ['stray brace', '. {\n  errors\n}\n}', /Corefile:4 .*unexpected '}'/],
    ['keys without block', '.\nerrors', /Corefile:2 .*expected '\{' after the server block keys/],
    ['unknown import', '. {\n  import nothing\n}', /Corefile:2 .*import 'nothing'/],
    ['unterminated quote', '. {\n  log "abc\n}', /Corefile:2 .*unterminated quoted string/],
    ['import cycle', '(a) {\n import a\n}\n. {\n import a\n}', /imports itself/],
  ];
  for (const [name, text, re] of errors) {
    it(`reports ${name} with its line number`, () => {
      assert.throws(() => shape(text), re);
    });
  }
});

describe('server block keys', () => {
  const cases: [string, number, { zone: string; port: number }[]][] = [
    ['.:53', 53, [{ zone: '', port: 53 }]],
    ['.', 1053, [{ zone: '', port: 1053 }]],
    ['dns://Cluster.Local.:5353', 53, [{ zone: 'cluster.local', port: 5353 }]],
    ['10.0.0.0/8', 53, [{ zone: '10.in-addr.arpa', port: 53 }]],
    ['10.96.0.0/16:5353', 53, [{ zone: '96.10.in-addr.arpa', port: 5353 }]],
    ['fd00::/8', 53, [{ zone: 'd.f.ip6.arpa', port: 53 }]],
  ];
  for (const [key, def, want] of cases) {
    it(`parses ${key}`, () => assert.deepEqual(parseServerKey(key, def), want));
  }
  it('rejects other transports and odd prefix lengths', () => {
    assert.throws(() => parseServerKey('tls://.:853', 53), /not supported/);
    assert.throws(() => reverseZonesOfCidr('10.0.0.0/12'), /multiples of 8/);
  });
});
