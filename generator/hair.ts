/**
 * Hair: its parameters on the learned model, and the graph pieces both models draw it with (where
 * a point carries hair, the colour, the albedo with it).
 */
import { type GraphOps, lcgUniform } from "./graph_ops.ts";

/**
 * Hair on the learned model's head. No photo shows the top of a head (the UTKFace crops end above
 * the brows), so the learned head draws the procedural model's hair there: a cap on the skull
 * down to a hairline (cm on the hair coordinate, ±0.9 per unit), its volume along the normals, its
 * strands, and a colour `brightness` × the procedural one (its albedos, under the photos' relative
 * shading, read too dark). Its four parameters (line, volume, tone, warmth) are fixed unit
 * projections (an LCG from `seed`) of the identity's appearance coefficients: each identity has
 * its own hair, Identity Mixup blends it with the rest, and no other block moves it. Hairline and
 * brightness were set so the mean render's centre column follows LFW View 1's (development set)
 * from the forehead up; a fuller head of hair or one that changes from image to image scored
 * lower on LFW (generator/EXPERIMENTS.md, "Hair").
 */
export const LEARNED_HAIR = { hairline: 9.4, brightness: 2.5, seed: 777 } as const;

/** [K, 4] unit columns on the appearance coefficients: the learned model's hair parameters. */
export function hairProjection(K: number, seed: number = LEARNED_HAIR.seed): Float32Array {
  const P = new Float32Array(K * 4);
  const rnd = lcgUniform(seed);
  for (let k = 0; k < 4; k++) {
    let n = 0;
    for (let j = 0; j < K; j++) n += (P[j * 4 + k] = rnd()) ** 2;
    for (let j = 0; j < K; j++) P[j * 4 + k] /= Math.sqrt(n);
  }
  return P;
}

/**
 * Hair weight: a soft step (0.35 cm) of a point's hair coordinate `coord` past the hairline `hl`,
 * where `cand` allows hair.
 */
export function hairSoft(o: GraphOps, cand: string, coord: string, hl: string): string {
  return o.mul(cand, o.sigmoid(o.mul(o.sub(coord, hl), o.c(1 / 0.35))));
}

/**
 * Hair colour per image [1,3,B] from its tone and warmth [1,1,B]: dark brown to black, some
 * blond, red or grey. Inputs that add nodes come as thunks, called where the procedural graph
 * always created them: its node order, hence procedural.onnx's bytes (which key `reproduce
 * --model` caches), stay.
 *
 * With `ashen`, negative warmth darkens the hair toward ash instead of shifting it toward blue:
 * at the learned model's brightness the blue shift drew light blue-grey caps no photo shows.
 */
export function hairColour(
  o: GraphOps,
  tone: () => string,
  warmth: () => string,
  brightness: number,
  ashen = false,
): string {
  const { add, mul, c, op } = o;
  const warm = () => c([0.25, 0.05, -0.25], [1, 3, 1]);
  const warmthShift = () => {
    if (!ashen) return mul(warmth(), warm());
    const w = warmth();
    const ash = mul(op("Min", [w, c(0)]), c([0.12, 0.08, 0.04], [1, 3, 1]));
    return add(mul(op("Relu", [w]), warm()), ash);
  };
  return o.clip(
    o.op("Exp", [
      add(
        c([0.11, 0.085, 0.065].map((v) => Math.log(v * brightness)), [1, 3, 1]),
        add(
          mul(tone(), c([0.85, 0.88, 0.92], [1, 3, 1])),
          warmthShift(),
        ),
      ),
    ]),
    0.02,
    0.85,
  );
}

/** The albedo `alb` with hair of `colour` where `weight` [N,1,B] says, fixed `strands` [N,1,1]. */
export function withHair(
  o: GraphOps,
  alb: string,
  colour: string,
  weight: string,
  strands: () => string,
): string {
  return o.lerp(alb, o.mul(colour, o.add(o.c(1), o.mul(o.c(0.12), strands()))), weight);
}
