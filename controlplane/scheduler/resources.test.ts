// Resource amounts as the scheduler adds them up, with the parsed texts
// remembered: the same text read as cpu (millicores) and as bytes must not
// share an answer, and an unparsable text stays 0 however often it comes.

import { describe, expect, it } from 'vitest';
import { resourceList } from './resources.js';

describe('resourceList', () => {
  it('reads one text as millicores for cpu and as a count elsewhere, every time', () => {
    for (let round = 0; round < 2; round++) {
      expect(resourceList({ cpu: '5', memory: '5', pods: '5' })).toEqual({
        milliCpu: 5000,
        memory: 5,
        ephemeralStorage: 0,
        pods: 5,
      });
      expect(resourceList({ cpu: '100m', memory: '1Ki' })).toMatchObject({
        milliCpu: 100,
        memory: 1024,
      });
    }
  });

  it('counts an unparsable amount as 0, also when seen before', () => {
    for (let round = 0; round < 2; round++) {
      expect(resourceList({ cpu: 'm5', memory: 'lots' })).toMatchObject({ milliCpu: 0, memory: 0 });
    }
  });
});
