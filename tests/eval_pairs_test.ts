import assert from "node:assert/strict";
import {
  PairsFormatError,
  parseCsvPairs,
  parseLfwPairs,
  parsePairs,
  splitFolds,
} from "../eval/mod.ts";

const VIEW2 = [
  "2\t2",
  "Abel_Pacheco\t1\t4",
  "Akhmed_Zakayev\t1\t3",
  "Abdel_Madi_Shabneh\t1\tDean_Barker\t1",
  "Abdel_Madi_Shabneh\t1\tGiancarlo_Fisichella\t1",
  "Tom_Hanks 2 5",
  "Tom_Hanks 3 7",
  "Aaron_Peirsol 1 Zico 2",
  "Bill_Gates 10 Tom_Hanks 1",
  "",
].join("\n");

Deno.test("eval pairs: View 2 layout gives folds of same-then-different pairs", () => {
  const list = parseLfwPairs(VIEW2, "pairs.txt");
  assert.equal(list.folds, 2);
  assert.equal(list.pairs.length, 8);
  assert.deepEqual(list.pairs.map((p) => p.fold), [0, 0, 0, 0, 1, 1, 1, 1]);
  const same = list.pairs.map((p) => p.same);
  assert.deepEqual(same, [true, true, false, false, true, true, false, false]);
  assert.deepEqual(list.pairs[0], {
    a: "Abel_Pacheco/Abel_Pacheco_0001",
    b: "Abel_Pacheco/Abel_Pacheco_0004",
    same: true,
    fold: 0,
    line: 2,
  });
  assert.equal(list.pairs[7].a, "Bill_Gates/Bill_Gates_0010");
  assert.equal(list.pairs[7].b, "Tom_Hanks/Tom_Hanks_0001");
});

Deno.test("eval pairs: View 1 single block (header N)", () => {
  const text = "2\nA 1 2\nB 1 3\nA 1 B 2\nC 1 D 1\n";
  const list = parsePairs(text, "pairsDevTest.txt");
  assert.equal(list.format, "lfw");
  assert.equal(list.folds, 1);
  assert.deepEqual(list.pairs.map((p) => p.same), [true, true, false, false]);
  const k2 = splitFolds(list, 2);
  assert.deepEqual(k2.pairs.map((p) => p.fold), [0, 1, 0, 1]);
  assert.throws(() => splitFolds(list, 3), /--kfold 3: expected an integer from 2 to 2/);
});

Deno.test("eval pairs: malformed lines name file, line, expected form and content", () => {
  assert.throws(
    () => parseLfwPairs("1\nAbel_Pacheco 1\nA 1 B 2\n", "pairs.txt"),
    (e: Error) => {
      assert.ok(e instanceof PairsFormatError);
      assert.equal(
        e.message,
        `pairs.txt:2: expected "name n1 n2" or "name1 n1 name2 n2", got "Abel_Pacheco 1"`,
      );
      return true;
    },
  );
  assert.throws(
    () => parseLfwPairs("1\nA one 2\nA 1 B 2\n", "p.txt"),
    /p\.txt:2: expected .*got "A one 2"/,
  );
  assert.throws(() => parseLfwPairs("1\nA 0 2\nA 1 B 2\n", "p.txt"), /p\.txt:2:/);
  assert.throws(() => parseLfwPairs("x y z\n", "p.txt"), /p\.txt:1: expected a header/);
});

Deno.test("eval pairs: header counts that do not add up", () => {
  const short = VIEW2.split("\n").slice(0, 8).join("\n");
  assert.throws(
    () => parseLfwPairs(short, "pairs.txt"),
    /pairs\.txt: header "2\t2" says 2 fold\(s\) × \(2 same \+ 2 different\) = 8 pairs, found 7 pair lines/,
  );
  // A different pair where the fold still expects same pairs.
  const swapped = "1\t2\nA 1 2\nA 1 B 2\nC 1 2\nC 1 D 1\n";
  assert.throws(
    () => parseLfwPairs(swapped, "pairs.txt"),
    /pairs\.txt:3: fold 1 should hold 2 same pairs/,
  );
});

Deno.test("eval pairs: CSV with header, booleans and folds", () => {
  const text =
    "path1,path2,same,fold\na/1.jpg,a/2.jpg,1,3\na/1.jpg,b/1.jpg,false,3\nc/1.png,c/2.png,true,7\nc/1.png,d/1.png,0,7\n";
  const list = parseCsvPairs(text, "p.csv");
  assert.equal(list.format, "csv");
  assert.equal(list.folds, 2);
  const sameFold = [[true, 0], [false, 0], [true, 1], [false, 1]];
  assert.deepEqual(list.pairs.map((p) => [p.same, p.fold]), sameFold);
  assert.equal(list.pairs[2].a, "c/1.png");
  const noFold = parsePairs("x/1.jpg,x/2.jpg,1\nx/1.jpg,y/1.jpg,0\n", "q.csv");
  assert.equal(noFold.folds, 1);
});

Deno.test("eval pairs: CSV errors", () => {
  const errors: [string, RegExp][] = [
    ["a,b,1\na,c\n", /p\.csv:2: expected "path1,path2,same" or "path1,path2,same,fold", got "a,c"/],
    ["a,b,1\na,c,maybe\n", /p\.csv:2: "same" must be 1\/0 or true\/false, got "maybe"/],
    ["a,b,1,0\na,c,0\n", /p\.csv:2: earlier lines have a fold column/],
    ["a,b,1,0\na,c,0,1\n", /p\.csv: fold 1 of 2 has 1 same and 0 different pairs/],
  ];
  for (const [text, error] of errors) assert.throws(() => parseCsvPairs(text, "p.csv"), error);
});
