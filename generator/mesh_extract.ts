/**
 * Extract MediaPipe's canonical face mesh (468 vertices with UVs, 898 triangles; Apache-2.0)
 * from the npm package `@mediapipe/face_mesh`. The mesh is the `canonical_mesh` (field 3) of the
 * GeometryPipelineMetadata protobuf `geometry_pipeline_metadata_landmarks.binarypb`, packed
 * inside `face_mesh_solution_packed_assets.data`; its offsets are listed in the loader script.
 */

/** Version of `@mediapipe/face_mesh` the geometry is taken from. */
export const FACE_MESH_PACKAGE = "@mediapipe/face_mesh@0.4.1633559619";
const ENTRY = "geometry_pipeline_metadata_landmarks.binarypb";

/** The canonical mesh: positions in cm (x right, y up, z toward the viewer), UVs, triangles. */
export interface CanonicalMesh {
  positions: number[]; // 3 per vertex
  uvs: number[]; // 2 per vertex
  triangles: number[]; // 3 per triangle
}

function readVarint(b: Uint8Array, pos: { p: number }): number {
  let x = 0, shift = 0;
  for (;;) {
    const c = b[pos.p++];
    x += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) return x;
    shift += 7;
  }
}

interface Fields {
  bytes: Map<number, Uint8Array[]>;
  floats: Map<number, number[]>; // unpacked fixed32 floats
  ints: Map<number, number[]>; // unpacked varints
}

function push<T>(m: Map<number, T[]>, k: number, v: T): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

/** The fields of one message by number (repeated scalars may come packed or unpacked). */
function fields(b: Uint8Array): Fields {
  const out: Fields = { bytes: new Map(), floats: new Map(), ints: new Map() };
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const pos = { p: 0 };
  while (pos.p < b.length) {
    const tag = readVarint(b, pos);
    const wire = tag & 7;
    const field = Math.floor(tag / 8);
    if (wire === 0) push(out.ints, field, readVarint(b, pos));
    else if (wire === 5) {
      push(out.floats, field, view.getFloat32(pos.p, true));
      pos.p += 4;
    } else if (wire === 1) pos.p += 8;
    else if (wire === 2) {
      const n = readVarint(b, pos);
      push(out.bytes, field, b.subarray(pos.p, pos.p + n));
      pos.p += n;
    } else throw new Error(`${ENTRY}: unsupported wire type ${wire}`);
  }
  return out;
}

/** Parse the packed assets (`.data` bytes + loader script text) into the canonical mesh. */
export function extractCanonicalMesh(data: Uint8Array, loaderJs: string): CanonicalMesh {
  const m = new RegExp(`${ENTRY}", "start": (\\d+), "end": (\\d+)`).exec(loaderJs);
  if (!m) throw new Error(`face_mesh_solution_packed_assets_loader.js: no entry for ${ENTRY}`);
  const meta = data.subarray(Number(m[1]), Number(m[2]));
  // canonical_mesh is field 1 in this release of GeometryPipelineMetadata (field 3 in later ones)
  const top = fields(meta);
  const mesh = top.bytes.get(1)?.[0] ?? top.bytes.get(3)?.[0];
  if (!mesh) throw new Error(`${ENTRY}: no canonical_mesh (field 1 or 3)`);
  const f = fields(mesh);
  // vertex_buffer (3) and index_buffer (4): unpacked here, packed in other encoders
  const packed = f.bytes.get(3)?.[0];
  const verts = packed ? Array.from(new Float32Array(packed.slice().buffer)) : f.floats.get(3);
  let idx = f.ints.get(4);
  const packedIdx = f.bytes.get(4)?.[0];
  if (packedIdx) {
    idx = [];
    const pos = { p: 0 };
    while (pos.p < packedIdx.length) idx.push(readVarint(packedIdx, pos));
  }
  if (!verts || !idx) throw new Error(`${ENTRY}: canonical_mesh lacks vertex_buffer/index_buffer`);
  const n = verts.length / 5; // VERTEX_PT: x, y, z, u, v
  if (n !== 468 || idx.length !== 898 * 3) {
    throw new Error(
      `${ENTRY}: expected 468 vertices / 898 triangles, got ${n} / ${idx.length / 3}`,
    );
  }
  const positions: number[] = [], uvs: number[] = [];
  for (let i = 0; i < n; i++) {
    positions.push(...verts.slice(5 * i, 5 * i + 3));
    uvs.push(...verts.slice(5 * i + 3, 5 * i + 5));
  }
  return {
    positions: positions.map((v) => +v.toFixed(6)),
    uvs: uvs.map((v) => +v.toFixed(6)),
    triangles: idx,
  };
}

/** Fetch the package with the ordinary npm client (`npm pack`) and extract the mesh. */
export async function fetchCanonicalMesh(): Promise<CanonicalMesh> {
  const dir = await Deno.makeTempDir({ prefix: "synface_facemesh_" });
  try {
    const out = await new Deno.Command("npm", {
      args: ["pack", FACE_MESH_PACKAGE, "--silent"],
      cwd: dir,
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`npm pack ${FACE_MESH_PACKAGE} failed`);
    const tgz = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
    const tar = await new Deno.Command("tar", { args: ["xzf", tgz], cwd: dir }).output();
    if (!tar.success) throw new Error(`tar xzf ${tgz} failed`);
    const pkg = `${dir}/package/`;
    return extractCanonicalMesh(
      await Deno.readFile(pkg + "face_mesh_solution_packed_assets.data"),
      await Deno.readTextFile(pkg + "face_mesh_solution_packed_assets_loader.js"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
