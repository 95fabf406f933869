/** A test helper: a plausible 68-point face (iBUG order) in the 112 frame. */

/** A plausible 68-point shape in the 112 frame: jaw arc, brows, nose, eyes, lips. */
export function faceShape(): Float64Array {
  const s = new Float64Array(136);
  const set = (i: number, x: number, y: number) => {
    s[2 * i] = x;
    s[2 * i + 1] = y;
  };
  for (let i = 0; i <= 16; i++) {
    const t = Math.PI * (i / 16);
    set(i, 56 - 40 * Math.cos(t), 50 + 50 * Math.sin(t));
  }
  for (let i = 0; i < 5; i++) set(17 + i, 24 + 6 * i, 38 - Math.sin((Math.PI * i) / 4) * 3);
  for (let i = 0; i < 5; i++) set(22 + i, 64 + 6 * i, 38 - Math.sin((Math.PI * (4 - i)) / 4) * 3);
  for (let i = 0; i < 4; i++) set(27 + i, 56, 50 + 6 * i);
  for (let i = 0; i < 5; i++) set(31 + i, 48 + 4 * i, 74 - (i === 2 ? 1 : 0));
  const eye = (base: number, cx: number) => {
    const off = [[-6, 0], [-3, -2], [3, -2], [6, 0], [3, 2], [-3, 2]];
    off.forEach(([dx, dy], k) => set(base + k, cx + dx, 52 + dy));
  };
  eye(36, 38);
  eye(42, 74);
  for (let i = 0; i < 12; i++) {
    const t = (2 * Math.PI * i) / 12;
    set(48 + i, 56 - 15 * Math.cos(t), 92 - 5 * Math.sin(t));
  }
  for (let i = 0; i < 8; i++) {
    const t = (2 * Math.PI * i) / 8;
    set(60 + i, 56 - 10 * Math.cos(t), 92 - 2 * Math.sin(t));
  }
  return s;
}
