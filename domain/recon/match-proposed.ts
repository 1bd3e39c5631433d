// A rule marked `auto: false` finds pairs as any rule does, but a person decides: every match it made is taken back
// and proposed instead (one `suggested_match` exception per match, its only candidate the match itself). Its
// records leave the pool like those of any proposal, so no later rule takes them behind the person's back.
import { FREE, suggest, type MatchState } from './match-state';

/** Turns the matches made since match `from` (all of rule r, which ran last) into proposals of rule r. */
export function proposeInstead(s: MatchState, r: number, from: number): void {
  const g = s.groups;
  const made: [number[], number[]][] = [];
  for (let m = from; m < g.rule.length; m++)
    made.push([g.itemsA.slice(g.aStart[m], g.aStart[m + 1]), g.itemsB.slice(g.bStart[m], g.bStart[m + 1])]);
  // The matches were appended last: dropping them leaves the earlier rules' matches as they were.
  g.itemsA.length = g.aStart[from];
  g.itemsB.length = g.bStart[from];
  g.aStart.length = from + 1;
  g.bStart.length = from + 1;
  g.rule.length = from;
  g.sumA.length = from;
  g.sumB.length = from;
  for (const [a, b] of made) {
    // Back in the pool for an instant (suggest() takes them out again and counts them as proposed).
    for (const i of a) {
      s.groupOfA[i] = FREE;
      s.leftA[s.bucketOfA[i]]++;
    }
    for (const j of b) {
      s.groupOfB[j] = FREE;
      s.leftB[s.bucketOfB[j]]++;
    }
    suggest(s, r, a, b, [[a, b]]);
  }
}
