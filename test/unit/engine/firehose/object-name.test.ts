import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  compress,
  fileExtension,
  objectKey,
  uuidFromSeed,
} from '../../../../src/engine/firehose/delivery/object-name.js';

describe('Firehose object names', () => {
  const parts = {
    streamName: 'logs',
    versionId: 1,
    timeMs: Date.UTC(2024, 4, 6, 7, 8, 9, 999),
    uuid: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
    extension: '',
  };

  it('are the prefix, then name-version-date-time in UTC with zero padding, then the uuid (spec §6.1)', () => {
    assert.equal(
      objectKey('2024/05/06/07/', parts),
      '2024/05/06/07/logs-1-2024-05-06-07-08-09-1b4e28ba-2fa1-41d2-883f-0016d3cca427',
    );
    assert.equal(
      objectKey('', { ...parts, versionId: 12, timeMs: Date.UTC(987, 11, 31, 23, 59, 0), extension: '.gz' }),
      'logs-12-0987-12-31-23-59-00-1b4e28ba-2fa1-41d2-883f-0016d3cca427.gz',
    );
  });

  it('refuse an instant that is not one', () => {
    assert.throws(() => objectKey('', { ...parts, timeMs: Number.NaN }), /not a valid instant/);
  });

  it('end in FileExtension when set, else .gz for GZIP, else nothing', () => {
    assert.equal(fileExtension('GZIP', undefined), '.gz');
    assert.equal(fileExtension('UNCOMPRESSED', undefined), '');
    assert.equal(fileExtension('GZIP', '.json.gz'), '.json.gz');
    assert.equal(fileExtension('UNCOMPRESSED', '.jsonl'), '.jsonl');
  });
});

describe('uuidFromSeed', () => {
  it('gives the same v4-shaped UUID for the same seed, and another for another seed', () => {
    const first = uuidFromSeed('logs/batch/42');
    assert.match(first, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(uuidFromSeed('logs/batch/42'), first);
    assert.notEqual(uuidFromSeed('logs/batch/43'), first);
  });

  it('keeps the variant and version bits whatever the hash gives', () => {
    for (let seed = 0; seed < 200; seed++) {
      const uuid = uuidFromSeed(String(seed));
      assert.equal(uuid[14], '4', uuid);
      assert.ok('89ab'.includes(uuid[19]), uuid);
    }
  });
});

describe('compress', () => {
  const body = Buffer.from('{"ticker_symbol":"QXZ","price":84.51}\n'.repeat(1000));

  it('leaves UNCOMPRESSED bodies as they are', async () => {
    assert.equal(await compress(body, 'UNCOMPRESSED'), body);
  });

  it('gzips the whole object for GZIP, and gunzip gives back the bytes', async () => {
    const gzipped = await compress(body, 'GZIP');
    assert.deepEqual(gzipped.subarray(0, 2), Buffer.from([0x1f, 0x8b]));
    assert.ok(gzipped.length < body.length / 10);
    assert.deepEqual(gunzipSync(gzipped), body);
  });

  it('gzips an empty body into a valid empty gzip stream', async () => {
    assert.deepEqual(gunzipSync(await compress(Buffer.alloc(0), 'GZIP')), Buffer.alloc(0));
  });
});
